from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _ensure_builtins(**kwargs: Any) -> None:
    from fieldsets.models import ensure_builtin_fieldsets

    ensure_builtin_fieldsets()


class FieldsetsConfig(AppConfig):
    name = "fieldsets"
    verbose_name = "Fieldsets"

    def ready(self) -> None:
        # Migration 0002 seeds the built-ins; this restores them after a test
        # flush (TransactionTestCase empties every table, seeded rows too).
        post_migrate.connect(
            _ensure_builtins, sender=self, dispatch_uid="fieldsets.ensure_builtins"
        )
