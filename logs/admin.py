"""Admin of capture rules (the log agent's masking rules). Log records themselves are
read-only in ``sessions_app.admin``, through the read layer like every read path."""

from __future__ import annotations

from django.contrib import admin

from logs.models import CaptureRule


@admin.register(CaptureRule)
class CaptureRuleAdmin(admin.ModelAdmin):
    list_display = ("name", "level", "target", "application", "order", "selector", "method")
    list_filter = ("level", "method")
    ordering = ("level", "target", "order", "name")
