"""Admin for applications: privacy settings editable, the ingest token never shown.

Applications are created with ``manage.py create_application`` (which prints
the token once), so the admin offers no "add" form that would have to show it.
"""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from sessions_app.models import Application


@admin.register(Application)
class ApplicationAdmin(admin.ModelAdmin):
    list_display = ("slug", "name", "ip_masking", "user_tag_storage", "retention_days")
    search_fields = ("slug", "name")
    readonly_fields = ("slug", "created_at")
    fieldsets = (
        (None, {"fields": ("slug", "name", "created_at")}),
        (
            "Privacy settings (apply to data ingested after a change)",
            {
                "fields": (
                    "ip_masking",
                    "mask_personal_data_in_uris",
                    "do_not_track",
                    "allowed_properties",
                    "user_tag_storage",
                    "retention_days",
                )
            },
        ),
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
