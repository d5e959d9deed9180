"""Reads for the fieldset policy and the audit trail.

The fieldset policy calls :func:`principal_snapshot` once per request: one
query for fieldsets, applications and everything the principal holds, kept per
process while the policy generation stands (``permissions.generation``): a
revocation still takes effect on the next request.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import django_filters
from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser, Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.models import Field, Model, Q, QuerySet
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.utils import timezone

from fieldsets.models import Fieldset
from permissions import generation as policy_generation
from permissions.models import (
    AUDIT_RECORD_FIELDS,
    ApplicationGroupObjectPermission,
    ApplicationUserObjectPermission,
    AuditKind,
    AuditRecord,
    RevealWindow,
)
from sessions_app.models import Application
from sessions_app.query_values import RecordIdFilter, UtcIsoDateTimeFilter

_FIELDSET, _GLOBAL_GRANT, _OBJECT_GRANT, _APPLICATION, _WINDOW, _GENERATION = 1, 2, 3, 4, 5, 6


@dataclass(frozen=True)
class PrincipalSnapshot:
    """Everything the fieldset policy needs about one principal, read in one query."""

    # (name, fields, permission id) of every fieldset, by name
    fieldsets: tuple[tuple[str, tuple[str, ...], int], ...]
    # (permission id, codename) held for every application (model-level permissions)
    everywhere: frozenset[tuple[int, str]]
    # (permission id, codename, application id) held per application (guardian rows)
    per_application: frozenset[tuple[int, str, int]]
    # (id, slug, name) of every application, by slug
    applications: tuple[tuple[int, str, str], ...]
    # ids of applications whose fieldset values need a reveal with a reason
    reason_required: frozenset[int] = frozenset()
    # session primary key -> (application id, reason) of the principal's open
    # reveal window on it (the newest, if several are open)
    windows: Mapping[int, tuple[int, str]] = field(default_factory=dict)
    # The policy's masking plans made from these grants (``FieldsetPolicy._plan``),
    # kept with them: a snapshot cached for the process serves every request of
    # its principal. Not an init field: any other snapshot made from this one
    # (``dataclasses.replace``, other grants) starts without plans.
    plans: dict[Any, Any] = field(
        default_factory=dict, init=False, compare=False, hash=False, repr=False
    )

    def with_windows(self, windows: Mapping[int, tuple[int, str]]) -> PrincipalSnapshot:
        """The same grants with these reveal windows, sharing the plans: a plan
        depends on the grants only (a window picks which plan applies)."""
        snapshot = replace(self, windows=windows)
        object.__setattr__(snapshot, "plans", self.plans)  # frozen: set once, here
        return snapshot


def _table(model: type[Model]) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _column(model: type[Model], field_name: str) -> str:
    column = model._meta.get_field(field_name)
    if not isinstance(column, Field) or column.column is None:  # a reverse relation has none
        raise ValueError(f"{model.__name__}.{field_name} is not a column")
    return connection.ops.quote_name(column.column)


def _row(kind: int, number: str, text: str, more: str, application: str) -> str:
    # Every column cast in every branch: PostgreSQL resolves two bare NULLs in a
    # UNION as text and then refuses to match them with bigint.
    return (
        f"SELECT {kind}, CAST({number} AS bigint), CAST({text} AS text), "
        f"CAST({more} AS text), CAST({application} AS bigint)"
    )


def _snapshot_models() -> tuple[type[Model], ...]:
    """The models whose tables a snapshot reads (``_snapshot_sql``), reveal windows aside."""
    user_model = get_user_model()
    return (
        Fieldset,
        Application,
        Permission,
        user_model.user_permissions.through,
        user_model.groups.through,
        Group.permissions.through,
        ApplicationUserObjectPermission,
        ApplicationGroupObjectPermission,
    )


@functools.cache  # asked on every request (``principal_snapshot``); the models do not change
def snapshot_tables() -> tuple[str, ...]:
    """The tables whose every write starts a new policy generation (``permissions.generation``).

    Reveal windows are not among them: they are read afresh on every request,
    since they open and expire by the minute.
    """
    return tuple(model._meta.db_table for model in _snapshot_models())


@functools.cache
def _snapshot_sql(*, with_grants: bool, with_windows: bool, held: bool = True) -> str:
    """One UNION ALL of (kind, number, text, more_text, application) rows.

    Hand-written rather than an ORM ``union()``: compiling six annotated and
    joined querysets cost ~10 ms of Python per request, about eighty times what
    the database needs to run the query. Names come from the models' ``_meta``.
    The first row is the policy generation; ``held=False`` leaves out what a
    cached snapshot holds (fieldsets, applications, grants), for the check
    whether it still stands. Parameters, per grant branch: [the application
    content type's id,] user id; for the windows: user id, now. An application
    row carries ``reveal_requires_reason`` (0/1) in its application column.
    """
    user_model = get_user_model()
    own = user_model.user_permissions.through
    member = user_model.groups.through
    group_perm = Group.permissions.through
    by_user, by_group = ApplicationUserObjectPermission, ApplicationGroupObjectPermission
    perm, perm_id = _table(Permission), _column(Permission, "id")
    codename, null = _column(Permission, "codename"), "NULL"
    # Only permissions on Application are grants; a user's unrelated permissions
    # (e.g. to edit fieldsets in the admin) are not. The content type goes in by
    # its id (Django caches it per process): joining django_content_type doubled
    # PostgreSQL's planning time, 0.68 -> 0.38 ms a request without it.
    on_application = f"WHERE p.{_column(Permission, 'content_type')} = %s"
    reason_required = (
        f"CASE WHEN {_column(Application, 'reveal_requires_reason')} THEN 1 ELSE 0 END"
    )
    branches = [_row(_GENERATION, policy_generation.value_sql(connection), null, null, null)]
    if held:
        branches += [
            _row(_FIELDSET, _column(Fieldset, "permission"), _column(Fieldset, "name"),
                 _column(Fieldset, "fields"), null)
            + f" FROM {_table(Fieldset)}",
            _row(_APPLICATION, _column(Application, "id"), _column(Application, "slug"),
                 _column(Application, "name"), reason_required)
            + f" FROM {_table(Application)}",
        ]  # fmt: skip
    if held and with_grants:
        global_row = _row(_GLOBAL_GRANT, f"p.{perm_id}", f"p.{codename}", null, null)
        branches += [
            f"{global_row} FROM {perm} p JOIN {_table(own)} up"
            f" ON up.{_column(own, 'permission')} = p.{perm_id} {on_application}"
            f" AND up.{_column(own, 'user')} = %s",
            f"{global_row} FROM {perm} p JOIN {_table(group_perm)} gp"
            f" ON gp.{_column(group_perm, 'permission')} = p.{perm_id}"
            f" JOIN {_table(member)} ug"
            f" ON ug.{_column(member, 'group')} = gp.{_column(group_perm, 'group')}"
            f" {on_application} AND ug.{_column(member, 'user')} = %s",
        ]
        for model, principal in ((by_user, "user"), (by_group, "group")):
            object_row = _row(
                _OBJECT_GRANT, f"p.{perm_id}", f"p.{codename}", null,
                f"o.{_column(model, 'content_object')}",
            )  # fmt: skip
            source = (
                f"{object_row} FROM {_table(model)} o"
                f" JOIN {perm} p ON p.{perm_id} = o.{_column(model, 'permission')}"
            )
            if principal == "user":
                branches.append(f"{source} WHERE o.{_column(model, 'user')} = %s")
            else:
                branches.append(
                    f"{source} JOIN {_table(member)} ug"
                    f" ON ug.{_column(member, 'group')} = o.{_column(model, 'group')}"
                    f" WHERE ug.{_column(member, 'user')} = %s"
                )
    if with_windows:
        window = RevealWindow
        branches.append(
            _row(_WINDOW, _column(window, "session_pk"), _column(window, "reason"),
                 _column(window, "id"), _column(window, "application"))
            + f" FROM {_table(window)} WHERE {_column(window, 'user')} = %s"
            f" AND {_column(window, 'expires_at')} > %s"
        )  # fmt: skip
    return " UNION ALL ".join(branches)


# Snapshots by (database alias, database name, user id, with grants): the
# policy generation each was read at, and the snapshot without its windows.
_SNAPSHOTS: dict[tuple[str, str, Any, bool], tuple[int, PrincipalSnapshot]] = {}
# Beyond this many principals per process the cache starts again, rather than
# growing with every user who ever signed in.
_MAX_SNAPSHOTS = 10_000


def forget_snapshots(**kwargs: Any) -> None:
    """Drop this process's snapshots: a signal receiver for writes through the ORM.

    The policy generation alone keeps snapshots true; this saves a query. A
    process that changed grants itself reads its next snapshot in one query
    rather than two (the generation, found changed, then the snapshot).
    """
    _SNAPSHOTS.clear()


def connect_snapshot_signals() -> None:
    """``forget_snapshots`` on every ORM write to a table the snapshot reads."""
    for model in _snapshot_models():
        uid = f"permissions.snapshot.{model._meta.label}"
        post_save.connect(forget_snapshots, sender=model, dispatch_uid=f"{uid}.save")
        post_delete.connect(forget_snapshots, sender=model, dispatch_uid=f"{uid}.delete")
        if model._meta.auto_created:  # a many-to-many table: add(), remove(), clear()
            m2m_changed.connect(forget_snapshots, sender=model, dispatch_uid=f"{uid}.m2m")


def principal_snapshot(
    *,
    user: AbstractBaseUser | AnonymousUser,
    with_grants: bool = True,
    generation: int | None = None,
) -> PrincipalSnapshot:
    """Fieldsets, applications, and the grants of the user and its groups: one round trip.

    Grants are the union over the user's groups (docs/permissions.md); inactive and
    anonymous users hold none. ``with_grants=False`` skips them (superusers
    hold everything anyway). The snapshot is kept per process while the policy
    generation stands (``permissions.generation``): a call then reads only
    the generation and the principal's open reveal windows, a fifth of the
    planning. ``generation``: the value the caller has just read (with the
    request's API token); if the snapshot is cached at it and no readable
    application asks for reveal windows, no query at all.
    """
    with_windows = bool(user.is_authenticated and user.is_active)
    with_grants = with_grants and with_windows
    key = (
        connection.alias,
        str(connection.settings_dict["NAME"]),
        user.pk if with_windows else None,
        with_grants,
    )
    cacheable = policy_generation.ready(connection, snapshot_tables())
    cached = _SNAPSHOTS.get(key) if cacheable else None
    if cached is not None and (generation is None or generation == cached[0]):
        if generation is not None and not cached[1].reason_required:
            return cached[1]  # windows apply only where an application asks for a reason
        value, live = _read(
            user=user, with_grants=with_grants, with_windows=with_windows, held=False
        )
        if value is not None and value == cached[0]:
            return cached[1].with_windows(live.windows) if live.windows else cached[1]
    value, snapshot = _read(user=user, with_grants=with_grants, with_windows=with_windows)
    if cacheable and value is not None:
        if len(_SNAPSHOTS) >= _MAX_SNAPSHOTS:
            _SNAPSHOTS.clear()
        _SNAPSHOTS[key] = (value, snapshot.with_windows({}))
    return snapshot


def _read(
    *,
    user: AbstractBaseUser | AnonymousUser,
    with_grants: bool,
    with_windows: bool,
    held: bool = True,
) -> tuple[int | None, PrincipalSnapshot]:
    """The policy generation and the snapshot (``held=False``: its windows only)."""
    params: list[Any] = []
    if held and with_grants:
        on_application = ContentType.objects.get_for_model(Application).pk
        params = [on_application, user.pk, on_application, user.pk, user.pk, user.pk]
    if with_windows:
        params += [user.pk, connection.ops.adapt_datetimefield_value(timezone.now())]
    sql = _snapshot_sql(with_grants=with_grants, with_windows=with_windows, held=held)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    value: int | None = None
    fieldsets, applications = [], []
    everywhere: set[tuple[int, str]] = set()
    per_application: set[tuple[int, str, int]] = set()
    reason_required: set[int] = set()
    windows: dict[int, tuple[int, str, int]] = {}  # session -> (application, reason, window id)
    for kind, number, text, more_text, application_id in rows:
        if kind == _GENERATION:
            value = number
        elif kind == _FIELDSET:
            fieldsets.append((text, tuple(json.loads(more_text)), number))
        elif kind == _APPLICATION:
            applications.append((number, text, more_text))
            if application_id:
                reason_required.add(number)
        elif kind == _GLOBAL_GRANT:
            everywhere.add((number, text))
        elif kind == _WINDOW:
            window_id = int(more_text)
            if number not in windows or windows[number][2] < window_id:
                windows[number] = (application_id, text, window_id)
        else:
            per_application.add((number, text, application_id))
    return value, PrincipalSnapshot(
        fieldsets=tuple(sorted(fieldsets)),
        everywhere=frozenset(everywhere),
        per_application=frozenset(per_application),
        applications=tuple(sorted(applications, key=lambda app: app[1])),
        reason_required=frozenset(reason_required),
        windows={session: (app, reason) for session, (app, reason, _) in windows.items()},
    )


@dataclass(frozen=True, order=True)
class Principal:
    """A grantee, by the name the admin and ``manage.py grant`` use for it."""

    kind: Literal["user", "group"]
    name: str


def principal_snapshots() -> dict[Principal, PrincipalSnapshot]:
    """Every principal with a grant, and what it holds, in a fixed number of queries.

    Users: active, not superusers (they hold everything whatever the
    fieldsets say), with their grants united over their groups, as
    ``principal_snapshot`` reads them for one user. Groups: their own grants,
    what a member without grants of its own holds. For questions about every
    principal at once (``permissions.impact``), without one query per principal.
    """
    base = principal_snapshot(user=AnonymousUser(), with_grants=False)
    user_model = get_user_model()
    on_application = {"permission__content_type": ContentType.objects.get_for_model(Application)}
    grant = ("permission_id", "permission__codename")
    everywhere: dict[tuple[str, int], set[tuple[int, str]]] = {}
    per_application: dict[tuple[str, int], set[tuple[int, str, int]]] = {}
    own_global = user_model.user_permissions.through.objects.filter(**on_application)
    for user_id, pid, codename in own_global.values_list("user_id", *grant):
        everywhere.setdefault(("user", user_id), set()).add((pid, codename))
    group_global = Group.permissions.through.objects.filter(**on_application)
    for group_id, pid, codename in group_global.values_list("group_id", *grant):
        everywhere.setdefault(("group", group_id), set()).add((pid, codename))
    for kind, model in (
        ("user", ApplicationUserObjectPermission),
        ("group", ApplicationGroupObjectPermission),
    ):
        rows = model.objects.values_list(f"{kind}_id", *grant, "content_object_id")
        for principal_id, pid, codename, app_id in rows:
            per_application.setdefault((kind, principal_id), set()).add((pid, codename, app_id))
    group_ids = {pid for kind, pid in (*everywhere, *per_application) if kind == "group"}
    members: dict[int, set[int]] = {}
    memberships = user_model.groups.through.objects.filter(group_id__in=group_ids)
    for user_id, group_id in memberships.values_list("user_id", "group_id"):
        members.setdefault(user_id, set()).add(group_id)
    user_ids = {pid for kind, pid in (*everywhere, *per_application) if kind == "user"}
    users = user_model.objects.filter(
        pk__in=user_ids | members.keys(), is_active=True, is_superuser=False
    ).values_list("pk", user_model.USERNAME_FIELD)
    groups = Group.objects.filter(pk__in=group_ids).values_list("pk", "name")

    def snapshot(keys: list[tuple[str, int]]) -> PrincipalSnapshot:
        return replace(
            base,
            everywhere=frozenset(g for key in keys for g in everywhere.get(key, ())),
            per_application=frozenset(g for key in keys for g in per_application.get(key, ())),
        )

    result = {
        Principal("user", name): snapshot(
            [("user", pk), *(("group", group) for group in members.get(pk, ()))]
        )
        for pk, name in users
    }
    result.update({Principal("group", name): snapshot([("group", pk)]) for pk, name in groups})
    return result


def audit_record_list(
    records: QuerySet[AuditRecord] | None = None,
) -> QuerySet[AuditRecord, dict[str, Any]]:
    """Audit records newest first, as ``.values()`` rows (callers check view_auditrecord)."""
    records = AuditRecord.objects.all() if records is None else records
    # Annotated: django-stubs types ``.values()`` only for literal field names.
    rows: QuerySet[AuditRecord, dict[str, Any]] = records.order_by("-created_at", "-id").values(
        "id", *AUDIT_RECORD_FIELDS, "seq", "hash"
    )
    return rows


def open_reveal_window(
    *, user: AbstractBaseUser | AnonymousUser, session_pk: int
) -> RevealWindow | None:
    """The user's newest open reveal window on the session, or None."""
    if not user.is_authenticated:
        return None
    return (
        RevealWindow.objects.filter(
            user_id=user.pk, session_pk=session_pk, expires_at__gt=timezone.now()
        )
        .order_by("-id")
        .first()
    )


# At most this many ids per PostgreSQL containment test (each one an index probe).
_CONTAINS_CHUNK = 200


def json_list_contains_any(
    records: QuerySet[AuditRecord], column: str, values: list[int] | list[str]
) -> QuerySet[AuditRecord]:
    """Records whose JSON list ``column`` holds any of ``values``.

    PostgreSQL: ``@>`` tests, served by the GIN indexes of migration 0006.
    SQLite has no JSON containment lookup in Django, so there it is SQLite's
    ``json_each`` in an ``EXISTS`` (``extra``, because no ORM expression
    spells it); the column name comes from the model, the values are parameters.
    """
    if not values:
        return records.none()
    if connection.vendor == "postgresql":
        condition = Q()
        for value in values:
            condition |= Q(**{f"{column}__contains": [value]})
        return records.filter(condition)
    table = _table(AuditRecord)
    quoted = _column(AuditRecord, column)
    placeholders = ", ".join(["%s"] * len(values))
    return records.extra(  # noqa: S610 - names from _meta, values as parameters
        where=[
            f"EXISTS (SELECT 1 FROM json_each({table}.{quoted}) "  # noqa: S608
            f"WHERE json_each.value IN ({placeholders}))"
        ],
        params=list(values),
    )


class AuditRecordFilterSet(django_filters.FilterSet):
    """The audit trail's filters: the API's ``GET /api/v1/audit/`` and the console alike.

    Error messages never echo a value (a username field is free text).
    """

    user = django_filters.CharFilter(field_name="username", max_length=150)
    kind = django_filters.ChoiceFilter(
        choices=AuditKind.choices, error_messages={"invalid_choice": "Choose a listed kind."}
    )
    application = django_filters.CharFilter(method="_application", max_length=64)
    session = RecordIdFilter(method="_session")
    since = UtcIsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    until = UtcIsoDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = AuditRecord
        fields: list[str] = []

    def _application(
        self, records: QuerySet[AuditRecord], name: str, value: str
    ) -> QuerySet[AuditRecord]:
        return json_list_contains_any(records, "applications", [value])

    def _session(
        self, records: QuerySet[AuditRecord], name: str, value: Any
    ) -> QuerySet[AuditRecord]:
        return json_list_contains_any(records, "session_ids", [int(value)])


AUDIT_FILTERS: tuple[str, ...] = tuple(AuditRecordFilterSet.base_filters)


class InvalidAuditFilter(ValueError):
    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__("invalid audit filter")
        self.errors = errors


def audit_records_filtered(params: Mapping[str, Any]) -> QuerySet[AuditRecord]:
    """The records matching ``params`` (names of ``AUDIT_FILTERS``); ``InvalidAuditFilter``."""
    filterset = AuditRecordFilterSet(dict(params), queryset=AuditRecord.objects.all())
    if not filterset.is_valid():
        raise InvalidAuditFilter({k: [str(m) for m in v] for k, v in filterset.errors.items()})
    records: QuerySet[AuditRecord] = filterset.qs
    return records
