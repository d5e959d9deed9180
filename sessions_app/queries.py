"""The edge of the read layer: request parameters in, a typed ``SessionQuery`` out.

Every read path (API, CSV, browsable API, dashboard, admin) turns what a
client sent into a ``SessionQuery`` here, and the read layer
(``sessions_app.selectors``, ``sessions_app.reads``) only ever sees typed
values: dates as aware UTC datetimes, booleans as booleans, an ordering as an
``Ordering``. The rules, in the order they apply:

1. names are compared in one spelling (``parameter_name``): ``CLIENT_IP`` is
   ``client_ip``; a name given twice, in any spelling, is a 400;
2. no user tag in a URL: a ``user_tag`` name or anything shaped like an email
   is a 400 pointing to the search (``check_url_parameters``);
3. a name touching a hidden fieldset field is a 403 naming it, before
4. a name that is no filter is a 400 listing the allowed ones
   (``check_filter_names``);
5. values are validated by the FilterSet's form (``sessions_app.filters``);
   messages never echo a value.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError

from fieldsets.registry import fields_referenced_by
from permissions.policy import FieldsetPolicy
from privacy.email_shape import looks_like_email
from sessions_app.filters import FILTER_FIELDS, SessionFilterSet
from sessions_app.user_tags import USER_TAG

ORDERING = "ordering"


@dataclass(frozen=True)
class Ordering:
    """A keyset ordering: the sort expression, its direction, and what it reveals."""

    name: str  # the public name ("duration_ms")
    descending: bool
    sort: str  # the column or annotation sorted by
    reveals: str | None  # the fieldset path the order would reveal

    @property
    def text(self) -> str:
        return f"-{self.name}" if self.descending else self.name


# Public ordering name -> (sort expression name, fieldset path it reveals).
# duration_ms is nullable; keyset pagination needs a total order, so nulls sort
# as -1 (shortest) through an annotation (``sessions_app.selectors``).
ORDERINGS: dict[str, tuple[str, str | None]] = {
    "started_at": ("started_at", None),
    "duration_ms": ("duration_sort", "duration_ms"),
    "error_count": ("error_count", "error_count"),
}
NEWEST_FIRST = Ordering("started_at", descending=True, sort="started_at", reveals=None)
ALLOWED_FILTERS: tuple[str, ...] = (*FILTER_FIELDS, ORDERING)


@dataclass(frozen=True, kw_only=True)
class SessionQuery:
    """Which sessions a read asks for, validated and typed.

    ``filters`` maps filter names of ``SessionFilterSet`` to cleaned values;
    the read layer checks each against the policy again before applying it,
    so a query built in code (the dashboard's form) is held to the same rules.
    """

    filters: Mapping[str, Any] = field(default_factory=dict)
    ordering: Ordering = NEWEST_FIRST

    @property
    def keys_only(self) -> bool:
        """No value but the application's chooses rows: one query plan suits every such
        query (``config.prepared``); a filter's value may call for another plan."""
        return self.filters.keys() <= {"application"}

    @property
    def application(self) -> str | None:
        slug = self.filters.get("application")
        return slug if isinstance(slug, str) else None


class UnknownFilters(ValidationError):
    """Names that are neither filters nor hidden fields; ``allowed`` lists the valid ones."""

    def __init__(self, allowed: Iterable[str]) -> None:
        self.allowed = sorted(allowed)
        super().__init__("Unknown parameter(s).", code="unknown")


class TagInUrl(ValidationError):
    """A user tag in a URL: a ``user_tag`` parameter, or any name or value shaped like an email.

    Never echoes what it found. ``parameter`` names the offending parameter
    only when it is one of ``known`` names (an unknown name could itself be
    the email).
    """

    def __init__(self, parameter: str | None = None) -> None:
        self.parameter = parameter
        super().__init__("A user tag is never accepted in a URL.", code="tag_in_url")


class RepeatedParameter(ValidationError):
    """The same name twice (also spelt differently: ``country`` and ``Country``)."""

    def __init__(self) -> None:
        super().__init__("Give each parameter once.", code="repeated")


def parameter_name(name: str) -> str:
    """The one spelling of a parameter or body key: compatibility forms folded, case folded.

    Every read path compares names only in this form, so ``CLIENT_IP`` is refused
    exactly like ``client_ip`` and ``Country`` filters exactly like ``country``.
    """
    return unicodedata.normalize("NFKC", name).casefold()


def canonical_parameters(items: Iterable[tuple[str, Any]]) -> dict[str, Any]:
    """``(name, value)`` pairs keyed by ``parameter_name``; ``RepeatedParameter`` on a clash."""
    parameters: dict[str, Any] = {}
    for name, value in items:
        canonical = parameter_name(name)
        if canonical in parameters:
            raise RepeatedParameter
        parameters[canonical] = value
    return parameters


def check_url_parameters(
    items: Iterable[tuple[str, str]],
    *,
    tag_names: Collection[str] = (USER_TAG,),
    known: Collection[str] = (),
) -> None:
    """``TagInUrl`` for a tag name (any lookup form) or an email-shaped name or value.

    A value that works as a key to a customer's sessions must not sit in
    browser history and access logs, so it is refused, never used, and the
    answer points to the search, which takes it in a request body.
    """
    for name, value in items:
        canonical = parameter_name(name)
        is_tag = fields_referenced_by(canonical)[0] in tag_names  # user_tag__startswith too
        if is_tag or looks_like_email(name) or looks_like_email(value):
            raise TagInUrl(canonical if canonical in known else None)


def application_scope(policy: FieldsetPolicy, slug: str | None) -> list[int]:
    """The application ids a read looks at: the ``application`` filter, or all readable."""
    application = policy.application_by_slug(slug) if slug is not None else None
    return [application.id] if application is not None else list(policy.applications)


def check_hidden_names(
    *,
    policy: FieldsetPolicy,
    names: Iterable[str],
    application_ids: Iterable[int] | None = None,
) -> None:
    """``HiddenFieldLookup`` (403) for any name touching a field hidden in the applications.

    The first half of ``check_filter_names``, for read paths with parameters of
    their own (the admin's ``o``, ``p``, ``customer``): whatever else a name
    is, one that touches a hidden field is refused naming it. ``user_tag``
    itself is the one allowed lookup (exact search): never a 403.
    """
    scope = None if application_ids is None else list(application_ids)
    for name in map(parameter_name, names):
        if name != USER_TAG:
            for path in fields_referenced_by(name):
                policy.check_lookup(path, scope)


def check_filter_names(
    *,
    policy: FieldsetPolicy,
    names: Iterable[str],
    application_ids: Iterable[int] | None = None,
    allowed: Collection[str] = ALLOWED_FILTERS,
) -> None:
    """403 for any name touching a hidden fieldset field, then 400 for names not ``allowed``.

    Hidden fields come first, so ``client_ip=...`` or ``user_tag__startswith``
    from a caller who cannot see them is a 403 naming the field whatever the
    lookup; for a caller who can see them it is merely an unknown parameter.
    ``user_tag`` itself is the one allowed lookup (exact search): never a 403.
    ``application_ids`` ``None`` means every readable application.
    """
    names = [parameter_name(name) for name in names]
    check_hidden_names(policy=policy, names=names, application_ids=application_ids)
    if any(name not in allowed for name in names):
        # The tag is accepted only in a search body; never advertise it as a parameter.
        raise UnknownFilters(name for name in allowed if name != USER_TAG)


def parse_ordering(policy: FieldsetPolicy, value: object, scope: list[int]) -> Ordering:
    if value is None or value == "":
        return NEWEST_FIRST
    # The value names a field: compared like parameter names (ORDERING=-CLIENT_IP is a 403).
    name = parameter_name(value.removeprefix("-")) if isinstance(value, str) else ""
    if name:
        # A hidden field is refused by name even if it is no ordering we offer.
        for path in fields_referenced_by(name):
            policy.check_lookup(path, scope)
    if name not in ORDERINGS:
        raise ValidationError(
            {ORDERING: f"Order by one of {', '.join(ORDERINGS)}, optionally with '-'."}
        )
    sort, reveals = ORDERINGS[name]
    if reveals is not None:
        policy.check_lookup(reveals, scope)
    descending = isinstance(value, str) and value.startswith("-")
    return Ordering(name, descending=descending, sort=sort, reveals=reveals)


def parse_session_query(
    params: Mapping[str, Any],
    *,
    policy: FieldsetPolicy,
    allowed: Collection[str] = ALLOWED_FILTERS,
) -> SessionQuery:
    """Validate filter parameters (names and values) into a ``SessionQuery``.

    ``params`` holds only filter names and ``ordering`` (paging and format
    parameters are the caller's). Raises ``HiddenFieldLookup`` (403),
    ``RepeatedParameter``, ``UnknownFilters`` or ``ValidationError`` (400).
    """
    params = canonical_parameters(params.items())
    slug = params.get("application")
    scope = application_scope(policy, slug if isinstance(slug, str) else None)
    check_filter_names(policy=policy, names=params, application_ids=scope, allowed=allowed)
    data = {name: value for name, value in params.items() if name in FILTER_FIELDS}
    cleaned: dict[str, Any] = {}
    if data:  # the plain list skips building a FilterSet and its form
        form = SessionFilterSet(data, policy=policy).form
        if not form.is_valid():
            raise ValidationError(form.errors)
        cleaned = {
            name: value
            for name, value in form.cleaned_data.items()
            if name in data and value is not None and value != ""
        }
    ordering = parse_ordering(policy, params.get(ORDERING), scope)
    return SessionQuery(filters=cleaned, ordering=ordering)
