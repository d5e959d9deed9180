"""Audit records: one per response that revealed fieldset values (also in partial forms),
one per user-tag search, one per change of privacy settings, grants, fieldsets or
masking rules, and one per re-masking and per step of a data-subject request, key
rotation or retention run. A reveal inside a reveal window carries the window's reason.

Callers write the record *before* returning the response, so a failed audit
write fails the request instead of revealing data unrecorded. A searched
customer is named only by a per-subject keyed value (``permissions.subjects``):
never the tag, no blind index (so no record can be replayed as a search), and
unlinkable once the customer is erased. Every record is appended to the hash
chain (``permissions.chain``).
"""

from __future__ import annotations

import getpass
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest

from permissions import subjects
from permissions.models import AuditKind, AuditRecord
from permissions.policy import Disclosure
from sessions_app.user_tags import CustomerSearch


@dataclass(frozen=True, kw_only=True)
class Actor:
    """Who changed something, and through which door: a request, or a management command."""

    username: str
    method: str  # the HTTP method, or COMMAND
    path: str  # request.path (never the query string), or "manage.py <command>"

    @classmethod
    def of(cls, request: HttpRequest) -> Actor:
        return cls(
            username=request.user.get_username(),
            method=request_method(request),
            path=request.path,
        )


COMMAND_METHOD = "COMMAND"
CODE_METHOD = "CODE"


def operator() -> str:
    """The operating-system account running a command: the audit record's "who"."""
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no login name and no passwd entry (some containers)
        return "unknown"


def command_actor(command: str) -> Actor:
    return Actor(username=operator(), method=COMMAND_METHOD, path=f"manage.py {command}")


# Who is acting, for records written where no request is at hand (signals on
# grants and fieldsets): set per request by ``ActorMiddleware``, per command
# with ``acting_as``. Without either, the record names the process's account.
_acting: ContextVar[Actor | HttpRequest | None] = ContextVar("rumvault_actor", default=None)


@contextmanager
def acting_as(actor: Actor | HttpRequest) -> Iterator[None]:
    token = _acting.set(actor)
    try:
        yield
    finally:
        _acting.reset(token)


def current_actor() -> Actor:
    acting = _acting.get()
    if isinstance(acting, HttpRequest):
        # Resolved now, not when the request came in: DRF authenticates in the view.
        return Actor.of(acting)
    if acting is not None:
        return acting
    return Actor(username=operator(), method=CODE_METHOD, path="")


class ActorMiddleware:
    """Makes the request the current actor for records written outside a view's reach."""

    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> Any:
        with acting_as(request):
            return self.get_response(request)


def audit_reveal(
    *, actor: Actor, disclosure: Disclosure, kind: AuditKind = AuditKind.REVEAL
) -> AuditRecord | None:
    """Record what ``disclosure`` collected; nothing revealed, no record."""
    if not disclosure:
        return None
    return AuditRecord.objects.create(
        username=actor.username,
        kind=kind,
        method=actor.method,
        path=actor.path,
        applications=sorted(disclosure.applications),
        session_ids=list(disclosure.session_ids),
        log_ids=list(disclosure.log_ids),
        fieldsets=sorted(disclosure.fieldsets),
        partial_fieldsets=sorted(disclosure.partial_fieldsets),
        reason=disclosure.reason,
    )


def audit_search(
    *,
    actor: Actor,
    search: CustomerSearch,
    applications: Iterable[str],
    session_ids: Iterable[int],
    disclosure: Disclosure,
    kind: AuditKind = AuditKind.SEARCH,
) -> AuditRecord:
    """Record a user-tag search: where it looked, what it found, and what it revealed.

    ``applications`` is the search's scope (the slugs it looked in), so a search
    that found nothing is still attributable; ``session_ids`` are the sessions
    returned; ``fieldsets`` are those whose values the response revealed.
    """
    return AuditRecord.objects.create(
        username=actor.username,
        kind=kind,
        method=actor.method,
        path=actor.path,
        applications=sorted(applications),
        session_ids=list(session_ids),
        fieldsets=sorted(disclosure.fieldsets),
        partial_fieldsets=sorted(disclosure.partial_fieldsets),
        search_tag_hash=subjects.search_value(search.audit_hash),
    )


def audit_settings_change(
    *,
    actor: Actor,
    application: str,
    before: Mapping[str, Any],
    after: Mapping[str, Any],
) -> AuditRecord:
    """Record a privacy-settings change of ``application`` (slug): the old and new values.

    Privacy settings are configuration (masking modes, retention, property
    *names*), never personal data, so they are stored as they are.
    """
    return AuditRecord.objects.create(
        username=actor.username,
        kind=AuditKind.SETTINGS_CHANGE,
        method=actor.method,
        path=actor.path,
        applications=[application],
        changes={"before": dict(before), "after": dict(after)},
    )


def audit_rules_change(
    *,
    actor: Actor,
    before: Mapping[str, Any] | None,
    after: Mapping[str, Any] | None,
) -> AuditRecord:
    """Record a masking-rule change: the rule before and after (None: created / deleted).

    The record's applications are the rule's (before and after); an
    environment-wide rule has none. Rules are configuration (selectors,
    patterns, fixed replacement texts), not personal data.
    """
    slugs = {rule["application"] for rule in (before, after) if rule is not None}
    return audit_event(
        actor=actor,
        kind=AuditKind.RULES_CHANGE,
        applications=[slug for slug in slugs if slug is not None],
        changes={
            "before": None if before is None else dict(before),
            "after": None if after is None else dict(after),
        },
    )


def audit_remask(
    *, actor: Actor, applications: Iterable[str], counts: Mapping[str, Any]
) -> AuditRecord:
    """Record a re-masking of stored data: where, and how many values each rule changed."""
    return audit_event(
        actor=actor,
        kind=AuditKind.REMASK,
        applications=applications,
        changes={"counts": dict(counts)},
    )


def audit_event(
    *,
    actor: Actor,
    kind: AuditKind,
    changes: Mapping[str, Any],
    applications: Iterable[str] = (),
    session_ids: Iterable[int] = (),
    fieldsets: Iterable[str] = (),
    subject: str | None = None,
) -> AuditRecord:
    """Record a change or an operation: grants, fieldsets, requests, rotations, retention.

    ``changes`` holds configuration, names and counts, never personal data;
    ``subject`` is a customer's per-subject value (``permissions.subjects``).
    """
    return AuditRecord.objects.create(
        username=actor.username,
        kind=kind,
        method=actor.method,
        path=actor.path[:2048],
        applications=sorted(set(applications)),
        session_ids=list(session_ids),
        fieldsets=sorted(set(fieldsets)),
        search_tag_hash=subject,
        changes=dict(changes),
    )


def request_method(request: HttpRequest) -> str:
    """The HTTP method to record for ``request``.

    A served request always has one; only a hand-built ``HttpRequest()`` has
    ``None``, and a record must not claim a method that was never used.
    """
    if request.method is None:
        raise ValueError("an audited request needs an HTTP method")
    return request.method
