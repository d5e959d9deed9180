"""Admin: key rotations and retention runs, read-only (they are started by commands or jobs)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from maintenance.models import KeyRotation, RetentionRun


class _ReadOnly(admin.ModelAdmin):
    actions = None

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(KeyRotation)
class KeyRotationAdmin(_ReadOnly):
    list_display = ("keyring", "target_key_id", "status", "progress_done", "progress_total",
                    "started_by", "started_at", "finished_at")  # fmt: skip
    list_filter = ("keyring", "status")
    readonly_fields = ("keyring", "target_key_id", "status", "started_by", "started_at",
                       "heartbeat_at", "finished_at", "progress_done", "progress_total",
                       "checkpoint", "rekeyed", "report", "last_error")  # fmt: skip


@admin.register(RetentionRun)
class RetentionRunAdmin(_ReadOnly):
    list_display = ("id", "status", "dry_run", "started_by", "started_at", "finished_at")
    list_filter = ("status", "dry_run")
    readonly_fields = ("status", "dry_run", "started_by", "started_at", "finished_at", "deleted",
                       "last_error")  # fmt: skip
