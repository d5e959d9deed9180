"""Masking rules: ordered, named rules applied at ingest, environment-wide or per application.

A rule rewrites client strings chosen by a *selector* over registry paths
(``fieldsets.registry.rule_targets``), where a *matcher* (a built-in detector
or an RE2 pattern) finds something, with a *method* (``privacy.rules``).
Environment-wide rules (``application`` null) run first, then the
application's, each list in ``order``. Rows are written only by
``masking_rules.services``, which validates the whole list and audits.
"""

from __future__ import annotations

from django.db import models
from django.db.models.functions import Coalesce

from privacy.rules import Detector, Method
from sessions_app.models import Application

MANAGE_RULES = "manage_rules"
MANAGE_RULES_PERMISSION = f"masking_rules.{MANAGE_RULES}"
VIEW_RULES_PERMISSION = "masking_rules.view_maskingrule"
NAME_MAX_LENGTH = 100
SELECTOR_MAX_LENGTH = 200
REPLACEMENT_MAX_LENGTH = 100


class MaskingRule(models.Model):
    application = models.ForeignKey(
        Application,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="masking_rules",
        help_text="Empty: environment-wide (every application, before its own rules).",
    )
    name = models.CharField(max_length=NAME_MAX_LENGTH)
    order = models.PositiveIntegerField(help_text="Rules run in ascending order.")
    selector = models.CharField(max_length=SELECTOR_MAX_LENGTH)
    detector = models.CharField(max_length=16, choices=Detector.choices(), null=True, blank=True)
    pattern = models.CharField(max_length=500, null=True, blank=True)
    method = models.CharField(max_length=8, choices=Method.choices())
    replacement = models.CharField(max_length=REPLACEMENT_MAX_LENGTH, blank=True, default="")
    # A rule that finds something in every string of a record type was asked for
    # explicitly (validation refuses it otherwise).
    confirm_catch_all = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        # Environment-wide first (NULL application), then per application, each by order.
        ordering = [Coalesce("application_id", 0).asc(), "order", "id"]
        default_permissions = ("view",)
        permissions = [(MANAGE_RULES, "Can create, change and delete masking rules")]
        constraints = [
            models.CheckConstraint(
                condition=(models.Q(detector__isnull=False) & models.Q(pattern__isnull=True))
                | (models.Q(detector__isnull=True) & models.Q(pattern__isnull=False)),
                name="maskingrule_detector_xor_pattern",
            ),
            models.CheckConstraint(
                condition=models.Q(method__in=Method.values()), name="maskingrule_method_valid"
            ),
            models.UniqueConstraint(
                fields=["application", "name"], name="maskingrule_name_unique_per_application"
            ),
            models.UniqueConstraint(
                fields=["name"],
                condition=models.Q(application__isnull=True),
                name="maskingrule_name_unique_environment",
            ),
            models.UniqueConstraint(
                fields=["application", "order"], name="maskingrule_order_unique_per_application"
            ),
            models.UniqueConstraint(
                fields=["order"],
                condition=models.Q(application__isnull=True),
                name="maskingrule_order_unique_environment",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def scope(self) -> str:
        return "environment" if self.application_id is None else "application"
