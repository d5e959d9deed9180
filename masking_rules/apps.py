from __future__ import annotations

from django.apps import AppConfig


class MaskingRulesConfig(AppConfig):
    name = "masking_rules"
    verbose_name = "Masking rules"

    def ready(self) -> None:
        # Registers the "remask" job kind (jobs.kinds).
        from masking_rules import remask  # noqa: F401
