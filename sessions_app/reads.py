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
from functools import cached_property, wraps
from typing import Any, Concatenate, ParamSpec, TypeVar

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.db.models import Model
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.functional import SimpleLazyObject

from config.prepared import prepared_statements
from config.replica import allow_replica_reads
from fieldsets.registry import ACTION, LOG, RecordType
from logs import selectors as log_selectors
from logs.queries import LogQuery
from logs.selectors import LogRows
from permissions.audit import Actor, audit_reveal, audit_search
from permissions.models import AuditKind, RevealWindow
from permissions.policy import Disclosure, FieldsetPolicy
from permissions.services import reveal_window_open
from sessions_app import selectors
from sessions_app.queries import SessionQuery, application_scope
from sessions_app.selectors import SessionRows
from sessions_app.summaries import listed_summary
from sessions_app.user_tags import CustomerSearch

Values = dict[str, Any]


@dataclass(frozen=True)
class Masked:
    """One record as a reader may see it: values by registry name, and what was masked.

    ``partial`` names the fields shown in their partial forms (also in
    ``masked``); ``summary`` is a session's masked summary, when asked for.
    """

    values: Values
    masked: list[str]
    partial: list[str] = field(default_factory=list)
    summary: dict[str, Any] | None = None


@dataclass(frozen=True)
class MaskedSession(Masked):
    # None: the actions were not asked for, or are hidden (then "actions" is in ``masked``).
    actions: list[Masked] | None = field(default=None)
    # The same for the session's log records ("logs").
    logs: list[Masked] | None = field(default=None)


P = ParamSpec("P")
R = TypeVar("R")


def replica_read(
    method: Callable[Concatenate[Reader, P], R],
) -> Callable[Concatenate[Reader, P], R]:
    """A read the replica may serve (with one configured; ``config.replica``): the
    sessions, actions and log records it reads, and the request's later reads of them
    until it writes. The policy's grants are loaded first, so they are always the primary's."""

    @wraps(method)
    def read(self: Reader, /, *args: P.args, **kwargs: P.kwargs) -> R:
        self.policy.applications  # noqa: B018 (loads the grants, before reads may leave)
        allow_replica_reads()
        return method(self, *args, **kwargs)

    return read


def row_of(instance: Model, record: RecordType) -> dict[str, Any]:
    """A model instance as the row the policy masks (for the admin, which holds instances)."""
    return {column: getattr(instance, column) for column in record.columns}


class Reader:
    def __init__(
        self,
        *,
        user: AbstractBaseUser | AnonymousUser,
        actor: Actor,
        policy_generation: int | None = None,
    ) -> None:
        self.user = user
        self.actor = actor
        self.policy_generation = policy_generation

    @classmethod
    def for_request(cls, request: HttpRequest) -> Reader:
        # An API token's query read the policy generation too (``access.authentication``).
        token = getattr(request, "auth", None)
        return cls(
            user=request.user,
            actor=Actor.of(request),
            policy_generation=getattr(token, "policy_generation", None),
        )

    @cached_property
    def policy(self) -> FieldsetPolicy:
        return FieldsetPolicy(user=self.user, policy_generation=self.policy_generation)

    # --- reads (rows not yet masked) -------------------------------------------
    @replica_read
    def sessions(self, query: SessionQuery) -> SessionRows:
        return selectors.session_list(policy=self.policy, query=query)

    @replica_read
    def customer_sessions(self, search: CustomerSearch, query: SessionQuery) -> SessionRows:
        return selectors.customer_sessions(policy=self.policy, search=search, query=query)

    @replica_read
    def sessions_with_failed_action(
        self, query: SessionQuery, *, error_message: str, name: str
    ) -> SessionRows:
        return selectors.sessions_with_failed_action(
            policy=self.policy, query=query, error_message=error_message, name=name
        )

    def session(self, pk: int) -> dict[str, Any]:
        return selectors.session_get(policy=self.policy, pk=pk)

    @replica_read
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
        summaries: bool = False,
    ) -> list[Masked]:
        """A page of sessions, masked; one audit record for the page.

        A customer search is always recorded (where it looked, what it found),
        even when it revealed nothing; any other page only when it revealed
        fieldset values. ``export`` marks CSV downloads. ``summaries`` adds
        each session's triage summary (one query for the whole page). Lists
        never use reveal windows: a window shows one session, read as such.
        """
        disclosure = Disclosure()
        rows = list(rows)
        page = [
            self._present(row, disclosure, listed_summary(row) if summaries else None)
            for row in rows
        ]
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

    def _present(
        self,
        row: Mapping[str, Any],
        disclosure: Disclosure,
        summary: Mapping[str, Any] | None,
        *,
        windowed: bool = False,
    ) -> Masked:
        values, masked, partial = self.policy.mask_session_parts(row, disclosure, windowed=windowed)
        shown_summary = None
        if summary is not None:
            shown_summary, summary_masked = self.policy.mask_summary(
                summary, session=row, disclosure=disclosure, windowed=windowed
            )
            masked.extend(summary_masked)
        return Masked(values, masked, partial, shown_summary)

    def present_session(
        self,
        row: Mapping[str, Any],
        *,
        actions: Sequence[Mapping[str, Any]] | None = None,
        logs: Sequence[Mapping[str, Any]] | None = None,
        summary: bool = False,
    ) -> MaskedSession:
        """One session (with its actions and log records, if given) masked; audited if it
        revealed anything. A hidden collection is ``None`` and named in ``masked``.

        A read of one session: the principal's open reveal window on it applies,
        and the audit record carries the window's reason.
        """
        disclosure = Disclosure()
        raw = listed_summary(row) if summary else None
        item = self._present(row, disclosure, raw, windowed=True)
        masked = item.masked
        shown: dict[str, list[Masked] | None] = {}
        for name, record, rows in (("actions", ACTION, actions), ("logs", LOG, logs)):
            if rows is None:
                shown[name] = None
                continue
            children = self.policy.mask_children(
                record, rows, session=row, disclosure=disclosure, windowed=True
            )
            if children is None:
                # Named even when there are none: an empty list would be a value
                # (action_count = 0), unlike a null field, which holds nothing.
                masked.append(name)
            shown[name] = None if children is None else [Masked(*pair) for pair in children]
        audit_reveal(actor=self.actor, disclosure=disclosure)
        return MaskedSession(
            item.values,
            masked,
            item.partial,
            item.summary,
            actions=shown["actions"],
            logs=shown["logs"],
        )

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

    @replica_read
    def session_with_actions(self, pk: int) -> MaskedSession:
        """The detail of every read path: one readable session, its summary, actions and log
        records, masked."""
        # Keys only (the session's id, the readable applications): one plan serves all.
        with prepared_statements():
            row = selectors.session_get(
                policy=self.policy,
                pk=pk,
                annotations={
                    log_selectors.HAS_LOG_CANDIDATES: log_selectors.log_candidates_exist()
                },
            )
            actions = selectors.action_list(session=row)
            logs = log_selectors.session_logs(session=row, actions=actions)
        return self.present_session(row, actions=actions, logs=logs, summary=True)

    def reveal(self, pk: int, *, reason: str) -> tuple[RevealWindow, MaskedSession]:
        """Open a reveal window on one readable session; the window and the session, revealed.

        The answer is audited with the (masked) reason. See ``open_window``.
        """
        window = self.open_window(pk, reason=reason)
        return window, self.session_with_actions(pk)

    def open_window(self, pk: int, *, reason: str) -> RevealWindow:
        """Open a reveal window on one readable session with ``reason`` (reads nothing out).

        A session the principal cannot read is a 404 like on every path. Raises
        ``ValidationError`` (no or bad reason), ``RevealNotRequired`` (the
        application shows held fieldsets without a reveal) or
        ``NothingToReveal`` (no held fieldset to show) before anything is stored.
        """
        row = self.session(pk)
        application_id = row["application_id"]
        if not isinstance(self.user, AbstractBaseUser):  # anonymous: no grants, nothing read
            raise Http404
        window = reveal_window_open(
            user=self.user,
            application_id=application_id,
            session_pk=row["id"],
            reason=reason,
            required=self.policy.requires_reason(application_id),
            revealable=bool(self.policy.revealable_fields(application_id)),
        )
        self.policy.note_window(
            session_id=row["id"], application_id=application_id, reason=window.reason
        )
        return window


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
