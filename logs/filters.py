"""Log record filters (django-filter): the one declaration of the ``GET /api/v1/logs/`` filters.

Like ``sessions_app.filters``: the edge (``logs.queries``) validates a
request's values with this FilterSet's form into a typed ``LogQuery``, the
read layer (``logs.selectors``) applies the cleaned values with the same
filters, drf-spectacular documents them. Messages never echo a value.
"""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import QuerySet

from fieldsets.registry import LOG
from logs.models import LogRecord, SeverityLevel
from sessions_app.filters import PolicyFilterSet
from sessions_app.query_values import RecordIdFilter, UtcIsoDateTimeFilter

_HIDEABLE = " 403 if the field is in a fieldset you do not hold."


class LogFilterSet(PolicyFilterSet):
    since = UtcIsoDateTimeFilter(
        field_name="time", lookup_expr="gte", help_text="At or after (ISO 8601)."
    )
    until = UtcIsoDateTimeFilter(
        field_name="time", lookup_expr="lt", help_text="Before (ISO 8601)."
    )
    severity = django_filters.ChoiceFilter(
        field_name="severity_number",
        method="filter_severity",
        choices=SeverityLevel.choices,
        help_text="This level and above: trace, debug, info, warn, error, fatal." + _HIDEABLE,
        error_messages={"invalid_choice": "Give one of trace, debug, info, warn, error, fatal."},
    )
    session = RecordIdFilter(
        method="filter_session",
        help_text="rumvault's id of a session: the log records linked to it (its session_id "
        "attribute, or a trace id of one of its actions).",
    )
    service = django_filters.CharFilter(
        field_name="service_name",
        lookup_expr="iexact",
        help_text="service.name, case-insensitive." + _HIDEABLE,
    )
    host = django_filters.CharFilter(
        field_name="host_name",
        lookup_expr="iexact",
        help_text="host.name, case-insensitive." + _HIDEABLE,
    )

    class Meta:
        model = LogRecord
        fields: list[str] = []  # all declared above

    def filter_severity(
        self, queryset: QuerySet[LogRecord], name: str, value: str
    ) -> QuerySet[LogRecord]:
        return queryset.filter(severity_number__gte=SeverityLevel(value).lowest_number)

    def filter_session(
        self, queryset: QuerySet[LogRecord], name: str, value: Any
    ) -> QuerySet[LogRecord]:
        # Resolved by the selector (it needs the session row); see logs.selectors.
        return queryset


# Filter name -> the registry path it reads, for the fieldset check (None: no
# fieldset can hold it). Derived from the registry: the field stored in the
# filter's column.
LOG_FILTER_FIELDS: dict[str, str | None] = {
    name: next((LOG.path(f.name) for f in LOG.hideable if f.storage == filter_.field_name), None)
    for name, filter_ in LogFilterSet.base_filters.items()
}
