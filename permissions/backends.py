"""Object permissions on applications, answered by the fieldset policy.

django-guardian's backend answers ``user.has_perm(perm, obj)`` from
object-permission rows alone. A grant for every application is the same
permission held at model level (see ``permissions.services``), which guardian
does not look at, so ``user.has_perm("sessions_app.read_sessions", app)``
said ``False`` for a global grant while every read path (through
``FieldsetPolicy``) let the user read the application. This backend replaces
guardian's in ``AUTHENTICATION_BACKENDS``: for the grant permissions
(``read_sessions``, ``reveal_<fieldset>``, ``partial_reveal_<fieldset>``) on an
``Application`` it asks the
policy, the one place that decides (user and group grants, per application
and global, superusers, inactive users, "a fieldset needs record access");
every other object permission is still guardian's.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Model
from guardian.backends import ObjectPermissionBackend

from fieldsets.models import (
    PARTIAL_CODENAME_PREFIX,
    REVEAL_CODENAME_PREFIX,
    partial_codename,
    reveal_codename,
)
from permissions.models import READ_SESSIONS
from permissions.policy import FieldsetPolicy
from sessions_app.models import Application

_APP_LABEL = Application._meta.app_label


def _grant_codename(perm: str) -> str | None:
    """``sessions_app.read_sessions`` / ``read_sessions`` -> ``read_sessions``; None if no grant."""
    app_label, _, codename = perm.rpartition(".")
    if app_label not in ("", _APP_LABEL):
        return None
    if codename == READ_SESSIONS or codename.startswith(
        (REVEAL_CODENAME_PREFIX, PARTIAL_CODENAME_PREFIX)
    ):
        return codename
    return None


def granted_codenames(user: Any, application: Application) -> set[str]:
    """The grant permissions ``user`` holds on ``application``, as the policy sees them."""
    policy = FieldsetPolicy(user=user)
    if not policy.can_read(application.pk):
        return set()
    return (
        {READ_SESSIONS}
        | {
            reveal_codename(name)
            for name, _ in policy.fieldsets
            if policy.holds(name, application.pk)
        }
        | {
            partial_codename(name)
            for name, _ in policy.fieldsets
            if policy.holds_partially(name, application.pk)
        }
    )


class GrantBackend(ObjectPermissionBackend):
    def has_perm(self, user_obj: Any, perm: str, obj: Model | None = None) -> bool:
        if isinstance(obj, Application):
            codename = _grant_codename(perm)
            if codename is not None:
                return codename in granted_codenames(user_obj, obj)
        return super().has_perm(user_obj, perm, obj)

    def get_all_permissions(self, user_obj: Any, obj: Model | None = None) -> set[str]:
        permissions = set(super().get_all_permissions(user_obj, obj))
        if isinstance(obj, Application):
            # guardian's rows minus its view of the grants, plus the policy's.
            permissions = {p for p in permissions if _grant_codename(p) is None}
            permissions |= granted_codenames(user_obj, obj)
        return permissions
