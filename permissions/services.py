"""Writes on grants: record access and fieldsets, to a user or a group, for one application or all.

``application=None`` means every application, including ones created later:
it is stored as the model-level permission (``user.user_permissions`` /
``group.permissions``); a grant for one application is a django-guardian
direct-foreign-key object permission. Grants are idempotent; revoking what is
not granted is a no-op. Each function returns whether it changed anything.

Revoking without an application removes the principal's grant everywhere:
the global grant *and* every per-application grant of that permission, so
``revoke --user U --fieldset F`` leaves U without F (unless a group grants it).
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Group, Permission, User
from django.db import transaction
from django.db.models import QuerySet

from fieldsets.models import Fieldset
from permissions.models import (
    ApplicationGroupObjectPermission,
    ApplicationUserObjectPermission,
    read_sessions_permission,
)
from sessions_app.models import Application


class UnknownFieldset(LookupError):
    pass


def _model_level_holders(user: User | None, group: Group | None) -> Any:
    """The principal's model-level permissions (a related manager): where global grants live."""
    if user is not None and group is None:
        return user.user_permissions
    if group is not None and user is None:
        return group.permissions
    raise ValueError("give exactly one of user= or group=")


def _grant(
    *,
    permission: Permission,
    user: User | None,
    group: Group | None,
    application: Application | None,
) -> bool:
    holders = _model_level_holders(user, group)
    if application is None:
        if holders.filter(pk=permission.pk).exists():
            return False
        holders.add(permission)
        return True
    if user is not None:
        _, created = ApplicationUserObjectPermission.objects.get_or_create(
            user=user, permission=permission, content_object=application
        )
    else:
        _, created = ApplicationGroupObjectPermission.objects.get_or_create(
            group=group, permission=permission, content_object=application
        )
    return created


def _revoke(
    *,
    permission: Permission,
    user: User | None,
    group: Group | None,
    application: Application | None,
) -> bool:
    holders = _model_level_holders(user, group)
    rows: QuerySet[ApplicationUserObjectPermission] | QuerySet[ApplicationGroupObjectPermission]
    if user is not None:
        rows = ApplicationUserObjectPermission.objects.filter(user=user, permission=permission)
    else:
        rows = ApplicationGroupObjectPermission.objects.filter(group=group, permission=permission)
    if application is not None:
        return rows.filter(content_object=application).delete()[0] > 0
    with transaction.atomic():
        had_global = holders.filter(pk=permission.pk).exists()
        holders.remove(permission)
        return rows.delete()[0] > 0 or had_global


def _fieldset_permission(fieldset_name: str) -> Permission:
    fieldset = Fieldset.objects.select_related("permission").filter(name=fieldset_name).first()
    if fieldset is None:
        raise UnknownFieldset(f"no fieldset named '{fieldset_name}'")
    return fieldset.permission


def grant_record_access(
    *,
    user: User | None = None,
    group: Group | None = None,
    application: Application | None = None,
) -> bool:
    """Let the principal read sessions of ``application`` (``None``: of every application)."""
    return _grant(
        permission=read_sessions_permission(), user=user, group=group, application=application
    )


def revoke_record_access(
    *,
    user: User | None = None,
    group: Group | None = None,
    application: Application | None = None,
) -> bool:
    return _revoke(
        permission=read_sessions_permission(), user=user, group=group, application=application
    )


def grant_fieldset(
    *,
    fieldset_name: str,
    user: User | None = None,
    group: Group | None = None,
    application: Application | None = None,
) -> bool:
    """Reveal the fieldset's fields to the principal for ``application`` (``None``: all)."""
    return _grant(
        permission=_fieldset_permission(fieldset_name),
        user=user,
        group=group,
        application=application,
    )


def revoke_fieldset(
    *,
    fieldset_name: str,
    user: User | None = None,
    group: Group | None = None,
    application: Application | None = None,
) -> bool:
    return _revoke(
        permission=_fieldset_permission(fieldset_name),
        user=user,
        group=group,
        application=application,
    )
