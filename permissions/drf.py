"""DRF permission classes of the read API.

Record access and fieldsets are not permission classes: they are answered per
application by ``permissions.policy.FieldsetPolicy`` (a session of another
application is a 404, a hidden field is masked or a 403 naming it).
"""

from __future__ import annotations

from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.views import APIView

VIEW_AUDIT_PERMISSION = "permissions.view_auditrecord"


class CanViewAuditRecords(BasePermission):
    message = f"Reading the audit trail needs the '{VIEW_AUDIT_PERMISSION}' permission."

    def has_permission(self, request: Request, view: APIView) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and user.has_perm(VIEW_AUDIT_PERMISSION))


ADD_FIELDSET = "fieldsets.add_fieldset"
CHANGE_FIELDSET = "fieldsets.change_fieldset"


class CanEditFieldsets(BasePermission):
    """Fieldset writes and their impact preview: ``add_fieldset`` or ``change_fieldset``.

    The view then asks for the one its request needs (creating, changing).
    """

    message = f"Changing fieldsets needs the '{ADD_FIELDSET}' or '{CHANGE_FIELDSET}' permission."

    def has_permission(self, request: Request, view: APIView) -> bool:
        user = request.user
        return bool(
            user
            and user.is_authenticated
            and (user.has_perm(ADD_FIELDSET) or user.has_perm(CHANGE_FIELDSET))
        )
