"""Dashboard forms. Neither pages nor error messages repeat what was typed: it may be an email.

A bound form shows a submitted value again only once it validated, and only
for fields whose values come from a fixed set or a calendar (application,
dates, converted, errors only). Free text (user id, session id) is shown again
only after the search succeeded, and the email never (``NoEchoBoundField``).
Error messages name the problem, never the value (Django's ChoiceField
message "Select a valid choice. <value> is not one of ..." is replaced).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any, cast

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator

from dashboard.selectors import OVERVIEW_MAX_DAYS, FindCriteria
from dashboard.timezones import zone_names
from fieldsets.registry import SESSION
from permissions.models import REASON_MAX_LENGTH
from permissions.policy import ApplicationRef
from privacy.email_shape import looks_like_email
from sessions_app.user_tags import USER_TAG

CONVERTED_CHOICES = [("", "Any"), ("yes", "Converted"), ("no", "Not converted")]
# The only field that must never be taken from a URL (README "Reading API": a user
# tag is never accepted in one). Also refused under the API's spelling.
EMAIL_FIELD = "email"
URL_FORBIDDEN = frozenset({EMAIL_FIELD, USER_TAG})

# The days a form accepts. A day becomes [day 00:00 UTC, next day 00:00 UTC)
# and the overview looks up to OVERVIEW_MAX_DAYS back, so both neighbours must
# exist in the calendar (9999-12-31 has no next day: it used to be a 500). No
# RUM session predates the Unix epoch.
FIRST_DAY = date(1970, 1, 1)
LAST_DAY = date.max - timedelta(days=1)
_DAY_RANGE = f"Enter a date between {FIRST_DAY.isoformat()} and {LAST_DAY.isoformat()}."
_CHOICE_MESSAGES = {"invalid_choice": "Choose one of the listed options."}


class NoEchoBoundField(forms.BoundField):
    """Renders a bound form's value only if it validated and the form lets it be shown again."""

    form: NoEchoForm

    def value(self) -> Any:
        form = self.form
        if not form.is_bound:
            return super().value()
        cleaned = getattr(form, "cleaned_data", {})
        if self.name in form.errors or self.name not in cleaned:
            return None
        if self.name in form.never_shown_again:
            return None
        if isinstance(self.field, forms.CharField) and not form.accepted:
            return None  # free text: only once the request was answered
        return self.field.prepare_value(cleaned[self.name])


class NoEchoForm(forms.Form):
    bound_field_class = NoEchoBoundField
    # Fields whose submitted value is never rendered again, even after success.
    never_shown_again: frozenset[str] = frozenset()
    # Set by the view once the request was answered (not refused): free text
    # that validated may then be shown again so the search can be refined.
    accepted = False


def _day_field(label: str) -> forms.DateField:
    bounds = {"min": FIRST_DAY.isoformat(), "max": LAST_DAY.isoformat()}
    return forms.DateField(
        label=label,
        required=False,
        widget=forms.DateInput(attrs={"type": "date", **bounds}, format="%Y-%m-%d"),
        validators=[
            MinValueValidator(FIRST_DAY, message=_DAY_RANGE),
            MaxValueValidator(LAST_DAY, message=_DAY_RANGE),
        ],
    )


def _not_an_email(value: str) -> None:
    if looks_like_email(value):
        raise ValidationError(
            "This looks like an email address. Search by email with the Customer email field.",
            code="email",
        )


class FindForm(NoEchoForm):
    never_shown_again = frozenset({EMAIL_FIELD})

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
    application = forms.ChoiceField(
        label="Application",
        required=False,
        error_messages={"invalid_choice": "Choose one of the listed applications."},
    )
    since = _day_field("From")
    until = _day_field("To")
    errors_only = forms.BooleanField(label="With errors only", required=False)
    converted = forms.ChoiceField(
        label="Converted",
        required=False,
        choices=CONVERTED_CHOICES,
        error_messages=_CHOICE_MESSAGES,
    )
    user_id = forms.CharField(
        label="User ID",
        required=False,
        max_length=SESSION.max_length("user_id"),
        validators=[_not_an_email],
        widget=forms.TextInput(attrs={"spellcheck": "false", "placeholder": "u1_…"}),
    )
    session = forms.CharField(
        label="Session id",
        required=False,
        max_length=SESSION.max_length("session_id"),
        validators=[_not_an_email],
        widget=forms.TextInput(attrs={"spellcheck": "false"}),
    )
    # A row of the overview's "most frequent errors" (with its period): the
    # keyed digest of its message and request, never the text itself.
    error_group = forms.CharField(
        required=False,
        validators=[RegexValidator(r"^[0-9a-f]{32}$", "Open the error from the overview again.")],
        widget=forms.HiddenInput,
    )

    def __init__(
        self,
        data: Mapping[str, Any] | None = None,
        *,
        applications: Mapping[int, ApplicationRef],
        initial: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(data=data, initial=dict(initial) if initial is not None else None)
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
        if cleaned.get("error_group") and not (since and until):
            self.add_error(None, "An error group needs its period: open it from the overview.")
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
            error_group=data["error_group"],
        )


class OverviewForm(NoEchoForm):
    since = _day_field("From")
    until = _day_field("To")

    def period(self, *, default_until: date, default_days: int) -> tuple[date, date]:
        """The chosen days, filled in from the defaults and kept within ``OVERVIEW_MAX_DAYS``."""
        # The default comes from stored data, which ingest does not bound: keep
        # it in the calendar range the form enforces on what is typed.
        default_until = min(max(default_until, FIRST_DAY), LAST_DAY)
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


class RevealForm(NoEchoForm):
    """The reason for revealing a session; never shown again (it may name the customer)."""

    never_shown_again = frozenset({"reason"})

    reason = forms.CharField(
        label="Reason or ticket",
        max_length=REASON_MAX_LENGTH,
        help_text="Kept in the audit trail with the reveal (emails, card numbers and IPs in "
        "it are masked).",
        widget=forms.TextInput(attrs={"autocomplete": "off", "placeholder": "e.g. HD-4711"}),
        error_messages={"required": "Give a reason or a ticket reference."},
    )


BROWSER_ZONE = ""


class ProfileForm(forms.Form):
    """The employee's settings: the time zone times are shown in."""

    time_zone = forms.ChoiceField(
        label="Time zone",
        required=False,
        help_text="Times are shown in this zone, with UTC on hover. The API always uses UTC.",
        error_messages=_CHOICE_MESSAGES,
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        zone = cast(forms.ChoiceField, self.fields["time_zone"])
        zone.choices = [(BROWSER_ZONE, "My browser's time zone (automatic)")] + [
            (name, name.replace("_", " ")) for name in sorted(zone_names())
        ]
