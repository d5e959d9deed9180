from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _ensure_read_sessions_permission(**kwargs: Any) -> None:
    from permissions.models import read_sessions_permission

    read_sessions_permission()


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
        from permissions import history

        history.connect()
