"""Admin: the audit trail (read-only, never deleted) and the per-application grants.

Global grants are the ordinary model-level permissions "Can read sessions",
"Can reveal fieldset ..." and "Can see fieldset ... partially" on users and
groups, edited in the auth admin.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.contrib import admin
from django.contrib.auth.models import Permission
from django.db.models import ForeignKey, Q, QuerySet
from django.forms import ModelChoiceField
from django.http import HttpRequest

from fieldsets.models import PARTIAL_CODENAME_PREFIX, REVEAL_CODENAME_PREFIX
from permissions import fieldset_admin  # noqa: F401 (registers the fieldset admin)
from permissions.models import (
    AUDIT_CHAIN_FIELDS,
    AUDIT_RECORD_FIELDS,
    READ_SESSIONS,
    ApplicationGroupObjectPermission,
    ApplicationUserObjectPermission,
    AuditCheckpoint,
    AuditRecord,
)


@admin.register(AuditRecord)
class AuditRecordAdmin(admin.ModelAdmin):
    list_display = (
        "seq", "created_at", "username", "kind", "method", "path", "applications", "reason"
    )  # fmt: skip
    list_filter = ("kind",)
    search_fields = ("username", "path")
    date_hierarchy = "created_at"
    actions = None
    fields = readonly_fields = (*AUDIT_RECORD_FIELDS, *AUDIT_CHAIN_FIELDS)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: AuditRecord | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: AuditRecord | None = None) -> bool:
        return False


def _grant_permissions() -> Q:
    return Q(content_type__app_label="sessions_app", content_type__model="application") & (
        Q(codename=READ_SESSIONS)
        | Q(codename__startswith=REVEAL_CODENAME_PREFIX)
        | Q(codename__startswith=PARTIAL_CODENAME_PREFIX)
    )


class _GrantAdmin(admin.ModelAdmin):
    list_filter = ("content_object", "permission")
    list_select_related: ClassVar[tuple[str, ...]] = ("permission", "content_object")

    def formfield_for_foreignkey(
        self, db_field: ForeignKey, request: HttpRequest, **kwargs: Any
    ) -> ModelChoiceField | None:
        if db_field.name == "permission":
            kwargs["queryset"] = Permission.objects.filter(_grant_permissions())
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related(*self.list_select_related)


@admin.register(ApplicationUserObjectPermission)
class ApplicationUserGrantAdmin(_GrantAdmin):
    list_display = ("user", "permission", "content_object")
    list_select_related = ("user", "permission", "content_object")
    search_fields = ("user__username",)


@admin.register(ApplicationGroupObjectPermission)
class ApplicationGroupGrantAdmin(_GrantAdmin):
    list_display = ("group", "permission", "content_object")
    list_select_related = ("group", "permission", "content_object")
    search_fields = ("group__name",)


@admin.register(AuditCheckpoint)
class AuditCheckpointAdmin(admin.ModelAdmin):
    """Sealed positions of the audit chain (retention, key rotation); read-only."""

    list_display = ("seq", "reason", "created_at", "hash")
    actions = None
    fields = readonly_fields = ("seq", "hash", "reason", "detail", "created_at", "seal")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(
        self, request: HttpRequest, obj: AuditCheckpoint | None = None
    ) -> bool:
        return False

    def has_delete_permission(
        self, request: HttpRequest, obj: AuditCheckpoint | None = None
    ) -> bool:
        return False
