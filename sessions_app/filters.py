"""Session filters (django-filter), shared by the list and search endpoints.

The FilterSet is the one declaration of the session filters: their names,
value types and what each reads. The edge (``sessions_app.queries``)
validates a request's values with its form into a typed ``SessionQuery``;
the read layer (``sessions_app.selectors``) applies the cleaned values with
the same filters; drf-spectacular documents them from it. Error messages
never echo submitted values: any of them could be a user tag typed in the
wrong box.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet

from fieldsets.registry import is_fieldset_path
from permissions.policy import FieldsetPolicy
from sessions_app.models import UserSession
from sessions_app.query_values import UtcIsoDateTimeFilter


class StrictBooleanField(forms.Field):
    """``true``/``false`` (also JSON booleans, ``1``/``0``); anything else is an error.

    Django's NullBooleanField turns garbage into "no filter", which would
    silently ignore a parameter the caller meant.
    """

    default_error_messages = {"invalid": "Enter true or false."}
    _TRUE = frozenset({"true", "1", "yes"})
    _FALSE = frozenset({"false", "0", "no"})

    def to_python(self, value: Any) -> bool | None:
        if value is None or value == "":
            return None
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in self._TRUE:
            return True
        if text in self._FALSE:
            return False
        raise ValidationError(self.error_messages["invalid"], code="invalid")


class CountryCodeFilter(django_filters.CharFilter):
    """A country code in any case, matched exactly in upper case, as ingest stores it
    (``sessions_app.ingest.validation``): the country indexes serve an exact match,
    and none serves ``iexact`` (``UPPER(country) = ...`` on PostgreSQL, ``LIKE`` on
    SQLite), which read every session of the application at a million (``bench/scale.py``)."""

    def filter(self, qs: QuerySet[UserSession], value: str) -> QuerySet[UserSession]:
        return super().filter(qs, value.upper() if value else value)


class StrictBooleanFilter(django_filters.Filter):
    field_class = StrictBooleanField


_HIDEABLE = " 403 if the field is in a fieldset you do not hold."


class PolicyFilterSet(django_filters.FilterSet):
    """A record type's filters, scoped by the principal's policy (sessions, log records).

    Only readable applications are valid ``application`` choices: a foreign
    slug and a missing one get the same error. ``apply`` runs already-cleaned
    values (a typed query's) through the same filters.
    """

    application = django_filters.ChoiceFilter(
        method="filter_application",
        help_text="Application slug.",
        error_messages={
            "invalid_choice": "Unknown application, or one you cannot read (give its slug)."
        },
    )

    def __init__(
        self,
        data: Mapping[str, Any] | None = None,
        queryset: QuerySet[Any] | None = None,
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

    def apply(self, queryset: QuerySet[Any], values: Mapping[str, Any]) -> QuerySet[Any]:
        """``queryset`` filtered by already-cleaned ``values``."""
        for name, value in values.items():
            queryset = self.filters[name].filter(queryset, value)
        return queryset

    def filter_application(self, queryset: QuerySet[Any], name: str, value: str) -> QuerySet[Any]:
        application = self.policy.application_by_slug(value)
        if application is None:  # unreachable after validation; fail closed anyway
            return queryset.none()
        return queryset.filter(application_id=application.id)


class SessionFilterSet(PolicyFilterSet):
    since = UtcIsoDateTimeFilter(
        field_name="started_at", lookup_expr="gte", help_text="Started at or after (ISO 8601)."
    )
    until = UtcIsoDateTimeFilter(
        field_name="started_at", lookup_expr="lt", help_text="Started before (ISO 8601)."
    )
    user_id = django_filters.CharFilter(
        field_name="user_id",
        help_text="Exact pseudonymous user id (pseudonyms differ between applications).",
    )
    session_id = django_filters.CharFilter(
        field_name="session_id",
        method="filter_session_id",
        help_text="The client's session id (exact), or rumvault's numeric session id." + _HIDEABLE,
    )
    has_errors = StrictBooleanFilter(
        field_name="error_count",
        method="filter_has_errors",
        help_text="true: at least one failed action; false: none." + _HIDEABLE,
    )
    converted = StrictBooleanFilter(field_name="converted", help_text="true or false." + _HIDEABLE)
    country = CountryCodeFilter(
        field_name="country",
        help_text="Country code, case-insensitive." + _HIDEABLE,
    )
    browser = django_filters.CharFilter(
        field_name="browser",
        lookup_expr="istartswith",
        help_text="Browser name prefix, case-insensitive (e.g. Chrome)." + _HIDEABLE,
    )
    device = django_filters.CharFilter(
        field_name="device",
        lookup_expr="iexact",
        help_text="Device class, case-insensitive (e.g. mobile)." + _HIDEABLE,
    )

    class Meta:
        model = UserSession
        fields: list[str] = []  # all declared above

    def filter_session_id(
        self, queryset: QuerySet[UserSession], name: str, value: str
    ) -> QuerySet[UserSession]:
        lookup = Q(session_id=value)
        if value.isascii() and value.isdigit() and len(value) <= 18:
            lookup |= Q(pk=int(value))
        return queryset.filter(lookup)

    def filter_has_errors(
        self, queryset: QuerySet[UserSession], name: str, value: bool
    ) -> QuerySet[UserSession]:
        return queryset.filter(error_count__gt=0) if value else queryset.filter(error_count=0)


# Filter name -> the registry path it reads, for the fieldset check (None: no
# fieldset can hold it; started_at and user_id are visible to every reader).
FILTER_FIELDS: dict[str, str | None] = {
    name: filter_.field_name if is_fieldset_path(filter_.field_name or "") else None
    for name, filter_ in SessionFilterSet.base_filters.items()
}
