"""Log records: the shops' backend logs, stored masked and linked to the RUM sessions they explain.

A log record belongs to an application (the ingest token it came with) and,
through its ``session_ref`` or its ``trace_id``, to at most one session of
that application. The link is resolved when the record is read
(``logs.selectors``), not stored: backend logs usually arrive before the
browser's beacon, and a session ingested later is found all the same.

``session_ref`` is the session id exactly as ``UserSession.session_id``
stores it (the client's id, or its keyed digest when a detector found
personal data in it); it is never served, only matched.

The table is a plain model with a ``time`` column and an (application, time)
index, ready to be partitioned by month like the actions (see
``docs/operations.md``).
"""

from __future__ import annotations

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
