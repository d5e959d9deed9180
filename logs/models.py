"""Log records: the shops' backend logs, stored masked and linked to the RUM sessions they explain.

A log record belongs to an application (the ingest token it came with) and,
through its ``session_ref`` or its ``trace_id``, to at most one session of
that application. The link is resolved when the record is read
(``logs.selectors``), not stored: backend logs usually arrive before the
browser's beacon, and a session ingested later is found all the same.

``session_ref`` is the session id exactly as ``UserSession.session_id``
stores it (the client's id, or its keyed digest when a detector found
personal data in it); it is never served, only matched.

On PostgreSQL the table is partitioned by month on ``time`` (its primary key
there is ``(id, time)``; ``maintenance.partitions``, ``docs/scaling.md``); on
SQLite it is a plain table. The model is the same for both.
"""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models

from sessions_app.models import Application

# OpenTelemetry's severity numbers: 1-4 TRACE, 5-8 DEBUG, 9-12 INFO, 13-16 WARN,
# 17-20 ERROR, 21-24 FATAL; 0 is "unspecified".
MAX_SEVERITY_NUMBER = 24
TRACE_ID_LENGTH = 32
SPAN_ID_LENGTH = 16


class SeverityLevel(models.TextChoices):
    """The six OpenTelemetry severity ranges, by the name of their lowest number."""

    TRACE = "trace", "Trace"
    DEBUG = "debug", "Debug"
    INFO = "info", "Info"
    WARN = "warn", "Warning"
    ERROR = "error", "Error"
    FATAL = "fatal", "Fatal"

    @property
    def lowest_number(self) -> int:
        return 1 + 4 * list(SeverityLevel).index(self)


def severity_level(number: int | None) -> SeverityLevel | None:
    """The range a severity number falls in; ``None`` for 0 (unspecified) or no value."""
    if number is None or not 1 <= number <= MAX_SEVERITY_NUMBER:
        return None
    return list(SeverityLevel)[(number - 1) // 4]


class LogRecord(models.Model):
    application = models.ForeignKey(
        Application, on_delete=models.CASCADE, related_name="log_records"
    )
    time = models.DateTimeField()
    observed_time = models.DateTimeField(null=True, blank=True)
    severity_number = models.PositiveSmallIntegerField(default=0)
    severity_text = models.CharField(max_length=32, blank=True, default="")
    body = models.TextField(blank=True, default="")
    attributes = models.JSONField(default=dict, blank=True)
    # Resource attributes other than the three with columns of their own.
    resource = models.JSONField(default=dict, blank=True)
    service_name = models.CharField(max_length=200, blank=True, default="")
    host_name = models.CharField(max_length=200, blank=True, default="")
    host_group = models.CharField(max_length=200, blank=True, default="")
    trace_id = models.CharField(max_length=TRACE_ID_LENGTH, null=True, blank=True)
    span_id = models.CharField(max_length=SPAN_ID_LENGTH, null=True, blank=True)
    session_ref = models.CharField(max_length=128, null=True, blank=True)

    class Meta:
        ordering = ["-time", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(severity_number__lte=MAX_SEVERITY_NUMBER),
                name="log_severity_number_range",
            ),
        ]
        indexes = [
            models.Index(fields=["application", "-time", "-id"], name="log_app_time"),
            models.Index(fields=["-time", "-id"], name="log_time"),
            models.Index(
                fields=["application", "session_ref"],
                name="log_app_session_ref",
                condition=models.Q(session_ref__isnull=False),
            ),
            models.Index(
                fields=["application", "trace_id"],
                name="log_app_trace",
                condition=models.Q(trace_id__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        # Only the primary key: every other field can be put into a fieldset.
        return f"Log record {self.pk}"


# --- capture rules: masking in the log agent, before a record leaves the shop's process ----

# What a capture rule may select: the body, or attributes / resource attributes by key
# (a glob: "logs.attributes.*", "logs.attributes.customer_*").
CAPTURE_SELECTOR = r"^logs\.(body|attributes\.[^\s]{1,100}|resource\.[^\s]{1,100})$"


class RuleLevel(models.TextChoices):
    """Where a capture rule applies; the agent resolves environment, then host group, then host."""

    ENVIRONMENT = "environment", "Environment (every host)"
    HOST_GROUP = "host_group", "Host group"
    HOST = "host", "Host"


class CaptureDetector(models.TextChoices):
    EMAIL = "email", "Email address"
    CARD = "card", "Payment card number (Luhn-valid)"
    IBAN = "iban", "IBAN (mod-97-valid)"
    IP = "ip", "IP address"
    UUID = "uuid", "UUID"
    JWT = "jwt", "JSON Web Token"


class CaptureMethod(models.TextChoices):
    MASK = "mask", "Mask (<masked>)"
    REPLACE = "replace", "Replace with a fixed text"
    REMOVE = "remove", "Remove the value"


class CaptureRule(models.Model):
    """One masking rule the log agent applies at capture (``GET /api/v1/ingest/logs/config/``).

    Rules apply on top of the built-in detectors, which the agent always runs
    (and ingest runs again). A rule at a more specific level with the same
    ``name`` replaces the broader one.
    """

    name = models.SlugField(max_length=80)
    level = models.CharField(max_length=16, choices=RuleLevel, default=RuleLevel.ENVIRONMENT)
    # The host group's or host's name; empty for the environment.
    target = models.CharField(max_length=200, blank=True, default="")
    # None: every application.
    application = models.ForeignKey(
        Application, null=True, blank=True, on_delete=models.CASCADE, related_name="capture_rules"
    )
    order = models.PositiveIntegerField(default=100)
    selector = models.CharField(
        max_length=120,
        validators=[
            RegexValidator(
                CAPTURE_SELECTOR, "logs.body, logs.attributes.<key> or logs.resource.<key>"
            )
        ],
        help_text="logs.body, logs.attributes.<key> or logs.resource.<key>; * matches any text.",
    )
    detector = models.CharField(max_length=16, choices=CaptureDetector, blank=True, default="")
    pattern = models.CharField(
        max_length=500,
        blank=True,
        default="",
        help_text="A regular expression (no backreferences).",
    )
    method = models.CharField(max_length=16, choices=CaptureMethod, default=CaptureMethod.MASK)
    replacement = models.CharField(max_length=200, blank=True, default="")

    class Meta:
        ordering = ["order", "name"]
        constraints = [
            models.CheckConstraint(
                condition=(models.Q(detector="") & ~models.Q(pattern=""))
                | (~models.Q(detector="") & models.Q(pattern="")),
                name="capture_rule_detector_xor_pattern",
            ),
            models.CheckConstraint(
                condition=models.Q(level=RuleLevel.ENVIRONMENT, target="")
                | (~models.Q(level=RuleLevel.ENVIRONMENT) & ~models.Q(target="")),
                name="capture_rule_target_by_level",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if bool(self.detector) == bool(self.pattern):
            raise ValidationError("Give exactly one of detector and pattern.")
        if (self.level == RuleLevel.ENVIRONMENT) != (self.target == ""):
            raise ValidationError({"target": "Name the host group or host (not for environment)."})
        if self.pattern:
            try:
                compiled = re.compile(self.pattern)
            except re.error:
                raise ValidationError({"pattern": "Not a valid regular expression."}) from None
            if compiled.groups and re.search(r"\\[1-9]|\(\?P=", self.pattern):
                raise ValidationError({"pattern": "Backreferences are not allowed."})
            if compiled.search("") is not None:
                raise ValidationError({"pattern": "The pattern must not match empty text."})
        if self.method == CaptureMethod.REPLACE and not self.replacement:
            raise ValidationError({"replacement": "Give the text to replace with."})
