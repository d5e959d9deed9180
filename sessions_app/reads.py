"""The read layer: what one request may read, and the record of what it revealed.

Every read path (the API and its CSV export and browsable pages, the admin,
the dashboard) reads sessions through the request's ``Reader``
(``request.reader``, made lazily by ``ReaderMiddleware`` like
``request.user``): it owns the request's ``FieldsetPolicy``, runs the
selectors, masks what they return and writes the audit record, once per
response, before the values leave the server. No read path masks or audits by
itself, so none can forget to.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.db.models import Model
from django.http import HttpRequest, HttpResponse
from django.utils.functional import SimpleLazyObject

from fieldsets.registry import LOG, RecordType
from logs import selectors as log_selectors
from logs.queries import LogQuery
from logs.selectors import LogRows
from permissions.audit import Actor, audit_reveal, audit_search
from permissions.models import AuditKind
from permissions.policy import Disclosure, FieldsetPolicy
from sessions_app import selectors
from sessions_app.queries import SessionQuery, application_scope
from sessions_app.selectors import SessionRows
from sessions_app.user_tags import CustomerSearch

Values = dict[str, Any]


@dataclass(frozen=True)
class Masked:
    """One record as a reader may see it: values by registry name, and what was masked."""

    values: Values
    masked: list[str]


@dataclass(frozen=True)
class MaskedSession(Masked):
    # None: the actions were not asked for, or are hidden (then "actions" is in ``masked``).
    actions: list[Masked] | None = field(default=None)
    # The same for the session's log records ("logs").
    logs: list[Masked] | None = field(default=None)


def row_of(instance: Model, record: RecordType) -> dict[str, Any]:
    """A model instance as the row the policy masks (for the admin, which holds instances)."""
    return {column: getattr(instance, column) for column in record.columns}


class Reader:
    def __init__(self, *, user: AbstractBaseUser | AnonymousUser, actor: Actor) -> None:
        self.user = user
        self.actor = actor

    @classmethod
    def for_request(cls, request: HttpRequest) -> Reader:
        return cls(user=request.user, actor=Actor.of(request))

    @cached_property
    def policy(self) -> FieldsetPolicy:
        return FieldsetPolicy(user=self.user)

    # --- reads (rows not yet masked) -------------------------------------------
    def sessions(self, query: SessionQuery) -> SessionRows:
        return selectors.session_list(policy=self.policy, query=query)

    def customer_sessions(self, search: CustomerSearch, query: SessionQuery) -> SessionRows:
        return selectors.customer_sessions(policy=self.policy, search=search, query=query)

    def session(self, pk: int) -> dict[str, Any]:
        return selectors.session_get(policy=self.policy, pk=pk)

    def logs(self, query: LogQuery) -> LogRows:
        return log_selectors.log_list(policy=self.policy, query=query)

    # --- what leaves the server: masked, and audited --------------------------------
    def present_sessions(
        self,
        rows: Iterable[Mapping[str, Any]],
        *,
        search: CustomerSearch | None = None,
        query: SessionQuery | None = None,
        export: bool = False,
    ) -> list[Masked]:
        """A page of sessions, masked; one audit record for the page.

        A customer search is always recorded (where it looked, what it found),
        even when it revealed nothing; any other page only when it revealed
        fieldset values. ``export`` marks CSV downloads.
        """
        disclosure = Disclosure()
        mask = self.policy.mask_session
        page = [Masked(*mask(row, disclosure)) for row in rows]
        if search is not None:
            scope = application_scope(self.policy, query.application if query else None)
            audit_search(
                actor=self.actor,
                search=search,
                applications=[self.policy.applications[app_id].slug for app_id in scope],
                session_ids=[item.values["id"] for item in page],
                disclosure=disclosure,
                kind=AuditKind.EXPORT if export else AuditKind.SEARCH,
            )
        else:
            audit_reveal(
                actor=self.actor,
                disclosure=disclosure,
                kind=AuditKind.EXPORT if export else AuditKind.REVEAL,
            )
        return page

    def present_session(
        self,
        row: Mapping[str, Any],
        *,
        actions: Sequence[Mapping[str, Any]] | None = None,
        logs: Sequence[Mapping[str, Any]] | None = None,
    ) -> MaskedSession:
        """One session (with its actions and log records, if given) masked; audited if it
        revealed anything. A hidden collection is ``None`` and named in ``masked`` if it
        had records."""
        disclosure = Disclosure()
        values, masked = self.policy.mask_session(row, disclosure)
        shown: dict[str, list[Masked] | None] = {}
        for name, record, rows in (("actions", None, actions), ("logs", LOG, logs)):
            if rows is None:
                shown[name] = None
                continue
            children = (
                self.policy.mask_actions(rows, session=row, disclosure=disclosure)
                if record is None
                else self.policy.mask_children(record, rows, session=row, disclosure=disclosure)
            )
            if children is None:
                # Named even when there are none: an empty list would be a value
                # (action_count = 0), unlike a null field, which holds nothing.
                masked.append(name)
            shown[name] = None if children is None else [Masked(*item) for item in children]
        audit_reveal(actor=self.actor, disclosure=disclosure)
        return MaskedSession(values, masked, shown["actions"], shown["logs"])

    def present_logs(
        self, rows: Iterable[Mapping[str, Any]], *, export: bool = False
    ) -> list[Masked | None]:
        """Log records of any readable applications, masked; one audit record for the page.

        A record of an application that hides log records as a whole is ``None``
        (the list's query never reads those; the admin may).
        """
        disclosure = Disclosure()
        masked = self.policy.mask_logs(list(rows), disclosure)
        audit_reveal(
            actor=self.actor,
            disclosure=disclosure,
            kind=AuditKind.EXPORT if export else AuditKind.REVEAL,
        )
        return [None if item is None else Masked(*item) for item in masked]

    def present_actions(
        self, pairs: Sequence[tuple[Mapping[str, Any], Mapping[str, Any]]]
    ) -> list[Masked | None]:
        """Actions of any sessions, each masked under its session's application; one audit.

        ``pairs`` are (session row, action row); an action whose session's
        actions are hidden comes back as ``None``.
        """
        disclosure = Disclosure()
        result: list[Masked | None] = []
        for session, action in pairs:
            masked = self.policy.mask_actions([action], session=session, disclosure=disclosure)
            result.append(None if masked is None else Masked(*masked[0]))
        audit_reveal(actor=self.actor, disclosure=disclosure)
        return result

    def session_with_actions(self, pk: int) -> MaskedSession:
        """The detail of every read path: one readable session, its actions and log records,
        masked."""
        row = self.session(pk)
        return self.present_session(
            row,
            actions=selectors.action_list(session=row),
            logs=log_selectors.session_logs(session=row),
        )


def reader(request: HttpRequest) -> Reader:
    """The request's reader (``request.reader`` where the middleware runs)."""
    existing = request.__dict__.get("reader")
    if existing is not None:
        return existing  # type: ignore[no-any-return]
    made = Reader.for_request(request)
    request.reader = made  # type: ignore[attr-defined]
    return made


class ReaderMiddleware:
    """``request.reader``, built on first use, so it sees the user DRF authenticates.

    Like ``request.user`` it is lazy: a request that reads nothing never loads
    grants, and one that does loads them once (a revocation applies to the
    next request, never halfway through one).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.reader = SimpleLazyObject(lambda: Reader.for_request(request))  # type: ignore[attr-defined]
        return self.get_response(request)
