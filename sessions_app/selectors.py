"""Reads of sessions, always through the principal's fieldset policy.

Every function takes the principal (a user, or the request's already built
``FieldsetPolicy``) and returns only sessions of applications it may read;
anything else is indistinguishable from a missing row. Lookups on fieldset
fields are checked before the query runs (403 naming the field), and rows
come back as ``.values()`` dicts for ``FieldsetPolicy.mask``.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ValidationError
from django.db.models import F, QuerySet, Value
from django.db.models.functions import Coalesce
from django.http import Http404

from fieldsets.policy import SESSION_COLUMNS, FieldsetPolicy
from fieldsets.registry import fields_referenced_by
from privacy.email_shape import looks_like_email
from sessions_app import user_tags
from sessions_app.api.filters import FILTER_FIELDS, SessionFilterSet
from sessions_app.models import UserAction, UserSession

Principal = FieldsetPolicy | AbstractBaseUser | AnonymousUser
# Sessions as ``.values()`` dicts (what ``FieldsetPolicy.mask`` takes), not model instances.
SessionRows = QuerySet[UserSession, dict[str, Any]]

USER_TAG = "user_tag"
ORDERING = "ordering"
DEFAULT_ORDERING = "-started_at"
# Public ordering name -> (sort expression name, fieldset field it reveals).
# duration_ms is nullable; keyset pagination needs a total order, so nulls sort
# as -1 (shortest) through an annotation.
ORDERINGS: dict[str, tuple[str, str | None]] = {
    "started_at": ("started_at", None),
    "duration_ms": ("duration_sort", "duration_ms"),
    "error_count": ("error_count", "error_count"),
}
ALLOWED_FILTERS: tuple[str, ...] = (*FILTER_FIELDS, ORDERING)

ACTION_COLUMNS: tuple[str, ...] = (
    "seq", "type", "name", "url", "timestamp", "duration_ms", "http_status", "error_message",
    "headers", "request_attributes", "product_sku", "product_name", "product_price",
    "product_currency", "product_quantity", "product_event",
)  # fmt: skip


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

    Shared by every read path that takes a query string (API and dashboard):
    a value that works as a key to a customer's sessions must not sit in
    browser history and access logs, so it is refused, never used, and the
    answer points to the search, which takes it in a request body.
    """
    for name, value in items:
        canonical = parameter_name(name)
        is_tag = fields_referenced_by(canonical)[0] in tag_names  # user_tag__startswith too
        if is_tag or looks_like_email(name) or looks_like_email(value):
            raise TagInUrl(canonical if canonical in known else None)


def policy_for(principal: Principal) -> FieldsetPolicy:
    return principal if isinstance(principal, FieldsetPolicy) else FieldsetPolicy(user=principal)


def _readable_sessions(policy: FieldsetPolicy) -> QuerySet[UserSession]:
    sessions = UserSession.objects.all()
    if policy.reads_all_applications:
        return sessions
    return sessions.filter(application_id__in=list(policy.applications))


def session_scope(*, principal: Principal, filters: Mapping[str, Any]) -> list[int]:
    """The application ids a request looks at: the ``application`` filter, or all readable."""
    policy = policy_for(principal)
    slug = filters.get("application")
    application = policy.application_by_slug(slug) if isinstance(slug, str) else None
    return [application.id] if application is not None else list(policy.applications)


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
    ``user_tag`` itself is the one allowed lookup (exact search): never a 403,
    and unknown only where a caller (the dashboard's URL) does not accept it.
    ``application_ids`` ``None`` means every readable application. Shared by
    the API and the dashboard, so both refuse the same names the same way.
    """
    scope = None if application_ids is None else list(application_ids)
    unknown = False
    for name in map(parameter_name, names):
        if name != USER_TAG:
            for field_name in fields_referenced_by(name):
                policy.check_lookup(field_name, scope)
        unknown = unknown or name not in allowed
    if unknown:
        # The tag is accepted only in a search body; never advertise it as a parameter.
        raise UnknownFilters(name for name in allowed if name != USER_TAG)


def session_list(*, principal: Principal, filters: Mapping[str, Any]) -> SessionRows:
    """Readable sessions matching ``filters``, ordered, as ``.values()`` rows.

    ``filters`` holds filter names (``FILTER_FIELDS``), ``ordering`` and, for
    a search, ``user_tag`` (matched exactly on the normalised tag through the
    blind index). Raises ``HiddenFieldLookup`` (403), ``UnknownFilters`` or
    ``ValidationError`` (400).
    """
    policy = policy_for(principal)
    filters = canonical_parameters(filters.items())
    scope = session_scope(principal=policy, filters=filters)
    check_filter_names(
        policy=policy, names=filters, application_ids=scope, allowed=(*ALLOWED_FILTERS, USER_TAG)
    )
    data = {name: value for name, value in filters.items() if name in FILTER_FIELDS}
    if USER_TAG in filters:
        sessions = customer_sessions(principal=policy, search=customer_search(filters[USER_TAG]))
    else:
        sessions = _readable_sessions(policy)
    if data:  # the plain list skips building a FilterSet and its form
        filterset = SessionFilterSet(data, sessions, policy=policy)
        if not filterset.is_valid():
            raise ValidationError(filterset.errors)
        for name, value in filterset.form.cleaned_data.items():
            revealed = FILTER_FIELDS[name]
            if value is not None and value != "" and revealed is not None:
                policy.check_lookup(revealed, scope)
        sessions = filterset.qs
    ordering_name = filters.get(ORDERING) or DEFAULT_ORDERING
    sort, descending = _ordering(policy, ordering_name, scope)
    columns = list(SESSION_COLUMNS)
    if sort == "duration_sort":
        sessions = sessions.annotate(duration_sort=Coalesce(F("duration_ms"), Value(-1)))
        columns.append(sort)
    sign = "-" if descending else ""
    # Annotated: django-stubs types ``.values()`` only for literal field names.
    rows: SessionRows = sessions.order_by(f"{sign}{sort}", f"{sign}id").values(*columns)
    return rows


def _ordering(policy: FieldsetPolicy, value: object, scope: list[int]) -> tuple[str, bool]:
    # The value names a field: compared like parameter names (ORDERING=-CLIENT_IP is a 403).
    name = parameter_name(value.removeprefix("-")) if isinstance(value, str) else ""
    if name:
        # A hidden field is refused by name even if it is no ordering we offer.
        for field_name in fields_referenced_by(name):
            policy.check_lookup(field_name, scope)
    if name not in ORDERINGS:
        raise ValidationError(
            {ORDERING: f"Order by one of {', '.join(ORDERINGS)}, optionally with '-'."}
        )
    sort, revealed = ORDERINGS[name]
    if revealed is not None:
        policy.check_lookup(revealed, scope)
    return sort, isinstance(value, str) and value.startswith("-")


def normalised_search_tag(value: object) -> str:
    """The normalised tag of a search, or ``ValidationError`` (the message never echoes it)."""
    if not isinstance(value, str):
        raise ValidationError({USER_TAG: "Give the user tag as a string."})
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate from JSON: cannot be hashed
        raise ValidationError({USER_TAG: "The user tag is not valid Unicode text."}) from None
    normalised = user_tags.normalise(value)
    if not normalised:
        raise ValidationError({USER_TAG: "The user tag is empty."})
    if len(normalised) > settings.RUMVAULT_USER_TAG_MAX_LENGTH:
        raise ValidationError({USER_TAG: "The user tag is too long."})
    return normalised


@dataclass(frozen=True)
class CustomerSearch:
    """A user-tag search as keyed values only, never the tag.

    ``blind_indexes`` (the tag's blind index under every key of the keyring)
    say which sessions match; ``audit_hash`` (under the audit keyring) names
    the search in the audit trail and is never accepted as a search key.
    """

    blind_indexes: tuple[str, ...]
    audit_hash: str


def customer_search(value: object) -> CustomerSearch:
    """The keyed values of a searched tag, or ``ValidationError`` (never echoing it)."""
    normalised = normalised_search_tag(value)
    return CustomerSearch(
        blind_indexes=tuple(user_tags.blind_index_candidates_for(normalised)),
        audit_hash=user_tags.audit_hash_for(normalised),
    )


def customer_sessions(*, principal: Principal, search: CustomerSearch) -> QuerySet[UserSession]:
    """The readable sessions of one customer: the user-tag search of every read path.

    The API's search, the dashboard and the admin all come here, so they match
    the same rows, under every blind-index key (a rotation loses no session).
    This is the one lookup that crosses applications, and callers audit it.
    """
    return _readable_sessions(policy_for(principal)).filter(
        user_tag_blind_index__in=search.blind_indexes
    )


def session_get(*, principal: Principal, pk: int, with_actions: bool = False) -> dict[str, Any]:
    """One readable session as a ``.values()`` row (with ``actions`` in seq order if asked).

    A missing id and a session of an unreadable application raise the same ``Http404``.
    """
    policy = policy_for(principal)
    row: dict[str, Any] | None = (
        _readable_sessions(policy).filter(pk=pk).values(*SESSION_COLUMNS).first()
    )
    if row is None:
        raise Http404
    if with_actions:
        row["actions"] = list(
            UserAction.objects.filter(session_id=pk).order_by("seq").values(*ACTION_COLUMNS)
        )
    return row
