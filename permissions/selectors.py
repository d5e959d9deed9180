"""Reads of grants: everything one principal holds, in one query.

The fieldset policy calls :func:`grants_for_user` once per request; nothing is
cached across requests, so a revocation takes effect on the next request.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser, Permission
from django.db.models import BigIntegerField, QuerySet, Value
from django.db.models.functions import Cast

from permissions.models import (
    ApplicationGroupObjectPermission,
    ApplicationUserObjectPermission,
    AuditRecord,
)

# Only permissions on Application count; a user's unrelated model permissions
# (e.g. to edit fieldsets in the admin) are not grants.
_ON_APPLICATION = {
    "content_type__app_label": "sessions_app",
    "content_type__model": "application",
}


@dataclass(frozen=True)
class PrincipalGrants:
    """Permission ids and codenames held for every application, and per application."""

    everywhere: frozenset[tuple[int, str]]  # (permission id, codename)
    per_application: frozenset[tuple[int, str, int]]  # (permission id, codename, application id)


NO_GRANTS = PrincipalGrants(everywhere=frozenset(), per_application=frozenset())


def grants_for_user(*, user: AbstractBaseUser | AnonymousUser) -> PrincipalGrants:
    """The user's own grants united with its groups' (PRODUCT.md: union over groups).

    One round trip whatever the number of groups and grants: a UNION ALL of
    model-level permissions (application NULL = every application) and the
    direct-foreign-key object permissions, each for the user and its groups.
    """
    if not user.is_authenticated or not user.is_active:
        return NO_GRANTS
    # A typed NULL: PostgreSQL resolves two bare NULLs in a UNION as text.
    everywhere = Cast(Value(None), output_field=BigIntegerField())
    columns = ("permission_id", "permission__codename", "content_object_id")
    rows = (
        Permission.objects.filter(user=user, **_ON_APPLICATION)
        .order_by()  # model orderings are not allowed inside a UNION
        .annotate(application_id=everywhere)
        .values_list("id", "codename", "application_id")
        .union(
            Permission.objects.filter(group__user=user, **_ON_APPLICATION)
            .order_by()
            .annotate(application_id=everywhere)
            .values_list("id", "codename", "application_id"),
            ApplicationUserObjectPermission.objects.filter(user=user).values_list(*columns),
            ApplicationGroupObjectPermission.objects.filter(group__user=user).values_list(*columns),
            all=True,
        )
    )
    global_grants: set[tuple[int, str]] = set()
    per_application: set[tuple[int, str, int]] = set()
    for permission_id, codename, application_id in rows:
        if application_id is None:
            global_grants.add((permission_id, codename))
        else:
            per_application.add((permission_id, codename, application_id))
    return PrincipalGrants(
        everywhere=frozenset(global_grants), per_application=frozenset(per_application)
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
