"""Values a client names in a query string or a form: record ids and date-times.

Each is parsed into what the database can take, or refused with a 400, by
every filter and form that reads one (session and log lists, the audit API,
the privacy console), never passed on for the database to choke on:

- Every table's primary key is a ``BigAutoField``: a signed 64-bit integer on
  both databases. A larger number is no id; SQLite refuses to even compare it
  (``OverflowError``, a 500 the schema fuzzer found on ``GET
  /api/v1/audit/?session=``).
- PostgreSQL refuses UTC offsets beyond +-15:59 that Python accepts (a 500 the
  fuzzer found on the audit API's ``until``), and a date at the edge of the
  calendar can overflow when shifted: date-times are converted to UTC here.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import django_filters
from django import forms
from django.core.exceptions import ValidationError

MAX_RECORD_ID = 2**63 - 1


class RecordIdField(forms.IntegerField):
    """A whole number from 1 to ``MAX_RECORD_ID`` (Django's own messages, no value echoed)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_RECORD_ID)
        super().__init__(**kwargs)


class RecordIdFilter(django_filters.Filter):
    """A filter on a record id (django-filter's ``NumberFilter`` takes decimals)."""

    field_class = RecordIdField


class UtcIsoDateTimeField(django_filters.fields.IsoDateTimeField):
    """An ISO 8601 date-time, converted to UTC before it reaches the database."""

    default_error_messages = {"invalid": "Enter an ISO 8601 date-time, e.g. 2026-11-28T10:00Z."}

    def to_python(self, value: Any) -> datetime | None:
        parsed = super().to_python(value)
        if parsed is None:
            return None
        try:
            return parsed.astimezone(UTC)
        except (OverflowError, ValueError):
            raise ValidationError(self.error_messages["invalid"], code="invalid") from None


class UtcIsoDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = UtcIsoDateTimeField
