"""Fieldset admin: custom fieldsets, changed only after their impact was shown.

Here, not in ``fieldsets/``: the page is a read path over the policy and the
audited services, which sit above the registry (``docs/architecture.md``);
``permissions.admin`` imports it, which registers it.

Holders of ``fieldsets.add_fieldset`` / ``change_fieldset`` / ``delete_fieldset``
(superusers hold them all) manage custom fieldsets, as over the API; built-ins
are read-only for everyone.

Saving is two steps. A valid form is not saved but answered with the impact
page (``permissions.impact``): which users and groups would lose or gain which
fields, where. Its "Confirm" button posts the same form again with
``_confirm_impact``; only then is it saved, through the audited services
(``permissions.services``). The delete confirmation page shows who would gain
which fields. Fieldsets fail closed: a new one hides its fields from
everyone who does not hold it, the privacy officer included, so nobody should
save one unseen.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.forms import ModelForm
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from fieldsets.models import Fieldset
from permissions.audit import Actor
from permissions.impact import fieldset_impact
from permissions.services import fieldset_create, fieldset_delete, fieldset_update

CONFIRM = "_confirm_impact"


@admin.register(Fieldset)
class FieldsetAdmin(admin.ModelAdmin):
    list_display = ("name", "builtin", "field_list", "description")
    list_filter = ("builtin",)
    search_fields = ("name", "description")
    readonly_fields = ("builtin", "created_at")
    actions = None  # bulk delete would bypass the per-object checks below
    impact_template = "admin/fieldsets/fieldset/impact.html"
    delete_confirmation_template = "admin/fieldsets/fieldset/delete_confirmation.html"

    @admin.display(description="fields")
    def field_list(self, obj: Fieldset) -> str:
        return ", ".join(obj.fields)

    def get_readonly_fields(self, request: HttpRequest, obj: Fieldset | None = None) -> tuple:
        if obj is not None:
            # The name is immutable: it is the grant's permission codename and
            # the label in past audit records.
            return ("name", "builtin", "created_at")
        return self.readonly_fields

    def has_change_permission(self, request: HttpRequest, obj: Fieldset | None = None) -> bool:
        return super().has_change_permission(request, obj) and not (obj is not None and obj.builtin)

    def has_delete_permission(self, request: HttpRequest, obj: Fieldset | None = None) -> bool:
        return super().has_delete_permission(request, obj) and not (obj is not None and obj.builtin)

    # --- impact first ---------------------------------------------------------------
    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        if request.method == "POST" and CONFIRM not in request.POST:
            preview = self.impact_view(request, object_id)
            if preview is not None:
                return preview
        return super().changeform_view(request, object_id, form_url, extra_context)

    def impact_view(self, request: HttpRequest, object_id: str | None) -> HttpResponse | None:
        """The impact page for a valid form; ``None`` leaves everything else to Django.

        (Django then refuses what the user may not do, and shows an invalid
        form with its errors, exactly as without this step.)
        """
        obj = self.get_object(request, unquote(object_id)) if object_id else None
        if object_id and (obj is None or not self.has_change_permission(request, obj)):
            return None
        if obj is None and not self.has_add_permission(request):
            return None
        form_class = self.get_form(request, obj, change=obj is not None)
        form = form_class(request.POST, request.FILES, instance=obj)
        if not form.is_valid():
            return None
        name = obj.name if obj is not None else form.cleaned_data["name"]
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"Confirm the change of fieldset {name}",
            "name": name,
            "fields": form.cleaned_data["fields"],
            "impact": fieldset_impact(name=name, fields=form.cleaned_data["fields"]),
            # Posted again as they came, with the confirmation.
            "posted": [
                (key, value)
                for key, values in request.POST.lists()
                if key != "csrfmiddlewaretoken"
                for value in values
            ],
            "confirm": CONFIRM,
            "original": obj,
        }
        return TemplateResponse(request, self.impact_template, context)

    def delete_view(
        self, request: HttpRequest, object_id: str, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        obj = self.get_object(request, unquote(object_id))
        if obj is not None and request.method != "POST":
            extra_context = {
                **(extra_context or {}),
                "impact": fieldset_impact(name=obj.name, fields=None),
            }
        return super().delete_view(request, object_id, extra_context)

    # --- writes through the audited services -------------------------------------------
    def save_model(
        self, request: HttpRequest, obj: Fieldset, form: ModelForm, change: bool
    ) -> None:
        actor = Actor.of(request)
        if change:
            saved = fieldset_update(
                actor=actor, name=obj.name, fields=obj.fields, description=obj.description
            )
        else:
            saved = fieldset_create(
                actor=actor, name=obj.name, fields=obj.fields, description=obj.description
            )
        # The admin goes on with ``obj`` (messages, redirect to its page).
        obj.pk, obj.permission_id, obj.created_at = saved.pk, saved.permission_id, saved.created_at

    def delete_model(self, request: HttpRequest, obj: Fieldset) -> None:
        fieldset_delete(actor=Actor.of(request), name=obj.name)
