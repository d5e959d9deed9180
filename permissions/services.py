"""Writes on grants (record access and fieldsets, to a user or a group, for one application
or all) and on fieldset definitions.

``application=None`` means every application, including ones created later:
it is stored as the model-level permission (``user.user_permissions`` /
``group.permissions``); a grant for one application is a django-guardian
direct-foreign-key object permission. Grants are idempotent; revoking what is
not granted is a no-op. Each function returns whether it changed anything.

``partial=True`` grants (or revokes) the fieldset's *partial* grant: its fields
in their partial forms. The full and the partial grant are separate rows; the
policy combines them (docs/permissions.md "Partial grants").

Revoking without an application removes the principal's grant everywhere:
the global grant *and* every per-application grant of that permission, so
``revoke --user U --fieldset F`` leaves U without F (unless a group grants it).
"""

from __future__ import annotations

import unicodedata
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import Group, Permission, User
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from fieldsets.models import Fieldset, partial_permission
from permissions.audit import Actor, acting_as
from permissions.models import (
    REASON_MAX_LENGTH,
    ApplicationGroupObjectPermission,
    ApplicationUserObjectPermission,
    RevealWindow,
    read_sessions_permission,
)
from privacy.detectors import mask_text
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


def _fieldset_permission(fieldset_name: str, *, partial: bool = False) -> Permission:
    fieldset = Fieldset.objects.select_related("permission").filter(name=fieldset_name).first()
    if fieldset is None:
        raise UnknownFieldset(f"no fieldset named '{fieldset_name}'")
    return partial_permission(fieldset.name) if partial else fieldset.permission


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
    partial: bool = False,
) -> bool:
    """Reveal the fieldset's fields to the principal for ``application`` (``None``: all).

    ``partial``: show them in their partial forms instead (``j•••@example.com``).
    """
    return _grant(
        permission=_fieldset_permission(fieldset_name, partial=partial),
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
    partial: bool = False,
) -> bool:
    return _revoke(
        permission=_fieldset_permission(fieldset_name, partial=partial),
        user=user,
        group=group,
        application=application,
    )


# --- fieldset definitions ------------------------------------------------------------
# Here rather than in fieldsets/: every change is audited, and the audit is
# this layer's. Callers show the impact first (``permissions.impact``).


class FieldsetExists(ValidationError):
    def __init__(self) -> None:
        super().__init__({"name": "A fieldset with this name exists already."}, code="exists")


def _definition(fieldset: Fieldset) -> dict[str, Any]:
    return {"fields": list(fieldset.fields), "description": fieldset.description}


@transaction.atomic
def fieldset_create(
    *, actor: Actor, name: str, fields: list[str], description: str = ""
) -> Fieldset:
    """Create custom fieldset ``name``; nobody but superusers holds it yet. Audited.

    Raises ``FieldsetExists`` or the model's ``ValidationError`` (name, fields).
    """
    if Fieldset.objects.filter(name=name).exists():
        raise FieldsetExists
    fieldset = Fieldset(name=name, fields=fields, description=description)
    try:
        with transaction.atomic(), acting_as(actor):  # audited by permissions.history
            fieldset.save()
    except IntegrityError:  # created meanwhile by someone else
        raise FieldsetExists from None
    return fieldset


@transaction.atomic
def fieldset_update(
    *, actor: Actor, name: str, fields: list[str], description: str | None = None
) -> Fieldset:
    """Change the fields (and the description, unless ``None``) of custom fieldset ``name``.

    Audited with the definition before and after, unless nothing changed.
    Raises ``Fieldset.DoesNotExist``, ``ReadOnlyFieldset`` for a built-in one,
    or the model's ``ValidationError``.
    """
    fieldset = Fieldset.objects.select_for_update().get(name=name)
    before = _definition(fieldset)
    fieldset.fields = fields
    if description is not None:
        fieldset.description = description
    after = _definition(fieldset)
    if after != before:
        with acting_as(actor):  # audited by permissions.history
            fieldset.save()
    return fieldset


@transaction.atomic
def fieldset_delete(*, actor: Actor, name: str) -> None:
    """Delete custom fieldset ``name`` and every grant of it. Audited."""
    fieldset = Fieldset.objects.select_for_update().get(name=name)
    with acting_as(actor):  # audited by permissions.history
        fieldset.delete()


class NothingToReveal(Exception):
    """The principal holds no fieldset that a reveal would show on this session."""


class RevealNotRequired(Exception):
    """The session's application shows the fieldsets a principal holds without a reveal."""


def clean_reason(reason: object) -> str:
    """A reveal's reason as it is stored: text, trimmed, bounded, personal data masked.

    The reason goes into the audit trail, which must not hold a customer's
    email or card number typed into it ("ticket 4711 for jane@..."); the
    detectors of ingest mask it like any client text.
    """
    if not isinstance(reason, str) or not reason.strip():
        raise ValidationError({"reason": "Give a reason or a ticket reference."})
    text = reason.strip()
    if len(text) > REASON_MAX_LENGTH:
        raise ValidationError({"reason": f"Use at most {REASON_MAX_LENGTH} characters."})
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ValidationError({"reason": "The reason is not valid Unicode text."}) from None
    if any(unicodedata.category(char) == "Cc" for char in text):
        # NUL (which PostgreSQL refuses outright), escape codes, line breaks.
        raise ValidationError({"reason": "The reason contains control characters."})
    return mask_text(text)[:REASON_MAX_LENGTH]


@transaction.atomic
def reveal_window_open(
    *,
    user: AbstractBaseUser,
    application_id: int,
    session_pk: int,
    reason: str,
    required: bool,
    revealable: bool,
) -> RevealWindow:
    """Open the user's reveal window on one session for ``RUMVAULT_REVEAL_WINDOW_SECONDS``.

    The caller (the read layer) has read the session under the user's policy
    (a 404 otherwise) and says whether its application requires a reason
    (``required``) and whether any fieldset would be revealed there
    (``revealable``); a window that could change nothing is refused rather
    than recorded. The reason is validated before either. The user's expired
    windows are removed on the way.
    """
    reason = clean_reason(reason)
    if not required:
        raise RevealNotRequired(
            "This application does not require a reason: the fieldsets you hold are shown "
            "without a reveal."
        )
    if not revealable:
        raise NothingToReveal(
            "You hold no fieldset that a reveal would show on this session's application."
        )
    now = timezone.now()
    RevealWindow.objects.filter(user_id=user.pk, expires_at__lte=now).delete()
    return RevealWindow.objects.create(
        user_id=user.pk,
        application_id=application_id,
        session_pk=session_pk,
        reason=reason,
        created_at=now,
        expires_at=now + timedelta(seconds=settings.RUMVAULT_REVEAL_WINDOW_SECONDS),
    )
