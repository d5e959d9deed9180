from __future__ import annotations

from django.apps import AppConfig


class MaskingRulesConfig(AppConfig):
    name = "masking_rules"
    verbose_name = "Masking rules"
