"""Forms of the privacy officer's console. Like the help desk's, they never echo an email."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, time, timedelta
from typing import Any, cast

from django import forms
from django.conf import settings

from dashboard.forms import _CHOICE_MESSAGES, NoEchoForm, _day_field, _not_an_email
from data_subjects.models import RequestKind
from permissions.models import AuditKind
from sessions_app.query_values import RecordIdField


def _email_field(label: str, help_text: str) -> forms.CharField:
    return forms.CharField(
        label=label,
        max_length=settings.RUMVAULT_USER_TAG_MAX_LENGTH,
        help_text=help_text,
        widget=forms.EmailInput(
            attrs={"autocomplete": "off", "spellcheck": "false", "inputmode": "email"}
        ),
    )


def _start(day: Any) -> str:
    return datetime.combine(day, time.min, tzinfo=UTC).isoformat()


class AuditFilterForm(NoEchoForm):
    """The audit trail's filters (``permissions.selectors.AuditRecordFilterSet``) as a form."""

    user = forms.CharField(label="User", required=False, max_length=150,
                           validators=[_not_an_email])  # fmt: skip
    kind = forms.ChoiceField(
        label="Kind",
        required=False,
        choices=[("", "Any kind"), *AuditKind.choices],
        error_messages=_CHOICE_MESSAGES,
    )
    application = forms.ChoiceField(
        label="Application", required=False, error_messages=_CHOICE_MESSAGES
    )
    session = RecordIdField(label="Session id", required=False)
    since = _day_field("From")
    until = _day_field("To")

    def __init__(self, data: Any = None, *, applications: Iterable[str]) -> None:
        super().__init__(data=data)
        field = cast(forms.ChoiceField, self.fields["application"])
        field.choices = [("", "All applications"), *((slug, slug) for slug in applications)]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        since, until = cleaned.get("since"), cleaned.get("until")
        if since and until and since > until:
            self.add_error("until", "The end date is before the start date.")
        return cleaned

    def filters(self) -> dict[str, str]:
        """The filter set's parameters: whole days in UTC, ``until`` inclusive."""
        data = self.cleaned_data
        params = {
            name: str(data[name])
            for name in ("user", "kind", "application", "session")
            if data.get(name) not in (None, "")
        }
        if data.get("since"):
            params["since"] = _start(data["since"])
        if data.get("until"):
            params["until"] = _start(data["until"] + timedelta(days=1))
        return params


class WhoLookedForm(NoEchoForm):
    never_shown_again = frozenset({"email"})
    email = _email_field(
        "Customer email", "Exact, any capitalisation. Sent in the request body; not shown again."
    )


class NewRequestForm(NoEchoForm):
    never_shown_again = frozenset({"user_tag"})
    user_tag = _email_field(
        "Customer email", "The user tag the customer is known by. Kept encrypted only while "
        "the request runs."
    )  # fmt: skip
    kind = forms.ChoiceField(
        label="Request", choices=RequestKind.choices, error_messages=_CHOICE_MESSAGES
    )
    reason = forms.CharField(
        label="Reason",
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="No personal data: it is kept, also after an erasure.",
    )
    ticket = forms.CharField(
        label="Ticket", max_length=100, help_text="Your ticket reference, printed on the receipt."
    )
