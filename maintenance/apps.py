from __future__ import annotations

from django.apps import AppConfig


class MaintenanceConfig(AppConfig):
    name = "maintenance"
    verbose_name = "Key rotation and retention"

    def ready(self) -> None:
        # Registers the "retention" job kind (jobs.kinds).
        from maintenance import jobs  # noqa: F401
