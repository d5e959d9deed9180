"""Admin for masking rules: list in the order ingest applies them, edit, preview.

Changes go through ``masking_rules.services`` (the whole list validated, every
change audited) like the API's; errors are shown on the form's fields. Reading
needs ``masking_rules.view_maskingrule`` or ``manage_rules``, changing
``manage_rules``; an application's rules exist only for staff with record
access to it, environment-wide rules are changed only by staff reading every
application. "Preview" masks a sample beacon (or one string) with the stored
rules and the application's settings, storing nothing.
"""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import path

from fieldsets.registry import SelectorInvalid
from masking_rules.models import MANAGE_RULES_PERMISSION, VIEW_RULES_PERMISSION, MaskingRule
from masking_rules.preview import PreviewInvalid, preview_beacon, preview_text
from masking_rules.selectors import readable_application
from masking_rules.services import rule_delete, rule_update, rules_create
from masking_rules.validation import RuleInput, RulesInvalid, parse_rule
from permissions.audit import Actor
from sessions_app.admin import request_policy
from sessions_app.models import Application


class MaskingRuleForm(forms.ModelForm):
    class Meta:
        model = MaskingRule
        fields = (
            "application",
            "name",
            "order",
            "selector",
            "detector",
            "pattern",
            "method",
            "replacement",
            "confirm_catch_all",
        )

    def __init__(self, *args: Any, request: HttpRequest | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.request = request
        self.rule_input: RuleInput | None = None
        if request is not None:
            readable = list(request_policy(request).applications)
            field = self.fields["application"]
            field.queryset = Application.objects.filter(pk__in=readable)  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.errors:
            return data
        application = data.get("application")
        body = {
            "application": None if application is None else application.slug,
            "name": data.get("name"),
            "order": data.get("order"),
            "selector": data.get("selector"),
            "detector": data.get("detector") or None,
            "pattern": data.get("pattern") or None,
            "method": data.get("method"),
            "replacement": data.get("replacement") or "",
            "confirm_catch_all": bool(data.get("confirm_catch_all")),
        }
        rule, errors = parse_rule(
            body, path="", application_of=lambda slug: _readable_application(self.request, slug)
        )
        if (
            rule is not None
            and rule.application is None
            and self.request is not None
            and not request_policy(self.request).reads_all_applications
        ):
            message = "environment-wide rules apply to every application: only staff reading "
            errors.append({"path": "/application", "message": message + "all may change them"})
        _raise_on_form(errors)
        self.rule_input = rule
        return data


def _readable_application(request: HttpRequest | None, slug: str) -> Application | None:
    if request is None:
        return None
    return readable_application(policy=request_policy(request), slug=slug)


def _raise_on_form(errors: list[dict[str, str]]) -> None:
    if not errors:
        return
    by_field: dict[str, list[str]] = {}
    for error in errors:
        name = error["path"].strip("/").split("/")[-1] if error["path"] else ""
        by_field.setdefault(name if name in MaskingRuleForm.Meta.fields else "__all__", []).append(
            error["message"]
        )
    raise ValidationError(
        {
            name if name != "__all__" else NON_FIELD_ERRORS: messages
            for name, messages in by_field.items()
        }
    )


@admin.register(MaskingRule)
class MaskingRuleAdmin(admin.ModelAdmin):
    form = MaskingRuleForm
    list_display = ("name", "scope_label", "order", "selector", "matcher", "method")
    list_display_links = ("name",)
    change_list_template = "admin/masking_rules/maskingrule/change_list.html"

    @admin.display(description="Scope")
    def scope_label(self, rule: MaskingRule) -> str:
        return "environment" if rule.application is None else rule.application.slug

    @admin.display(description="Matcher")
    def matcher(self, rule: MaskingRule) -> str:
        return f"detector {rule.detector}" if rule.detector else f"pattern {rule.pattern}"

    def get_queryset(self, request: HttpRequest) -> QuerySet[MaskingRule]:
        readable = list(request_policy(request).applications)
        queryset = super().get_queryset(request).select_related("application")
        return queryset.filter(application__isnull=True) | queryset.filter(
            application_id__in=readable
        )

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False,
                 **kwargs: Any) -> Any:  # fmt: skip
        form_class = super().get_form(request, obj, change=change, **kwargs)

        class RequestForm(form_class):  # type: ignore[valid-type, misc]
            def __init__(self, *args: Any, **inner: Any) -> None:
                super().__init__(*args, request=request, **inner)

        return RequestForm

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        user = request.user
        return user.has_perm(VIEW_RULES_PERMISSION) or user.has_perm(MANAGE_RULES_PERMISSION)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self.has_view_permission(request)

    def _can_manage(self, request: HttpRequest, obj: MaskingRule | None) -> bool:
        if not request.user.has_perm(MANAGE_RULES_PERMISSION):
            return False
        if obj is not None and obj.application is None:
            return request_policy(request).reads_all_applications
        return True

    def has_add_permission(self, request: HttpRequest) -> bool:
        return self._can_manage(request, None)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._can_manage(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._can_manage(request, obj)

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        return {}  # no bulk delete: each deletion is audited through the service

    def save_model(self, request: HttpRequest, obj: MaskingRule, form: Any, change: bool) -> None:
        actor = Actor.of(request)
        data = form.rule_input
        try:
            if change:
                saved = rule_update(actor=actor, rule=obj, data=data)
            else:
                saved = rules_create(actor=actor, rules=[data])[0]
        except RulesInvalid as invalid:
            _raise_on_form(invalid.errors)
            return
        obj.pk = saved.pk

    def delete_model(self, request: HttpRequest, obj: MaskingRule) -> None:
        rule_delete(actor=Actor.of(request), rule=obj)

    def get_urls(self) -> list[Any]:
        return [
            path(
                "preview/",
                self.admin_site.admin_view(self.preview_view),
                name="masking_rules_maskingrule_preview",
            ),
            *super().get_urls(),
        ]

    def preview_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        form = PreviewForm(request.POST or None, request=request)
        result: dict[str, Any] | None = None
        errors: list[dict[str, str]] = []
        if request.method == "POST" and form.is_valid():
            application = form.cleaned_data["application"]
            try:
                if form.cleaned_data["beacon"]:
                    result = preview_beacon(
                        application=application, beacon=form.cleaned_data["beacon"]
                    )
                else:
                    result = preview_text(
                        application=application,
                        path=form.cleaned_data["path"],
                        text=form.cleaned_data["text"],
                    )
            except PreviewInvalid as invalid:
                errors = invalid.errors
            except SelectorInvalid as refused:
                errors = [{"path": "/path", "message": str(refused)}]
        if request.method == "POST":
            # Never echo the sample: a fresh form, only the application kept.
            chosen = form.cleaned_data.get("application") if form.is_valid() else None
            form = PreviewForm(initial={"application": chosen}, request=request)
        context = {
            **self.admin_site.each_context(request),
            "title": "Preview masking",
            "form": form,
            "errors": errors,
            "result": None if result is None else json.dumps(result, indent=2, default=str),
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/masking_rules/maskingrule/preview.html", context)


class PreviewForm(forms.Form):
    application = forms.ModelChoiceField(queryset=Application.objects.none())
    beacon = forms.JSONField(
        required=False, help_text="One session as in an ingest batch, or leave empty and give "
        "a path and a text.",
        widget=forms.Textarea(attrs={"rows": 14, "cols": 90}),
    )  # fmt: skip
    path = forms.CharField(required=False, help_text="e.g. actions.error_message")
    text = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3, "cols": 90}))

    def __init__(self, *args: Any, request: HttpRequest, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        readable = list(request_policy(request).applications)
        field = self.fields["application"]
        field.queryset = Application.objects.filter(pk__in=readable)  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("beacon") and not (data.get("path") and data.get("text") is not None):
            raise ValidationError("Give a beacon, or a path and a text.")
        return data
