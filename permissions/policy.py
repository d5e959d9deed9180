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
query (``permissions.selectors.principal_snapshot``) and cached on the
instance only, so a revocation takes effect on the next request.

Rule (fail closed): a path is hidden for an application when *any* fieldset
containing it is not granted there, and with it every path it can be
recomputed from (``fieldsets.registry.closure``); paths in no fieldset are
visible to every reader of the application.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied

from fieldsets.registry import (
    ACTION,
    LOG,
    RECORD_TYPES,
    SESSION,
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
    """What one response revealed: sessions, log records, their applications, and fieldsets."""

    session_ids: list[int] = field(default_factory=list)
    applications: set[str] = field(default_factory=set)  # slugs
    fieldsets: set[str] = field(default_factory=set)
    log_ids: list[int] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.session_ids or self.log_ids)

    def add(
        self,
        *,
        session_id: int | None,
        application: str,
        fieldsets: Iterable[str],
        log_id: int | None = None,
    ) -> None:
        if session_id is not None and session_id not in self.session_ids:
            self.session_ids.append(session_id)
        if log_id is not None and log_id not in self.log_ids:
            self.log_ids.append(log_id)
        self.applications.add(application)
        self.fieldsets.update(fieldsets)


# (field, key of an open object or None) in output order.
_Hidden = tuple[tuple[Field, str | None], ...]


@dataclass(frozen=True)
class _Plan:
    """Precomputed per application, so masking does no set algebra per row."""

    hidden: frozenset[str]  # registry paths, closed under derivation
    # Per record type (by name): its hidden fields and keys, in output order.
    fields: Mapping[str, _Hidden]
    # Record types whose collection path ("actions", "logs") is hidden: the records themselves.
    collections_hidden: frozenset[str]
    # (fieldset, its visible paths) of granted fieldsets, for the disclosure
    revealed: tuple[tuple[str, tuple[Path, ...]], ...]


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


def _value_at(values: Mapping[str, Any], path: Path) -> Any:
    if path.field is None:
        return None
    value = values.get(path.field.name)
    if path.key is None:
        return value
    return value.get(path.key) if isinstance(value, dict) else None


class FieldsetPolicy:
    def __init__(self, *, user: AbstractBaseUser | AnonymousUser) -> None:
        self.user = user
        self.is_superuser = bool(user.is_active and getattr(user, "is_superuser", False))
        self._loaded = False
        self._plans: dict[int, _Plan] = {}
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
            user=self.user, with_grants=not self.is_superuser
        )
        self._fieldsets = snapshot.fieldsets
        self._everywhere = {permission_id for permission_id, _ in snapshot.everywhere}
        self._per_application = {(pid, app_id) for pid, _, app_id in snapshot.per_application}
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

    def _plan(self, application_id: int) -> _Plan:
        plan = self._plans.get(application_id)
        if plan is None:
            self._load()
            granted = {name for name, _ in self.fieldsets if self.holds(name, application_id)}
            hidden = closure(
                f for name, fields in self.fieldsets if name not in granted for f in fields
            )
            revealed = []
            for name, fields in self.fieldsets:
                if name not in granted:
                    continue
                visible = tuple(
                    p for f in fields if (p := resolve(f)) is not None and not p.covered_by(hidden)
                )
                if visible:
                    revealed.append((name, visible))
            plan = _Plan(
                hidden=hidden,
                fields={record.name: _hidden_of(record, hidden) for record in RECORD_TYPES},
                collections_hidden=frozenset(
                    record.name for record in RECORD_TYPES if record.collection_path in hidden
                ),
                revealed=tuple(revealed),
            )
            self._plans[application_id] = plan
        return plan

    def hidden_fields(self, application_id: int) -> frozenset[str]:
        """Paths masked for this application (every fieldset path if it is not readable)."""
        if not self.can_read(application_id):
            return closure(f for _, fields in self.fieldsets for f in fields)
        return self._plan(application_id).hidden

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
            hidden = self.hidden_fields(application_id)
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

    def mask_session(
        self, row: Row, disclosure: Disclosure | None = None
    ) -> tuple[dict[str, Any], list[str]]:
        """One session's output values (Python types, registry order) and its masked names.

        A hidden field is ``None`` and listed in ``masked_fields`` only if it
        had data; an open object's hidden key keeps its key with ``None``. The
        user tag is decrypted only when it is revealed.
        """
        application = self._application(row["application_id"])
        plan = self._plan(application.id)
        values = _copy(SESSION, row)
        values["application"] = application.slug
        encrypted = row["user_tag_encrypted"]
        if values["user_tag"] is None and encrypted is not None:
            values["user_tag"] = _ENCRYPTED  # there is a tag, in its encrypted form
        masked = _mask(values, plan.fields[SESSION.name])
        if values["user_tag"] is _ENCRYPTED:
            values["user_tag"] = self._decrypt(encrypted, row["id"], application.id)
        if disclosure is not None and plan.revealed:
            _record(values, SESSION, plan, disclosure, application.slug, session_id=row["id"])
        return values, masked

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
    ) -> list[tuple[dict[str, Any], list[str]]] | None:
        """The session's actions masked like the session; ``None`` if the actions are hidden."""
        return self.mask_children(ACTION, rows, session=session, disclosure=disclosure)

    def mask_children(
        self,
        record: RecordType,
        rows: Sequence[Row],
        *,
        session: Row,
        disclosure: Disclosure | None = None,
    ) -> list[tuple[dict[str, Any], list[str]]] | None:
        """Records of a session's collection (actions, logs) masked under its application.

        ``None`` if the collection itself is hidden there.
        """
        application = self._application(session["application_id"])
        plan = self._plan(application.id)
        if record.name in plan.collections_hidden:
            return None
        return [
            self._mask_record(record, row, application, plan, disclosure, session["id"])
            for row in rows
        ]

    def mask_logs(
        self, rows: Sequence[Row], disclosure: Disclosure | None = None
    ) -> list[tuple[dict[str, Any], list[str]] | None]:
        """Log records of any readable applications, each masked under its own.

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

    @staticmethod
    def _decrypt(value: str, session_pk: int, application_id: int) -> str | None:
        try:
            return user_tags.decrypt(value, application_id=application_id)
        except (ValueError, KeyError):
            # Never log the value; a wrong or retired key shows as "no data".
            logger.warning("user tag of session %s could not be decrypted", session_pk)
            return None


def _copy(record: RecordType, row: Row) -> dict[str, Any]:
    return {f.name: row[f.storage] for f in record.fields if f.storage is not None}


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
    """Note the granted fieldsets whose visible paths held data in this record."""
    revealed = [
        name
        for name, paths in plan.revealed
        if any(
            p.record is record and (p.field is None or _has_data(_value_at(values, p)))
            for p in paths
        )
    ]
    if revealed:
        disclosure.add(
            session_id=session_id, application=application, fieldsets=revealed, log_id=log_id
        )
