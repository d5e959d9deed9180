"""Log record filters (django-filter): the one declaration of the ``GET /api/v1/logs/`` filters.

Like ``sessions_app.filters``: the edge (``logs.queries``) validates a
request's values with this FilterSet's form into a typed ``LogQuery``, the
read layer (``logs.selectors``) applies the cleaned values with the same
filters, drf-spectacular documents them. Messages never echo a value.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import django_filters
from django import forms
from django.db.models import QuerySet

from fieldsets.registry import LOG
from logs.models import LogRecord, SeverityLevel
from permissions.policy import FieldsetPolicy
from sessions_app.filters import UtcIsoDateTimeFilter

_HIDEABLE = " 403 if the field is in a fieldset you do not hold."


class IntegerFilter(django_filters.Filter):
    """A whole number (django-filter's NumberFilter takes decimals)."""

    field_class = forms.IntegerField


class LogFilterSet(django_filters.FilterSet):
    application = django_filters.ChoiceFilter(
        method="filter_application",
        help_text="Application slug.",
        error_messages={
            "invalid_choice": "Unknown application, or one you cannot read (give its slug)."
        },
    )
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
    session = IntegerFilter(
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

    def __init__(
        self,
        data: Mapping[str, Any] | None = None,
        queryset: QuerySet[LogRecord] | None = None,
        *,
        policy: FieldsetPolicy,
        request: Any = None,
    ) -> None:
        super().__init__(
            data=dict(data) if data is not None else None, queryset=queryset, request=request
        )
        self.policy = policy
        self.filters["application"].extra["choices"] = [
            (app.slug, app.slug) for app in policy.applications.values()
        ]

    def apply(self, queryset: QuerySet[LogRecord], values: Mapping[str, Any]) -> QuerySet[Any]:
        """``queryset`` filtered by already-cleaned ``values`` (a ``LogQuery``'s)."""
        for name, value in values.items():
            queryset = self.filters[name].filter(queryset, value)
        return queryset

    def filter_application(
        self, queryset: QuerySet[LogRecord], name: str, value: str
    ) -> QuerySet[LogRecord]:
        application = self.policy.application_by_slug(value)
        if application is None:  # unreachable after validation; fail closed anyway
            return queryset.none()
        return queryset.filter(application_id=application.id)

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
