"""FieldsetPolicy: the one place that decides what a principal may read and see.

Build one per request (the read layer does: ``sessions_app.reads.Reader``) and ask it:

* record access: ``applications`` / ``can_read(app_id)`` / ``reads_all_applications``;
* masking: ``hidden_fields(app_id)``, ``mask_session(row)``, ``mask_actions(rows, ...)``,
  ``mask_logs(rows)``; one plan per application covers every record type of the
  registry (``fieldsets.registry.RECORD_TYPES``);
* lookups: ``check_lookup(path, app_ids)`` before any filter, ordering or search.

Rows are the read layer's ``.values()`` dicts (the registry's ``columns``).
``HiddenFieldLookup`` is a Django ``PermissionDenied`` (403 in plain Django
views) that names the field. A ``Disclosure`` passed to the mask functions
collects what was revealed, for ``permissions.audit``.

Fieldsets, applications and the principal's grants are loaded lazily in one
query (``permissions.selectors.principal_snapshot``, kept per process while
the policy generation stands), so a revocation takes effect on the next request.

Rule (fail closed): each fieldset has a *level* per application - full
(``reveal_<name>`` held), partial (only ``partial_reveal_<name>`` held) or none -
and a path gets the lowest level of the fieldsets containing it: shown when
every one is full, shown in its partial form (``fieldsets.registry``'s
``partial``) when the lowest is partial and the field has one, hidden
otherwise; with it every path it can be recomputed from is hidden
(``fieldsets.registry.closure``). Paths in no fieldset are visible to every
reader of the application. Where the application sets
``reveal_requires_reason``, a full grant counts as partial (if the partial
grant is also held) or none, except on the one session of an open reveal
window, read as that session (``windowed=True``); lists never use windows.
Lookups (filters, ordering, search keys) need the full level without any window.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import IntEnum
from functools import cached_property
from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied

from fieldsets.models import partial_codename
from fieldsets.registry import (
    ACTION,
    LOG,
    RECORD_TYPES,
    SESSION,
    SUMMARY,
    Digest,
    Field,
    Path,
    RecordType,
    closure,
    resolve,
)
from permissions.models import READ_SESSIONS
from permissions.selectors import PrincipalSnapshot, principal_snapshot
from sessions_app import user_tags

logger = logging.getLogger(__name__)

Row = Mapping[str, Any]


class HiddenFieldLookup(PermissionDenied):
    """A filter, ordering or search on a field the principal cannot see (403)."""

    def __init__(self, field_name: str) -> None:
        self.field = field_name
        super().__init__(
            f"Filtering, ordering or searching by '{field_name}' is not allowed: it belongs to "
            "a fieldset you do not hold for the requested application(s)."
        )


@dataclass(frozen=True)
class ApplicationRef:
    id: int
    slug: str
    name: str


@dataclass
class Disclosure:
    """What one response revealed: sessions, log records, their applications, and fieldsets.

    ``partial_fieldsets`` are those shown only in partial forms; ``reason`` is
    the reason of the reveal window that let gated values through (a window
    belongs to one session, and only a one-session read uses it).
    """

    session_ids: list[int] = field(default_factory=list)
    applications: set[str] = field(default_factory=set)  # slugs
    fieldsets: set[str] = field(default_factory=set)
    partial_fieldsets: set[str] = field(default_factory=set)
    reason: str | None = None
    log_ids: list[int] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.session_ids or self.log_ids)

    def add(
        self,
        *,
        session_id: int | None,
        application: str,
        fieldsets: Iterable[str],
        partial_fieldsets: Iterable[str] = (),
        log_id: int | None = None,
    ) -> None:
        if session_id is not None and session_id not in self.session_ids:
            self.session_ids.append(session_id)
        if log_id is not None and log_id not in self.log_ids:
            self.log_ids.append(log_id)
        self.applications.add(application)
        self.fieldsets.update(fieldsets)
        self.partial_fieldsets.update(partial_fieldsets)


class Level(IntEnum):
    """How much of a fieldset a principal sees on one application (or one session)."""

    NONE = 0
    PARTIAL = 1
    FULL = 2


# (field, key of an open object or None) in output order.
_Hidden = tuple[tuple[Field, str | None], ...]
# (field, its partial form) in output order.
_Partial = tuple[tuple[Field, Callable[[Any], Any]], ...]


@dataclass(frozen=True)
class _Plan:
    """Precomputed per application (and window), so masking does no set algebra per row."""

    hidden: frozenset[str]  # registry paths, closed under derivation
    partial: frozenset[str]  # registry paths shown in their partial form
    # Per record type (by name): its hidden fields and keys, in output order.
    fields: Mapping[str, _Hidden]
    # Record types whose collection path ("actions", "logs") is hidden: the records themselves.
    collections_hidden: frozenset[str]
    session_partial: _Partial
    # (fieldset, its visible paths) of fully granted fieldsets, for the disclosure
    revealed: tuple[tuple[str, tuple[Path, ...]], ...]
    # (fieldset, its partially shown paths) of partially granted fieldsets
    partially_revealed: tuple[tuple[str, tuple[Path, ...]], ...]
    # fieldsets fully shown only thanks to a reveal window
    gated: frozenset[str]
    # summary digests shown at all (their paths in shown_with are fully visible)
    digests: tuple[Digest, ...]

    @cached_property
    def hidden_action_fields(self) -> frozenset[str]:
        """Action fields hidden whole (the summary's parts are masked like them)."""
        return frozenset(f.name for f, key in self.fields[ACTION.name] if key is None)

    @cached_property
    def hidden_digest_parts(self) -> Mapping[str, frozenset[str]]:
        """Per summary digest, the keys of its parts whose action fields are hidden."""
        hidden = self.hidden_action_fields
        return {
            digest.name: frozenset(key for key, field in digest.parts if field in hidden)
            for digest in SUMMARY
        }


# Stands in for a user tag stored only as ciphertext until the plan has decided.
_ENCRYPTED = object()


def _has_data(value: Any) -> bool:
    return value is not None and value != "" and value != {}


def _hidden_of(record: RecordType, hidden: frozenset[str]) -> _Hidden:
    """The record's hidden fields and keys, in output order (a key right after its field)."""
    paths = [p for text in hidden if (p := resolve(text)) is not None and p.record is record]
    order = {f.name: position for position, f in enumerate(record.fields)}
    paths.sort(key=lambda p: (order[p.field.name] if p.field else -1, p.key or ""))
    return tuple((p.field, p.key) for p in paths if p.field is not None)


def _partial_of(record: RecordType, partial: frozenset[str]) -> _Partial:
    """The record's fields shown in partial forms, in output order."""
    return tuple(
        (f, f.partial)
        for f in record.fields
        if f.partial is not None and record.path(f.name) in partial
    )


def _value_at(values: Mapping[str, Any], path: Path) -> Any:
    if path.field is None:
        return None
    value = values.get(path.field.name)
    if path.key is None:
        return value
    return value.get(path.key) if isinstance(value, dict) else None


class FieldsetPolicy:
    def __init__(
        self, *, user: AbstractBaseUser | AnonymousUser, policy_generation: int | None = None
    ) -> None:
        """``policy_generation``: the value this request already read (with its API token)."""
        self.user = user
        self._generation = policy_generation
        self.is_superuser = bool(user.is_active and getattr(user, "is_superuser", False))
        self._loaded = False
        self._plans: dict[tuple[int, bool, bool], _Plan] = {}
        self._list_plans: dict[int, tuple[ApplicationRef, _Plan]] = {}
        self._snapshot: PrincipalSnapshot | None = None

    @classmethod
    def for_grants(cls, snapshot: PrincipalSnapshot) -> FieldsetPolicy:
        """The policy of a principal (not a superuser) holding exactly ``snapshot``'s grants.

        For questions about many principals at once, read together in a few
        queries instead of one per principal: the impact preview of a fieldset
        change (``permissions.impact``) evaluates every principal before and
        after the change with the same rules as every request.
        """
        policy = cls(user=AnonymousUser())
        policy._snapshot = snapshot
        return policy

    def _load(self) -> None:
        if self._loaded:
            return
        # Superusers hold everything; their grant rows would change nothing.
        snapshot = self._snapshot or principal_snapshot(
            user=self.user, with_grants=not self.is_superuser, generation=self._generation
        )
        self._fieldsets = snapshot.fieldsets
        # Plans depend on the grants and on whether the user is a superuser only.
        self._plans = snapshot.plans
        self._everywhere = {permission_id for permission_id, _ in snapshot.everywhere}
        self._per_application = {(pid, app_id) for pid, _, app_id in snapshot.per_application}
        self._codes_everywhere = {codename for _, codename in snapshot.everywhere}
        self._codes_per_application = {(code, app) for _, code, app in snapshot.per_application}
        self._reason_required = snapshot.reason_required
        self._windows = dict(snapshot.windows)
        self._reads_all = self.is_superuser or any(
            codename == READ_SESSIONS for _, codename in snapshot.everywhere
        )
        readable = {app for _, code, app in snapshot.per_application if code == READ_SESSIONS}
        self._applications = {
            app_id: ApplicationRef(id=app_id, slug=slug, name=name)
            for app_id, slug, name in snapshot.applications
            if self._reads_all or app_id in readable
        }
        self._loaded = True

    # --- record access ------------------------------------------------------
    @property
    def reads_all_applications(self) -> bool:
        """Record access to every application (superuser or a global grant)."""
        self._load()
        return self._reads_all

    @property
    def applications(self) -> Mapping[int, ApplicationRef]:
        """Readable applications by id, in slug order."""
        self._load()
        return self._applications

    def can_read(self, application_id: int) -> bool:
        return application_id in self.applications

    def application_by_slug(self, slug: str) -> ApplicationRef | None:
        return next((app for app in self.applications.values() if app.slug == slug), None)

    # --- fieldsets ----------------------------------------------------------
    @property
    def fieldsets(self) -> tuple[tuple[str, tuple[str, ...]], ...]:
        """Every fieldset as (name, fields)."""
        self._load()
        return tuple((name, fields) for name, fields, _ in self._fieldsets)

    def holds_everywhere(self, fieldset_name: str) -> bool:
        self._load()
        return self.is_superuser or any(
            name == fieldset_name and pid in self._everywhere for name, _, pid in self._fieldsets
        )

    def holds(self, fieldset_name: str, application_id: int) -> bool:
        """Whether the fieldset is granted for the application (own, group or global grant)."""
        self._load()
        if not self.can_read(application_id):
            return False
        return self.is_superuser or any(
            name == fieldset_name
            and (pid in self._everywhere or (pid, application_id) in self._per_application)
            for name, _, pid in self._fieldsets
        )

    def holds_partially(self, fieldset_name: str, application_id: int) -> bool:
        """Whether the partial grant of the fieldset is held for the application."""
        self._load()
        if not self.can_read(application_id):
            return False
        code = partial_codename(fieldset_name)
        return (
            self.is_superuser
            or code in self._codes_everywhere
            or (code, application_id) in self._codes_per_application
        )

    def holds_partially_everywhere(self, fieldset_name: str) -> bool:
        self._load()
        return self.is_superuser or partial_codename(fieldset_name) in self._codes_everywhere

    def requires_reason(self, application_id: int) -> bool:
        """The application's ``reveal_requires_reason``."""
        self._load()
        return application_id in self._reason_required

    def window(self, session_id: int) -> str | None:
        """The reason of the principal's open reveal window on the session, if any."""
        self._load()
        entry = self._windows.get(session_id)
        return None if entry is None else entry[1]

    def note_window(self, *, session_id: int, application_id: int, reason: str) -> None:
        """A window opened during this request applies to the rest of it."""
        self._load()
        self._windows[session_id] = (application_id, reason)

    def level(self, fieldset_name: str, application_id: int, *, windowed: bool = False) -> Level:
        """What the principal sees of the fieldset there (``windowed``: in a reveal window)."""
        if self.holds(fieldset_name, application_id) and (
            windowed or not self.requires_reason(application_id)
        ):
            return Level.FULL
        if self.holds_partially(fieldset_name, application_id):
            return Level.PARTIAL
        return Level.NONE

    def _plan(self, application_id: int, *, windowed: bool = False) -> _Plan:
        self._load()
        # A window changes nothing where no reason is required: one plan for both.
        windowed = windowed and self.requires_reason(application_id)
        key = (application_id, windowed, self.is_superuser)
        plan = self._plans.get(key)
        if plan is None:
            plan = self._make_plan(application_id, windowed=windowed)
            self._plans[key] = plan
        return plan

    def _make_plan(self, application_id: int, *, windowed: bool) -> _Plan:
        self._load()
        levels = {
            name: self.level(name, application_id, windowed=windowed) for name, _ in self.fieldsets
        }
        # A path in a partially granted fieldset is a candidate for its partial
        # form if its field has one (a whole field, not a key of an object).
        candidates: set[str] = set()
        hidden_base: set[str] = set()
        for name, fields in self.fieldsets:
            for text in fields:
                if levels[name] is Level.NONE:
                    hidden_base.add(text)
                elif levels[name] is Level.PARTIAL:
                    path = resolve(text)
                    has_form = (
                        path is not None
                        and path.field is not None
                        and path.key is None
                        and path.field.partial is not None
                    )
                    (candidates if has_form else hidden_base).add(text)
        hidden_closed = closure(hidden_base)
        # Whatever a partial field can be recomputed from is hidden, like a hidden field's.
        sources = {s for c in candidates for s in closure([c]) if s != c}
        partial = frozenset(
            c for c in candidates if c not in sources and not _resolved(c).covered_by(hidden_closed)
        )
        hidden = closure(hidden_base | candidates) - partial
        revealed, partially_revealed = [], []
        for name, fields in self.fieldsets:
            paths = [p for f in fields if (p := resolve(f)) is not None]
            if levels[name] is Level.FULL:
                visible = tuple(p for p in paths if not p.covered_by(hidden | partial))
                if visible:
                    revealed.append((name, visible))
            elif levels[name] is Level.PARTIAL:
                shown = tuple(p for p in paths if p.text in partial)
                if shown:
                    partially_revealed.append((name, shown))
        gated: frozenset[str] = frozenset()
        if windowed:
            outside = self._plan(application_id, windowed=False)
            gated = frozenset(name for name, _ in revealed) - {n for n, _ in outside.revealed}
        not_full = hidden | partial
        return _Plan(
            hidden=hidden,
            partial=partial,
            fields={record.name: _hidden_of(record, hidden) for record in RECORD_TYPES},
            collections_hidden=frozenset(
                record.name for record in RECORD_TYPES if record.collection_path in hidden
            ),
            session_partial=_partial_of(SESSION, partial),
            revealed=tuple(revealed),
            partially_revealed=tuple(partially_revealed),
            gated=gated,
            digests=tuple(
                d
                for d in SUMMARY
                if not any(_resolved(p).covered_by(not_full) for p in d.shown_with)
            ),
        )

    def hidden_fields(self, application_id: int, *, windowed: bool = False) -> frozenset[str]:
        """Paths masked for this application (every fieldset path if it is not readable).

        Fields shown in a partial form are not in it (``partial_fields``).
        """
        if not self.can_read(application_id):
            return closure(f for _, fields in self.fieldsets for f in fields)
        return self._plan(application_id, windowed=windowed).hidden

    def partial_fields(self, application_id: int) -> frozenset[str]:
        """Paths shown in their partial forms for this application (outside any window)."""
        if not self.can_read(application_id):
            return frozenset()
        return self._plan(application_id).partial

    def revealable_fields(self, application_id: int) -> frozenset[str]:
        """Paths a reveal with a reason would show in full on this application's sessions."""
        if not self.can_read(application_id) or not self.requires_reason(application_id):
            return frozenset()
        outside = self._plan(application_id)
        inside = self._plan(application_id, windowed=True)
        return (outside.hidden | outside.partial) - (inside.hidden | inside.partial)

    def check_lookup(self, field_name: str, application_ids: Iterable[int] | None = None) -> None:
        """Raise ``HiddenFieldLookup`` if ``field_name`` is hidden in any of the applications.

        ``None`` means every readable application. Answering only from the
        applications where the field is visible would silently change the
        result, so one hidden application refuses the whole lookup. A lookup on
        an open object (``properties``) or a collection (``actions``) is refused
        when any part of it is hidden. A key hidden only because its whole
        object is (``properties.<anything>``) is refused naming the object: the
        key is whatever the caller typed, and refusals echo nothing typed.
        """
        path = resolve(field_name)
        if path is None:
            return
        ids = self.applications.keys() if application_ids is None else application_ids
        for application_id in ids:
            # A partial form is for looking at, never a key: refused like a hidden field.
            hidden = self.hidden_fields(application_id) | self.partial_fields(application_id)
            if path.covered_by(hidden) or (
                path.key is None and any(h.startswith(path.text + ".") for h in hidden)
            ):
                if path.key is not None and path.field is not None and path.text not in hidden:
                    raise HiddenFieldLookup(path.record.path(path.field.name))
                raise HiddenFieldLookup(field_name)

    # --- masking ------------------------------------------------------------
    def _application(self, application_id: int) -> ApplicationRef:
        self._load()
        application = self._applications.get(application_id)
        if application is None:  # the read layer never passes such rows; fail closed
            raise PermissionDenied("session of an application the principal cannot read")
        return application

    def _session_plan(self, row: Row, windowed: bool) -> tuple[ApplicationRef, _Plan, str | None]:
        """The session's application, plan, and the reason of the window the plan used."""
        if not windowed:  # a list's rows: one lookup per application, not two per row
            found = self._list_plans.get(row["application_id"])
            if found is None:
                application = self._application(row["application_id"])
                found = self._list_plans[application.id] = (application, self._plan(application.id))
            return found[0], found[1], None
        application = self._application(row["application_id"])
        reason = self.window(row["id"]) if windowed else None
        plan = self._plan(application.id, windowed=reason is not None)
        return application, plan, reason if plan.gated else None

    @staticmethod
    def _note_reason(disclosure: Disclosure | None, plan: _Plan, reason: str | None) -> None:
        # The window's reason goes on record only if it let something through.
        if disclosure is not None and reason is not None and disclosure.fieldsets & plan.gated:
            disclosure.reason = reason

    def mask_session(
        self, row: Row, disclosure: Disclosure | None = None
    ) -> tuple[dict[str, Any], list[str]]:
        """One session's output values (Python types, registry order) and its masked names."""
        values, masked, _ = self.mask_session_parts(row, disclosure)
        return values, masked

    def mask_session_parts(
        self, row: Row, disclosure: Disclosure | None = None, *, windowed: bool = False
    ) -> tuple[dict[str, Any], list[str], list[str]]:
        """One session's values (Python types, registry order), masked and partial names.

        A hidden field is ``None`` and listed in ``masked_fields`` only if it
        had data; an open object's hidden key keeps its key with ``None``. A
        field shown in its partial form is listed in both. The user tag is
        decrypted only when it is revealed or shown partially. ``windowed``:
        a read of this one session, where the principal's open reveal window
        on it (if any) applies.
        """
        application, plan, reason = self._session_plan(row, windowed)
        values = _copy(SESSION, row)
        values["application"] = application.slug
        encrypted = row["user_tag_encrypted"]
        if values["user_tag"] is None and encrypted is not None:
            values["user_tag"] = _ENCRYPTED  # there is a tag, in its encrypted form
        masked = _mask(values, plan.fields[SESSION.name])
        if values["user_tag"] is _ENCRYPTED:
            values["user_tag"] = self._decrypt(encrypted, row["id"], application.id)
        partial = _show_partially(values, plan.session_partial)
        masked.extend(name for name in partial if name not in masked)
        if disclosure is not None and (plan.revealed or plan.partially_revealed):
            _record(values, SESSION, plan, disclosure, application.slug, session_id=row["id"])
        self._note_reason(disclosure, plan, reason)
        return values, masked, partial

    def collection_hidden(self, record: RecordType, application_id: int) -> bool:
        """Whether the records of ``record`` (its collection path) are hidden there."""
        if not self.can_read(application_id):
            return True
        return record.name in self._plan(application_id).collections_hidden

    def mask_actions(
        self,
        rows: Sequence[Row],
        *,
        session: Row,
        disclosure: Disclosure | None = None,
        windowed: bool = False,
    ) -> list[tuple[dict[str, Any], list[str]]] | None:
        """The session's actions masked like the session; ``None`` if the actions are hidden."""
        return self.mask_children(
            ACTION, rows, session=session, disclosure=disclosure, windowed=windowed
        )

    def mask_children(
        self,
        record: RecordType,
        rows: Sequence[Row],
        *,
        session: Row,
        disclosure: Disclosure | None = None,
        windowed: bool = False,
    ) -> list[tuple[dict[str, Any], list[str]]] | None:
        """Records of a session's collection (actions, logs) masked under its application
        (and its reveal window, ``windowed`` as for ``mask_session_parts``).

        ``None`` if the collection itself is hidden there.
        """
        application, plan, reason = self._session_plan(session, windowed)
        if record.name in plan.collections_hidden:
            return None
        result = [
            self._mask_record(record, row, application, plan, disclosure, session["id"])
            for row in rows
        ]
        self._note_reason(disclosure, plan, reason)
        return result

    def mask_logs(
        self, rows: Sequence[Row], disclosure: Disclosure | None = None
    ) -> list[tuple[dict[str, Any], list[str]] | None]:
        """Log records of any readable applications, each masked under its own (no window:
        a list).

        A record whose application hides the log records themselves is ``None``.
        """
        result: list[tuple[dict[str, Any], list[str]] | None] = []
        for row in rows:
            application = self._application(row["application_id"])
            plan = self._plan(application.id)
            if LOG.name in plan.collections_hidden:
                result.append(None)
                continue
            result.append(
                self._mask_record(LOG, row, application, plan, disclosure, row["session_pk"])
            )
        return result

    def _mask_record(
        self,
        record: RecordType,
        row: Row,
        application: ApplicationRef,
        plan: _Plan,
        disclosure: Disclosure | None,
        session_id: int | None,
    ) -> tuple[dict[str, Any], list[str]]:
        values = _copy(record, row)
        if record.has("application"):
            values["application"] = application.slug
        masked = _mask(values, plan.fields[record.name])
        if disclosure is not None and plan.revealed:
            # A log record is audited by its own id (and its session's, if any).
            log_id = row["id"] if record is LOG else None
            _record(
                values, record, plan, disclosure, application.slug,
                session_id=session_id, log_id=log_id,
            )  # fmt: skip
        return values, masked

    def mask_summary(
        self,
        summary: Mapping[str, Any],
        *,
        session: Row,
        disclosure: Disclosure | None = None,
        windowed: bool = False,
    ) -> tuple[dict[str, Any], list[str]]:
        """A session's raw summary (``sessions_app.summaries``), masked.

        A digest whose ``shown_with`` paths are not all visible is ``None`` and
        named (``summary.first_failure``) whether it had data or not, so the
        name says nothing about the session. Each part is masked like its
        action field: ``None``, and named (``summary.first_failure.message``)
        if it had data. Products that look alike once masked are counted together.
        ``windowed`` as for ``mask_session_parts``.
        """
        application, plan, reason = self._session_plan(session, windowed)
        audited = disclosure is not None and bool(plan.revealed)
        values: dict[str, Any] = {}
        masked: list[str] = []
        for digest in SUMMARY:
            raw = summary.get(digest.name)
            if digest not in plan.digests:
                values[digest.name] = None
                masked.append(digest.path())
                continue
            hidden = plan.hidden_digest_parts[digest.name]
            if not hidden and not audited:
                # Nothing to mask or record: the raw entries are already what is shown.
                values[digest.name] = raw
                continue
            entries = raw if isinstance(raw, list) else [] if raw is None else [raw]
            out: list[dict[str, Any]] = []
            for entry in entries:
                item: dict[str, Any] = {}
                for key, _ in digest.parts:
                    value = entry.get(key)
                    if key in hidden:
                        if _has_data(value) and digest.path(key) not in masked:
                            masked.append(digest.path(key))
                        value = None
                    item[key] = value
                if "count" in entry:
                    same = next((o for o in out if _parts(o, digest) == _parts(item, digest)), None)
                    if same is not None:
                        same["count"] += entry["count"]
                        continue
                    item["count"] = entry["count"]
                out.append(item)
                if audited and disclosure is not None:
                    _record(
                        {field: entry.get(key) for key, field in digest.parts},
                        ACTION,
                        plan,
                        disclosure,
                        application.slug,
                        session_id=session["id"],
                    )
            values[digest.name] = out if isinstance(raw, list) else (out[0] if out else None)
        self._note_reason(disclosure, plan, reason)
        return values, masked

    @staticmethod
    def _decrypt(value: str, session_pk: int, application_id: int) -> str | None:
        try:
            return user_tags.decrypt(value, application_id=application_id)
        except (ValueError, KeyError):
            # Never log the value; a wrong or retired key shows as "no data".
            logger.warning("user tag of session %s could not be decrypted", session_pk)
            return None


def _resolved(text: str) -> Path:
    path = resolve(text)
    if path is None:
        raise LookupError(f"{text!r} names no field of the registry")
    return path


def _parts(item: Mapping[str, Any], digest: Digest) -> tuple[Any, ...]:
    return tuple(item.get(key) for key, _ in digest.parts)


def _show_partially(values: dict[str, Any], partial: _Partial) -> list[str]:
    """Replace values with their partial forms; the names of those that had data."""
    shown: list[str] = []
    for f, form in partial:
        value = values.get(f.name)
        if _has_data(value):
            values[f.name] = form(value)
            shown.append(f.name)
    return shown


def _copy(record: RecordType, row: Row) -> dict[str, Any]:
    return record.values_of(row)


def _mask(values: dict[str, Any], hidden: _Hidden) -> list[str]:
    masked: list[str] = []
    for f, key in hidden:
        if key is None:
            if _has_data(values.get(f.name)):
                masked.append(f.name)
            values[f.name] = None
        else:
            container = values.get(f.name)
            if isinstance(container, dict) and _has_data(container.get(key)):
                values[f.name] = {**container, key: None}
                masked.append(f"{f.name}.{key}")
    return masked


def _record(
    values: Mapping[str, Any],
    record: RecordType,
    plan: _Plan,
    disclosure: Disclosure,
    application: str,
    *,
    session_id: int | None,
    log_id: int | None = None,
) -> None:
    """Note the granted fieldsets whose visible (or partial) paths held data in this record."""

    def held(paths: tuple[Path, ...]) -> bool:
        return any(
            p.record is record and (p.field is None or _has_data(_value_at(values, p)))
            for p in paths
        )

    revealed = [name for name, paths in plan.revealed if held(paths)]
    partial = [name for name, paths in plan.partially_revealed if held(paths)]
    if revealed or partial:
        disclosure.add(
            session_id=session_id,
            application=application,
            fieldsets=revealed,
            partial_fieldsets=partial,
            log_id=log_id,
        )
