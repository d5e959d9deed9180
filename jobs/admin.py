"""Admin for background jobs: status, progress and rate; start re-masking.

Jobs are read-only here (a job's row is its own log). "Start re-masking" is
for users with ``jobs.start_remask`` (privacy officers); the job runs on the
worker (``manage.py qcluster``), and its page refreshes itself while it runs.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from jobs.models import UNFINISHED, Job
from jobs.services import JobRefused, job_start

REMASK = "remask"
START_REMASK_PERMISSION = "jobs.start_remask"


class RemaskForm(forms.Form):
    application = forms.ChoiceField(required=False, help_text="Empty: every application.")
    dry_run = forms.BooleanField(required=False, help_text="Only count what would change.")

    def __init__(self, *args: Any, slugs: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = [("", "every application"), *((slug, slug) for slug in slugs)]
        self.fields["application"].choices = choices  # type: ignore[attr-defined]  # a ChoiceField


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    list_display = ("id", "kind", "state", "progress", "rate_text", "started_by", "created_at",
                    "finished_at")  # fmt: skip
    list_filter = ("kind", "state")
    readonly_fields = ("kind", "params", "state", "progress", "rate_text", "counts", "runs",
                       "started_by", "created_at", "started_at", "finished_at", "heartbeat_at",
                       "error")  # fmt: skip
    exclude = ("cursor", "done", "total", "active_seconds")
    change_list_template = "admin/jobs/job/change_list.html"
    change_form_template = "admin/jobs/job/change_form.html"

    @admin.display(description="Progress")
    def progress(self, job: Job) -> str:
        if job.total is None:
            return f"{job.done:,}"
        percent = job.percent or 0.0
        return format_html(
            '<progress max="100" value="{}"></progress> {}% ({} of {})',
            f"{percent:.0f}", f"{percent:.1f}", f"{job.done:,}", f"{job.total:,}",
        )  # fmt: skip

    @admin.display(description="Rate")
    def rate_text(self, job: Job) -> str:
        return "" if job.rate is None else f"{job.rate:,.0f}/s"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_urls(self) -> list[Any]:
        return [
            path(
                "start-remask/",
                self.admin_site.admin_view(self.start_remask_view),
                name="jobs_job_start_remask",
            ),
            *super().get_urls(),
        ]

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> Any:
        job = Job.objects.filter(pk=object_id).first() if object_id else None
        extra = {**(extra_context or {}), "refresh": job is not None and job.state in UNFINISHED}
        return super().changeform_view(request, object_id, form_url, extra)

    def start_remask_view(self, request: HttpRequest) -> HttpResponse:
        if not request.user.has_perm(START_REMASK_PERMISSION):
            raise PermissionDenied
        from sessions_app.admin import request_policy

        policy = request_policy(request)
        slugs = sorted(app.slug for app in policy.applications.values())
        form = RemaskForm(request.POST or None, slugs=slugs)
        if request.method == "POST" and form.is_valid():
            slug = form.cleaned_data["application"] or None
            if slug is None and not policy.reads_all_applications:
                form.add_error("application", "Choose an application: you do not read them all.")
            else:
                try:
                    job = job_start(
                        kind=REMASK,
                        params={"application": slug, "dry_run": form.cleaned_data["dry_run"]},
                        user=request.user,
                    )
                except JobRefused as refused:
                    raise PermissionDenied(str(refused)) from None
                messages.info(request, f"Re-masking job {job.pk} is {job.state}.")
                return HttpResponseRedirect(reverse("admin:jobs_job_change", args=[job.pk]))
        context = {
            **self.admin_site.each_context(request),
            "title": "Start re-masking stored data",
            "form": form,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/jobs/job/start_remask.html", context)
