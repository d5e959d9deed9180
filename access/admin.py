"""API tokens in the admin: who holds one and until when, never the token.

Tokens are created with ``manage.py drf_create_token`` (the key is printed
once); the admin lists them by a short prefix and can delete them (revoke).
"""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from access.models import ApiToken


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):  # type: ignore[type-arg]  # not subscriptable at runtime
    list_display = ("displayed_prefix", "user", "created", "expiry")
    list_display_links = None
    list_select_related = ("user",)
    search_fields = ("user__username",)
    fields = ("displayed_prefix", "user", "created", "expiry")
    readonly_fields = fields

    @admin.display(description="token starts with")
    def displayed_prefix(self, token: ApiToken) -> str:
        return f"{token.displayed_prefix}…"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # the key must be shown once, by drf_create_token

    def has_change_permission(self, request: HttpRequest, obj: ApiToken | None = None) -> bool:
        return False
