"""FieldsetPolicy: the one place that decides what a principal may read and see.

Build one per request (``FieldsetPolicy(user=request.user)``) and ask it:

* record access: ``applications`` / ``can_read(app_id)`` / ``reads_all_applications``;
* masking: ``hidden_fields(app_id)``, ``mask(session, disclosure)``;
* lookups: ``check_lookup(field, app_ids)`` before any filter, ordering or search.

Entry points for every read path: the REST API and its CSV export
(``sessions_app.api``), the Django admin (``sessions_app.admin``) and the
help-desk dashboard (``dashboard``). They pass rows (``.values(*SESSION_COLUMNS)``
dicts or ``UserSession`` instances) through ``mask`` and call ``check_lookup``
for each field a user filters, orders or searches by; ``HiddenFieldLookup`` is
a Django ``PermissionDenied`` (403 in plain Django views) that names the field.
A ``Disclosure`` passed to ``mask`` collects what was revealed, for
``permissions.audit.audit_reveal``.

Fieldsets, applications and the principal's grants are loaded lazily in one
query (``permissions.selectors.principal_snapshot``) and cached on the
instance only, so a revocation takes effect on the next request.

Rule (docs/permissions.md, fail closed): a field is hidden for an application when
*any* fieldset containing it is not granted there; fields in no fieldset are
visible to every reader of the application.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied

from fieldsets.registry import SESSION_FIELDS, is_property_field, property_key
from permissions.models import READ_SESSIONS
from permissions.selectors import principal_snapshot
from sessions_app import user_tags

logger = logging.getLogger(__name__)

# The UserSession columns ``mask`` reads (selectors fetch exactly these).
SESSION_COLUMNS: tuple[str, ...] = (
    "id", "application_id", "session_id", "started_at", "ended_at", "duration_ms", "user_id",
    "user_tag", "user_tag_encrypted", "client_ip", "geo_latitude", "geo_longitude", "country",
    "city", "browser", "os", "device", "properties", "action_count", "error_count", "converted",
    "revenue",
)  # fmt: skip
# Output order of a session (README "Reading API"); ``masked_fields`` follows.
_COPIED = tuple(
    name for name in SESSION_COLUMNS if name not in ("id", "application_id", "user_tag_encrypted")
)
_FIELD_ORDER = {name: position for position, name in enumerate(SESSION_FIELDS)}


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
    """What one response revealed: sessions, their applications, and fieldsets."""

    session_ids: list[int] = field(default_factory=list)
    applications: set[str] = field(default_factory=set)  # slugs
    fieldsets: set[str] = field(default_factory=set)

    def __bool__(self) -> bool:
        return bool(self.session_ids)


@dataclass(frozen=True)
class _Plan:
    """Precomputed per application, so ``mask`` does no set algebra per row."""

    hidden: frozenset[str]
    # (name, property key or None) in output order; key set for properties.<key>
    hidden_in_order: tuple[tuple[str, str | None], ...]
    revealed: tuple[tuple[str, tuple[str, ...]], ...]  # (fieldset, its visible fields)


def _has_data(value: Any) -> bool:
    return value is not None and value != "" and value != {}


class FieldsetPolicy:
    def __init__(self, *, user: AbstractBaseUser | AnonymousUser) -> None:
        self.user = user
        self.is_superuser = bool(user.is_active and getattr(user, "is_superuser", False))
        self._loaded = False
        self._plans: dict[int, _Plan] = {}

    def _load(self) -> None:
        if self._loaded:
            return
        # Superusers hold everything; their grant rows would change nothing.
        snapshot = principal_snapshot(user=self.user, with_grants=not self.is_superuser)
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
            hidden = frozenset(
                f for name, fields in self.fieldsets if name not in granted for f in fields
            )
            plan = _Plan(
                hidden=hidden,
                hidden_in_order=tuple(
                    (name, property_key(name) if is_property_field(name) else None)
                    for name in sorted(hidden, key=self._output_position)
                ),
                revealed=tuple(
                    (name, visible)
                    for name, fields in self.fieldsets
                    if name in granted and (visible := tuple(f for f in fields if f not in hidden))
                ),
            )
            self._plans[application_id] = plan
        return plan

    @staticmethod
    def _output_position(name: str) -> tuple[int, str]:
        # properties.<key> fields sort right after "properties".
        if is_property_field(name):
            return _FIELD_ORDER["properties"], name
        return _FIELD_ORDER[name], ""

    def hidden_fields(self, application_id: int) -> frozenset[str]:
        """Fields masked for this application (every fieldset field if it is not readable)."""
        if not self.can_read(application_id):
            return frozenset(f for _, fields in self.fieldsets for f in fields)
        return self._plan(application_id).hidden

    def check_lookup(self, field_name: str, application_ids: Iterable[int] | None = None) -> None:
        """Raise ``HiddenFieldLookup`` if ``field_name`` is hidden in any of the applications.

        ``None`` means every readable application. Answering only from the
        applications where the field is visible would silently change the
        result, so one hidden application refuses the whole lookup.
        """
        ids = self.applications.keys() if application_ids is None else application_ids
        for application_id in ids:
            hidden = self.hidden_fields(application_id)
            if (
                field_name in hidden
                or (is_property_field(field_name) and "properties" in hidden)
                or (field_name == "properties" and any(map(is_property_field, hidden)))
            ):
                raise HiddenFieldLookup(field_name)

    # --- masking ------------------------------------------------------------
    def mask(
        self, session: Mapping[str, Any] | Any, disclosure: Disclosure | None = None
    ) -> tuple[dict[str, Any], list[str]]:
        """One session's output values (Python types) and the names of its masked fields.

        A hidden field is ``None`` and listed in ``masked_fields`` only if it
        had data; a ``properties.<key>`` field nulls that key. The user tag is
        decrypted only when it is revealed.
        """
        row = session if isinstance(session, Mapping) else _row_of(session)
        self._load()
        application = self._applications.get(row["application_id"])
        if application is None:  # selectors never pass such rows; fail closed if one did
            raise PermissionDenied("session of an application the principal cannot read")
        plan = self._plan(application.id)
        values: dict[str, Any] = {"id": row["id"], "application": application.slug}
        for name in _COPIED:
            values[name] = row[name]
        encrypted = row["user_tag_encrypted"]
        masked: list[str] = []
        for name, key in plan.hidden_in_order:
            if name == "user_tag":
                if values["user_tag"] is not None or encrypted is not None:
                    masked.append(name)
                values["user_tag"] = None
            elif key is not None:
                properties = values["properties"]
                if isinstance(properties, dict) and _has_data(properties.get(key)):
                    values["properties"] = {**properties, key: None}
                    masked.append(name)
            else:
                if _has_data(values[name]):
                    masked.append(name)
                values[name] = None
        if values["user_tag"] is None and encrypted is not None and "user_tag" not in plan.hidden:
            values["user_tag"] = self._decrypt(encrypted, row["id"], application.id)
        if disclosure is not None and plan.revealed:
            self._record(values, plan, disclosure)
        return values, masked

    @staticmethod
    def _decrypt(value: str, session_pk: int, application_id: int) -> str | None:
        try:
            return user_tags.decrypt(value, application_id=application_id)
        except (ValueError, KeyError):
            # Never log the value; a wrong or retired key shows as "no data".
            logger.warning("user tag of session %s could not be decrypted", session_pk)
            return None

    @staticmethod
    def _record(values: dict[str, Any], plan: _Plan, disclosure: Disclosure) -> None:
        properties = values["properties"] if isinstance(values["properties"], dict) else {}
        revealed = [
            name
            for name, fields in plan.revealed
            if any(
                _has_data(properties.get(property_key(f)) if is_property_field(f) else values[f])
                for f in fields
            )
        ]
        if revealed:
            disclosure.session_ids.append(values["id"])
            disclosure.applications.add(values["application"])
            disclosure.fieldsets.update(revealed)


def _row_of(session: Any) -> dict[str, Any]:
    return {name: getattr(session, name) for name in SESSION_COLUMNS}
