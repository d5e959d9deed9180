"""Reads of sessions, always through the principal's fieldset policy.

Every function takes the principal (a user, or the request's already built
``FieldsetPolicy``) and returns only sessions of applications it may read;
anything else is indistinguishable from a missing row. Lookups on fieldset
fields are checked before the query runs (403 naming the field), and rows
come back as ``.values()`` dicts for ``FieldsetPolicy.mask``.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
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
    for name in names:
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
    scope = session_scope(principal=policy, filters=filters)
    check_filter_names(
        policy=policy, names=filters, application_ids=scope, allowed=(*ALLOWED_FILTERS, USER_TAG)
    )
    data = {name: value for name, value in filters.items() if name in FILTER_FIELDS}
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
    if USER_TAG in filters:
        sessions = sessions.filter(user_tag_blind_index__in=_blind_indexes(filters[USER_TAG]))
    columns = list(SESSION_COLUMNS)
    if sort == "duration_sort":
        sessions = sessions.annotate(duration_sort=Coalesce(F("duration_ms"), Value(-1)))
        columns.append(sort)
    sign = "-" if descending else ""
    # Annotated: django-stubs types ``.values()`` only for literal field names.
    rows: SessionRows = sessions.order_by(f"{sign}{sort}", f"{sign}id").values(*columns)
    return rows


def _ordering(policy: FieldsetPolicy, value: object, scope: list[int]) -> tuple[str, bool]:
    name = value.removeprefix("-") if isinstance(value, str) else ""
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


def _blind_indexes(value: object) -> list[str]:
    return user_tags.blind_index_candidates_for(normalised_search_tag(value))


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
