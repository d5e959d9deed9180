"""Session filters (django-filter), shared by the list and search endpoints.

The FilterSet declares and validates values; ``sessions_app.selectors``
decides which names are allowed and asks the fieldset policy before any
filter on a fieldset field runs. Error messages never echo submitted values:
any of them could be a user tag typed in the wrong box.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.db.models import QuerySet

from fieldsets.policy import FieldsetPolicy
from sessions_app.models import UserSession

# Filter name -> the session field it reads, for the fieldset check (None:
# not a fieldset-able field; started_at and user_id are visible to all readers).
FILTER_FIELDS: dict[str, str | None] = {
    "application": None,
    "since": None,
    "until": None,
    "user_id": None,
    "has_errors": "error_count",
    "converted": "converted",
    "country": "country",
    "browser": "browser",
    "device": "device",
}


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


class StrictBooleanFilter(django_filters.Filter):
    field_class = StrictBooleanField


class UtcIsoDateTimeField(django_filters.fields.IsoDateTimeField):
    """An ISO 8601 date-time, converted to UTC before it reaches the database.

    PostgreSQL refuses UTC offsets beyond +-15:59 that Python accepts, and a
    date at the edge of the calendar can overflow when shifted: both are the
    caller's mistake (400), not a server error.
    """

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


class SessionFilterSet(django_filters.FilterSet):
    application = django_filters.ChoiceFilter(
        method="filter_application",
        error_messages={
            "invalid_choice": "Unknown application, or one you cannot read (give its slug)."
        },
    )
    since = UtcIsoDateTimeFilter(field_name="started_at", lookup_expr="gte")
    until = UtcIsoDateTimeFilter(field_name="started_at", lookup_expr="lt")
    user_id = django_filters.CharFilter(field_name="user_id")
    has_errors = StrictBooleanFilter(method="filter_has_errors")
    converted = StrictBooleanFilter(field_name="converted")
    country = django_filters.CharFilter(field_name="country", lookup_expr="iexact")
    browser = django_filters.CharFilter(field_name="browser", lookup_expr="istartswith")
    device = django_filters.CharFilter(field_name="device", lookup_expr="iexact")

    class Meta:
        model = UserSession
        fields: list[str] = []  # all declared above

    def __init__(
        self, data: dict[str, Any], queryset: QuerySet[UserSession], *, policy: FieldsetPolicy
    ) -> None:
        super().__init__(data=data, queryset=queryset)
        self.policy = policy
        # Only readable applications are valid choices: a foreign slug and a
        # missing one get the same error.
        self.filters["application"].extra["choices"] = [
            (app.slug, app.slug) for app in policy.applications.values()
        ]

    def filter_application(
        self, queryset: QuerySet[UserSession], name: str, value: str
    ) -> QuerySet[UserSession]:
        application = self.policy.application_by_slug(value)
        if application is None:  # unreachable after validation; fail closed anyway
            return queryset.none()
        return queryset.filter(application_id=application.id)

    def filter_has_errors(
        self, queryset: QuerySet[UserSession], name: str, value: bool
    ) -> QuerySet[UserSession]:
        return queryset.filter(error_count__gt=0) if value else queryset.filter(error_count=0)
