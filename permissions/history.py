"""Grant, permission, group-membership and fieldset changes, audited wherever they happen.

Grants change through ``manage.py grant``/``revoke``, the services, the admin's
grant pages, the user and group permission widgets and group memberships;
fieldsets through the admin. Rather than trusting every door to remember,
signal receivers on the models write a ``grant_change`` or ``fieldset_change``
audit record for each change (one per permission and principal), naming the
actor from ``permissions.audit.current_actor`` (the request, or the command).
Names, codenames and slugs only: no personal data.

Data migrations use historical models, whose signals these receivers do not
listen to, so seeding the built-ins is not recorded as a change.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.db.models import Model
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_delete, pre_save

from fieldsets.models import Fieldset
from permissions.audit import audit_event, current_actor
from permissions.models import (
    ApplicationGroupObjectPermission,
    ApplicationUserObjectPermission,
    AuditKind,
)
from sessions_app.models import Application

# User flags that change what a principal may do.
USER_FLAGS = ("is_superuser", "is_staff", "is_active")


def _record(changes: dict[str, Any], *, applications: list[str] | None = None) -> None:
    audit_event(
        actor=current_actor(),
        kind=AuditKind.GRANT_CHANGE,
        changes=changes,
        applications=applications or [],
    )


def _slug(application_id: int) -> str:
    slug = Application.objects.filter(pk=application_id).values_list("slug", flat=True).first()
    return slug if slug is not None else f"#{application_id}"


def _principal(instance: Any) -> dict[str, str]:
    if isinstance(instance, ApplicationUserObjectPermission):
        user = get_user_model().objects.filter(pk=instance.user_id).first()
        return {"user": user.get_username() if user else f"#{instance.user_id}"}
    group = Group.objects.filter(pk=instance.group_id).values_list("name", flat=True).first()
    return {"group": group or f"#{instance.group_id}"}


def _codename(permission_id: int) -> str:
    permission = Permission.objects.filter(pk=permission_id).select_related("content_type").first()
    if permission is None:
        return f"#{permission_id}"
    return f"{permission.content_type.app_label}.{permission.codename}"


def _object_grant_saved(sender: type[Model], instance: Any, created: bool, **kwargs: Any) -> None:
    if kwargs.get("raw"):
        return
    slug = _slug(instance.content_object_id)
    _record(
        {
            "action": "grant" if created else "change",
            **_principal(instance),
            "permission": _codename(instance.permission_id),
            "application": slug,
        },
        applications=[slug],
    )


def _object_grant_deleted(sender: type[Model], instance: Any, **kwargs: Any) -> None:
    slug = _slug(instance.content_object_id)
    _record(
        {
            "action": "revoke",
            **_principal(instance),
            "permission": _codename(instance.permission_id),
            "application": slug,
        },
        applications=[slug],
    )


def _name_of(model: type[Model], pk: Any) -> str:
    if model is Permission:
        return _codename(pk)
    if model is Group:
        return Group.objects.filter(pk=pk).values_list("name", flat=True).first() or f"#{pk}"
    user = get_user_model().objects.filter(pk=pk).first()
    return user.get_username() if user else f"#{pk}"


def _label(model: type[Model]) -> str:
    return {Permission: "permission", Group: "group"}.get(model, "user")


def _m2m(field_owner: type[Model], target: type[Model]) -> Any:
    """A receiver for one many-to-many relation (``owner.field -> target``), both directions."""

    def receiver(
        sender: Any,
        instance: Model,
        action: str,
        reverse: bool,
        model: type[Model],
        pk_set: set[Any] | None,
        **kwargs: Any,
    ) -> None:
        if action == "pre_clear":
            # The set is gone after the clear: read it now (the relation is on the owner).
            related = getattr(instance, _reverse_or_forward(field_owner, target, reverse))
            pk_set = set(related.values_list("pk", flat=True))
            action = "post_remove"
        if action not in ("post_add", "post_remove") or not pk_set:
            return
        verb = "grant" if action == "post_add" else "revoke"
        for pk in sorted(pk_set):
            owner_pk, target_pk = (pk, instance.pk) if reverse else (instance.pk, pk)
            _record(
                {
                    "action": verb,
                    _label(field_owner): _name_of(field_owner, owner_pk),
                    _label(target): _name_of(target, target_pk),
                    "application": None,  # model-level: every application
                }
            )

    return receiver


def _reverse_or_forward(owner: type[Model], target: type[Model], reverse: bool) -> str:
    user_model = get_user_model()
    if owner is user_model and target is Permission:
        return "user_set" if reverse else "user_permissions"
    if owner is user_model and target is Group:
        return "user_set" if reverse else "groups"
    return "group_set" if reverse else "permissions"  # Group.permissions


def _user_flags_before(sender: type[Model], instance: Any, **kwargs: Any) -> None:
    if kwargs.get("raw") or instance.pk is None:
        instance._rumvault_flags = None
        return
    stored = sender._default_manager.filter(pk=instance.pk).values(*USER_FLAGS).first()
    instance._rumvault_flags = stored


def _user_flags_after(sender: type[Model], instance: Any, created: bool, **kwargs: Any) -> None:
    before = getattr(instance, "_rumvault_flags", None)
    now = {flag: getattr(instance, flag) for flag in USER_FLAGS}
    if created:
        changed = {flag: value for flag, value in now.items() if value and flag != "is_active"}
        before_values = dict.fromkeys(changed, False)
    elif before is None:
        return
    else:
        changed = {flag: value for flag, value in now.items() if before[flag] != value}
        before_values = {flag: before[flag] for flag in changed}
    if changed:
        _record(
            {
                "action": "flags",
                "user": instance.get_username(),
                "before": before_values,
                "after": changed,
            }
        )


def _fieldset_before(sender: type[Model], instance: Fieldset, **kwargs: Any) -> None:
    stored = None
    if instance.pk is not None:
        stored = Fieldset.objects.filter(pk=instance.pk).values("fields", "description").first()
    instance._rumvault_before = stored  # type: ignore[attr-defined]


def _fieldset_saved(sender: type[Model], instance: Fieldset, created: bool, **kwargs: Any) -> None:
    if kwargs.get("raw"):
        return
    before = getattr(instance, "_rumvault_before", None)
    after = {"fields": list(instance.fields), "description": instance.description}
    if not created and before is not None and before == after:
        return
    audit_event(
        actor=current_actor(),
        kind=AuditKind.FIELDSET_CHANGE,
        changes={
            "action": "create" if created else "change",
            "fieldset": instance.name,
            "before": before,
            "after": after,
        },
        fieldsets=[instance.name],
    )


def _fieldset_deleting(sender: type[Model], instance: Fieldset, **kwargs: Any) -> None:
    audit_event(
        actor=current_actor(),
        kind=AuditKind.FIELDSET_CHANGE,
        changes={
            "action": "delete",
            "fieldset": instance.name,
            "before": {"fields": list(instance.fields), "description": instance.description},
            "after": None,
        },
        fieldsets=[instance.name],
    )


def connect() -> None:
    """Connect every receiver (``PermissionsConfig.ready``)."""
    user_model = get_user_model()
    for model in (ApplicationUserObjectPermission, ApplicationGroupObjectPermission):
        post_save.connect(_object_grant_saved, sender=model, dispatch_uid=f"history-{model}")
        post_delete.connect(_object_grant_deleted, sender=model, dispatch_uid=f"history-{model}")
    relations = (
        (user_model, Permission, user_model.user_permissions.through),
        (user_model, Group, user_model.groups.through),
        (Group, Permission, Group.permissions.through),
    )
    for owner, target, through in relations:
        m2m_changed.connect(
            _m2m(owner, target), sender=through, weak=False, dispatch_uid=f"history-{through}"
        )
    pre_save.connect(_user_flags_before, sender=user_model, dispatch_uid="history-user-flags")
    post_save.connect(_user_flags_after, sender=user_model, dispatch_uid="history-user-flags")
    pre_save.connect(_fieldset_before, sender=Fieldset, dispatch_uid="history-fieldset")
    post_save.connect(_fieldset_saved, sender=Fieldset, dispatch_uid="history-fieldset")
    pre_delete.connect(_fieldset_deleting, sender=Fieldset, dispatch_uid="history-fieldset")
