from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _ensure_read_sessions_permission(**kwargs: Any) -> None:
    from permissions.models import read_sessions_permission

    read_sessions_permission()


def _install_generation_triggers(*, using: str, **kwargs: Any) -> None:
    from django.db import connections

    from permissions import generation
    from permissions.selectors import snapshot_tables

    generation.install(connections[using], snapshot_tables())


class PermissionsConfig(AppConfig):
    name = "permissions"
    verbose_name = "Grants and audit"

    def ready(self) -> None:
        # After migrate and after a test-database flush, so the permission
        # always exists (Application's Meta is not ours to extend).
        post_migrate.connect(
            _ensure_read_sessions_permission,
            sender=self,
            dispatch_uid="permissions.ensure_read_sessions",
        )
        # Again after every migrate: SQLite drops a table's triggers when a
        # migration rebuilds it (``permissions.generation``).
        post_migrate.connect(
            _install_generation_triggers,
            sender=self,
            dispatch_uid="permissions.install_generation_triggers",
        )
        from permissions import history
        from permissions.selectors import connect_snapshot_signals

        connect_snapshot_signals()

        history.connect()
