"""Dashboard forms. Error messages never repeat what was typed: it may be an email."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any, cast

from django import forms
from django.conf import settings

from dashboard.selectors import OVERVIEW_MAX_DAYS, FindCriteria
from fieldsets.policy import ApplicationRef

CONVERTED_CHOICES = [("", "Any"), ("yes", "Converted"), ("no", "Not converted")]
# The only field that must never be taken from a URL (README "Reading API": a user
# tag is never accepted in one). Also refused under the API's spelling.
EMAIL_FIELD = "email"
URL_FORBIDDEN = frozenset({EMAIL_FIELD, "user_tag"})


def _date_widget() -> forms.DateInput:
    return forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class FindForm(forms.Form):
    email = forms.CharField(
        label="Customer email",
        required=False,
        max_length=settings.RUMVAULT_USER_TAG_MAX_LENGTH,
        help_text="Exact match, any capitalisation. Sent in the request body, never in the URL.",
        widget=forms.EmailInput(
            # Browsers must not remember customers' emails for the next agent.
            attrs={"autocomplete": "off", "spellcheck": "false", "inputmode": "email"}
        ),
    )
    application = forms.ChoiceField(label="Application", required=False)
    since = forms.DateField(label="From", required=False, widget=_date_widget())
    until = forms.DateField(label="To", required=False, widget=_date_widget())
    errors_only = forms.BooleanField(label="With errors only", required=False)
    converted = forms.ChoiceField(label="Converted", required=False, choices=CONVERTED_CHOICES)
    user_id = forms.CharField(
        label="User ID",
        required=False,
        max_length=48,
        widget=forms.TextInput(attrs={"spellcheck": "false", "placeholder": "u1_…"}),
    )
    session = forms.CharField(
        label="Session id",
        required=False,
        max_length=128,
        widget=forms.TextInput(attrs={"spellcheck": "false"}),
    )

    def __init__(
        self,
        data: Mapping[str, Any] | None = None,
        *,
        applications: Mapping[int, ApplicationRef],
    ) -> None:
        super().__init__(data=data)
        # ``fields`` is typed as plain Fields; this one is the ChoiceField declared above.
        application = cast(forms.ChoiceField, self.fields["application"])
        application.choices = [("", "All applications")] + [
            (app.slug, app.name) for app in applications.values()
        ]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        since, until = cleaned.get("since"), cleaned.get("until")
        if since and until and since > until:
            self.add_error("until", "The end date is before the start date.")
        return cleaned

    def criteria(self) -> FindCriteria:
        data = self.cleaned_data
        converted = {"yes": True, "no": False}.get(data["converted"])
        return FindCriteria(
            email=data[EMAIL_FIELD],
            application=data["application"],
            since=data["since"],
            until=data["until"],
            errors_only=data["errors_only"],
            converted=converted,
            user_id=data["user_id"],
            session=data["session"],
        )


class OverviewForm(forms.Form):
    since = forms.DateField(label="From", required=False, widget=_date_widget())
    until = forms.DateField(label="To", required=False, widget=_date_widget())

    def period(self, *, default_until: date, default_days: int) -> tuple[date, date]:
        """The chosen days, filled in from the defaults and kept within ``OVERVIEW_MAX_DAYS``."""
        # An unbound form (no query string) has no cleaned_data: all defaults.
        chosen = getattr(self, "cleaned_data", {})
        since, until = chosen.get("since"), chosen.get("until")
        if until is None:
            until = default_until if since is None or since <= default_until else since
        if since is None:
            since = until - timedelta(days=default_days - 1)
        since = max(since, until - timedelta(days=OVERVIEW_MAX_DAYS - 1))
        return since, until

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        since, until = cleaned.get("since"), cleaned.get("until")
        if since and until:
            if since > until:
                self.add_error("until", "The end date is before the start date.")
            elif (until - since).days >= OVERVIEW_MAX_DAYS:
                self.add_error("since", f"Choose at most {OVERVIEW_MAX_DAYS} days.")
        return cleaned
