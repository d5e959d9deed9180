"""Reads for the fieldset policy and the audit trail.

The fieldset policy calls :func:`principal_snapshot` once per request: one
query for fieldsets, applications and everything the principal holds. Nothing
is cached across requests, so a revocation takes effect on the next request.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser, Permission
from django.db.models import BigIntegerField, F, IntegerField, QuerySet, TextField, Value
from django.db.models.functions import Cast

from fieldsets.models import Fieldset
from permissions.models import (
    ApplicationGroupObjectPermission,
    ApplicationUserObjectPermission,
    AuditRecord,
)
from sessions_app.models import Application

# Only permissions on Application count; a user's unrelated model permissions
# (e.g. to edit fieldsets in the admin) are not grants.
_ON_APPLICATION = {
    "content_type__app_label": "sessions_app",
    "content_type__model": "application",
}


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


_FIELDSET, _GLOBAL_GRANT, _OBJECT_GRANT, _APPLICATION = 1, 2, 3, 4


def _row(queryset: QuerySet[Any], kind: int, *columns: Any) -> QuerySet[Any]:
    """``queryset`` as rows of (kind, number, text, text, number) for one UNION ALL.

    Every column is cast, so PostgreSQL can match types across the branches
    (a bare NULL in two branches would resolve to text).
    """
    names = ("number", "text", "more_text", "application")
    types = (BigIntegerField(), TextField(), TextField(), BigIntegerField())
    annotations = {
        name: Cast(column if column is not None else Value(None), output_field=type_)
        for name, column, type_ in zip(names, columns, types, strict=True)
    }
    return (
        queryset.order_by()  # model orderings are not allowed inside a UNION
        .annotate(kind=Value(kind, output_field=IntegerField()), **annotations)
        .values_list("kind", *names)
    )


def principal_snapshot(
    *, user: AbstractBaseUser | AnonymousUser, with_grants: bool = True
) -> PrincipalSnapshot:
    """Fieldsets, the user's own and its groups' grants, and applications: one round trip.

    Grants are the union over the user's groups (PRODUCT.md); inactive and
    anonymous users hold none. ``with_grants=False`` skips them (superusers
    hold everything anyway). Nothing is cached across calls, so a revocation
    is seen by the next request.
    """
    branches = [
        _row(Fieldset.objects.all(), _FIELDSET, F("permission_id"), F("name"), F("fields"), None),
        _row(Application.objects.all(), _APPLICATION, F("id"), F("slug"), F("name"), None),
    ]
    if with_grants and user.is_authenticated and user.is_active:
        for holder in ({"user": user}, {"group__user": user}):
            branches.append(
                _row(
                    Permission.objects.filter(**holder, **_ON_APPLICATION),
                    _GLOBAL_GRANT,
                    F("id"),
                    F("codename"),
                    None,
                    None,
                )
            )
        for model, holder in (
            (ApplicationUserObjectPermission, {"user": user}),
            (ApplicationGroupObjectPermission, {"group__user": user}),
        ):
            branches.append(
                _row(
                    model.objects.filter(**holder),
                    _OBJECT_GRANT,
                    F("permission_id"),
                    F("permission__codename"),
                    None,
                    F("content_object_id"),
                )
            )
    rows = branches[0].union(*branches[1:], all=True)
    fieldsets, applications = [], []
    everywhere: set[tuple[int, str]] = set()
    per_application: set[tuple[int, str, int]] = set()
    for kind, number, text, more_text, application_id in rows:
        if kind == _FIELDSET:
            fieldsets.append((text, tuple(json.loads(more_text)), number))
        elif kind == _APPLICATION:
            applications.append((number, text, more_text))
        elif kind == _GLOBAL_GRANT:
            everywhere.add((number, text))
        else:
            per_application.add((number, text, application_id))
    return PrincipalSnapshot(
        fieldsets=tuple(sorted(fieldsets)),
        everywhere=frozenset(everywhere),
        per_application=frozenset(per_application),
        applications=tuple(sorted(applications, key=lambda app: app[1])),
    )


def audit_record_list() -> QuerySet[AuditRecord]:
    """Audit records newest first, as ``.values()`` rows (callers check view_auditrecord)."""
    return AuditRecord.objects.order_by("-created_at", "-id").values(
        "id",
        "created_at",
        "username",
        "kind",
        "method",
        "path",
        "applications",
        "session_ids",
        "fieldsets",
        "search_tag_hash",
    )
