"""Admin: data-subject requests, read-only, with an "approve" action that keeps the two-person rule.

Requests are created in the console or through the API (the customer's email
is typed once and never shown again); the admin lists them and lets a second
officer approve, through the same service, so the rule cannot be bypassed here.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from data_subjects import services
from data_subjects.models import DataSubjectRequest
from permissions.audit import Actor


@admin.register(DataSubjectRequest)
class DataSubjectRequestAdmin(admin.ModelAdmin):
    list_display = ("id", "kind", "status", "ticket", "created_by_username", "created_at",
                    "approved_by_username", "progress_done", "progress_total")  # fmt: skip
    list_filter = ("kind", "status")
    search_fields = ("ticket",)
    date_hierarchy = "created_at"
    # Never the ciphertexts of the customer's tag or export.
    fields = readonly_fields = (
        "kind", "status", "reason", "ticket", "created_by_username", "created_at",
        "approved_by_username", "approved_at", "run_by_username", "started_at", "heartbeat_at",
        "finished_at", "dry_run", "found", "done", "progress_done", "progress_total",
        "checkpoint", "last_error", "export_expires_at", "receipt",
    )  # fmt: skip
    actions = ["approve"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(
        self, request: HttpRequest, obj: DataSubjectRequest | None = None
    ) -> bool:
        return False

    def has_delete_permission(
        self, request: HttpRequest, obj: DataSubjectRequest | None = None
    ) -> bool:
        return False

    @admin.action(description="Approve (as a second privacy officer) and run")
    def approve(self, request: HttpRequest, queryset: QuerySet[DataSubjectRequest]) -> None:
        actor = Actor.of(request)
        for item in queryset:
            try:
                services.request_approve(user=request.user, actor=actor, request_id=item.pk)
            except services.RequestRefused as refused:
                self.message_user(request, f"Request {item.pk}: {refused.message}", messages.ERROR)
            else:
                self.message_user(request, f"Request {item.pk} approved.", messages.SUCCESS)
