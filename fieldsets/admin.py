"""Fieldset admin: superusers manage custom fieldsets; built-ins are read-only for everyone."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from fieldsets.models import Fieldset


@admin.register(Fieldset)
class FieldsetAdmin(admin.ModelAdmin):
    list_display = ("name", "builtin", "field_list", "description")
    list_filter = ("builtin",)
    search_fields = ("name", "description")
    readonly_fields = ("builtin", "created_at")
    actions = None  # bulk delete would bypass the per-object checks below

    @admin.display(description="fields")
    def field_list(self, obj: Fieldset) -> str:
        return ", ".join(obj.fields)

    def get_readonly_fields(self, request: HttpRequest, obj: Fieldset | None = None) -> tuple:
        if obj is not None:
            # The name is immutable: it is the grant's permission codename and
            # the label in past audit records.
            return ("name", "builtin", "created_at")
        return self.readonly_fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return request.user.is_superuser

    def has_change_permission(self, request: HttpRequest, obj: Fieldset | None = None) -> bool:
        return request.user.is_superuser and not (obj is not None and obj.builtin)

    def has_delete_permission(self, request: HttpRequest, obj: Fieldset | None = None) -> bool:
        return request.user.is_superuser and not (obj is not None and obj.builtin)

    def has_view_permission(self, request: HttpRequest, obj: Fieldset | None = None) -> bool:
        return request.user.is_superuser or super().has_view_permission(request, obj)
