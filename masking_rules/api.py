"""``/api/v1/privacy/rules/``: list, create, retrieve, update, delete masking rules; preview.

Thin views: parse JSON (``masking_rules.validation``), call the services, render
``rule_json``. Reading needs ``masking_rules.view_maskingrule`` or
``masking_rules.manage_rules``; writing needs ``masking_rules.manage_rules``.
An application's rules exist only for principals with record access to it (a
404 like a missing id otherwise); environment-wide rules are written only by
principals who read every application, since they apply to all of them.

A ``400`` is the ingest error shape, ``{"errors": [{"path": <JSON pointer into
the body>, "message": ...}]}``, also for malformed JSON and unknown parameters;
``401``, ``403`` and ``404`` are ``{"detail": ...}`` like the rest of the API.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound, ParseError, PermissionDenied
from rest_framework.parsers import JSONParser
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.renderers import JSONRenderer
from fieldsets.registry import SelectorInvalid
from masking_rules import schema
from masking_rules.models import MANAGE_RULES_PERMISSION, VIEW_RULES_PERMISSION, MaskingRule
from masking_rules.preview import PreviewInvalid, preview_beacon, preview_text
from masking_rules.selectors import readable_application, rule_list
from masking_rules.services import rule_delete, rule_json, rule_update, rules_create
from masking_rules.validation import RuleInput, RulesInvalid, input_of, parse_rule
from permissions.audit import Actor
from permissions.policy import FieldsetPolicy
from sessions_app.api.renderers import RefusalQuietBrowsableAPIRenderer
from sessions_app.models import Application

APPLICATION_PARAM = "application"


class CanReadRules(BasePermission):
    message = (
        f"Masking rules need '{VIEW_RULES_PERMISSION}' (to read) or "
        f"'{MANAGE_RULES_PERMISSION}' (to read and change)."
    )

    def has_permission(self, request: Request, view: APIView) -> bool:
        user = request.user
        return bool(
            user
            and user.is_authenticated
            and (user.has_perm(VIEW_RULES_PERMISSION) or user.has_perm(MANAGE_RULES_PERMISSION))
        )


class RulesView(APIView):
    permission_classes = [IsAuthenticated, CanReadRules]
    parser_classes = [JSONParser]
    renderer_classes = [JSONRenderer, RefusalQuietBrowsableAPIRenderer]
    query_params: tuple[str, ...] = ()

    @property
    def policy(self) -> FieldsetPolicy:
        return self.request.reader.policy  # type: ignore[attr-defined, no-any-return]

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        names = list(request.query_params)
        if any(name not in self.query_params for name in names) or any(
            len(request.query_params.getlist(name)) != 1 for name in names
        ):
            allowed = ", ".join(self.query_params) or "none"
            raise RulesInvalid([{"path": "", "message": f"Query parameters allowed: {allowed}."}])

    def handle_exception(self, exc: Exception) -> Response:
        if isinstance(exc, RulesInvalid | PreviewInvalid):
            return Response({"errors": exc.errors}, status=status.HTTP_400_BAD_REQUEST)
        if isinstance(exc, ParseError):
            message = "The body is not valid JSON."
            return Response({"errors": [{"path": "", "message": message}]}, status=400)
        # 401, 403, 404: {"detail": ...}, like every other endpoint of the API.
        return super().handle_exception(exc)

    def require_manage(self) -> None:
        if not self.request.user.has_perm(MANAGE_RULES_PERMISSION):
            raise PermissionDenied(f"Changing masking rules needs '{MANAGE_RULES_PERMISSION}'.")

    def application_of(self, slug: str) -> Application | None:
        return readable_application(policy=self.policy, slug=slug)

    def check_scope(self, rule: RuleInput | MaskingRule, path: str) -> None:
        """Environment-wide rules apply to every application: written by those reading all."""
        if rule.application is None and not self.policy.reads_all_applications:
            raise RulesInvalid(
                [{"path": f"{path}/application", "message": "environment-wide rules apply to "
                  "every application: only principals who read all of them may change them"}]
            )  # fmt: skip

    def actor(self) -> Actor:
        return Actor.of(self.request._request)

    def rule_or_404(self, pk: int) -> MaskingRule:
        rule = rule_list(application_ids=self.policy.applications).filter(pk=pk).first()
        if rule is None:
            raise NotFound("No such rule, or not one you can read.")
        return rule


class RuleListView(RulesView):
    """Masking rules in the order ingest applies them: environment-wide, then per application."""

    query_params = (APPLICATION_PARAM,)

    @extend_schema(
        operation_id="privacy_rules_list",
        summary="Masking rules (environment-wide first, then per application, by order)",
        parameters=[
            OpenApiParameter(
                APPLICATION_PARAM,
                str,
                description="Only the environment-wide rules and this application's.",
            )
        ],
        responses={200: schema.RuleSerializer(many=True), **schema.RULE_ERRORS},
    )
    def get(self, request: Request) -> Response:
        readable = list(self.policy.applications)
        slug = request.query_params.get(APPLICATION_PARAM)
        if slug is not None:
            application = self.application_of(slug)
            if application is None:
                raise RulesInvalid(
                    [{"path": "", "message": "application: no application you can read "
                      "has this slug"}]
                )  # fmt: skip
            readable = [application.pk]
        return Response([rule_json(rule) for rule in rule_list(application_ids=readable)])

    @extend_schema(
        operation_id="privacy_rules_create",
        summary="Create a rule, or several at once (a JSON array, saved whole or not at all)",
        request=schema.RuleSerializer,
        responses={201: schema.RuleSerializer, **schema.RULE_ERRORS},
    )
    def post(self, request: Request) -> Response:
        self.require_manage()
        many = isinstance(request.data, list)
        items = request.data if many else [request.data]
        if many and not items:
            raise RulesInvalid([{"path": "", "message": "give at least one rule"}])
        rules: list[RuleInput] = []
        paths: list[str] = []
        errors: list[dict[str, str]] = []
        for index, item in enumerate(items):
            path = f"/{index}" if many else ""
            if isinstance(item, dict) and "application" not in item:
                errors.append({"path": f"{path}/application", "message": "is required (a "
                               "slug, or null for an environment-wide rule)"})  # fmt: skip
                continue
            rule, found = parse_rule(item, path=path, application_of=self.application_of)
            errors += found
            if rule is not None:
                try:
                    self.check_scope(rule, path)
                except RulesInvalid as refused:
                    errors += refused.errors
                    continue
                rules.append(rule)
                paths.append(path)
        if errors:
            raise RulesInvalid(errors)
        created = rules_create(actor=self.actor(), rules=rules, paths=paths)
        body = [rule_json(rule) for rule in created]
        return Response(body if many else body[0], status=status.HTTP_201_CREATED)


class RuleDetailView(RulesView):
    @extend_schema(
        operation_id="privacy_rules_retrieve",
        summary="One masking rule",
        responses={200: schema.RuleSerializer, **schema.RULE_DETAIL_ERRORS},
    )
    def get(self, request: Request, pk: int) -> Response:
        return Response(rule_json(self.rule_or_404(pk)))

    @extend_schema(
        operation_id="privacy_rules_update",
        summary="Replace a masking rule (every key)",
        request=schema.RuleSerializer,
        responses={200: schema.RuleSerializer, **schema.RULE_DETAIL_ERRORS},
    )
    def put(self, request: Request, pk: int) -> Response:
        return self._update(request, pk, partial=False)

    @extend_schema(
        operation_id="privacy_rules_partial_update",
        summary="Change some keys of a masking rule",
        request=schema.RuleSerializer,
        responses={200: schema.RuleSerializer, **schema.RULE_DETAIL_ERRORS},
    )
    def patch(self, request: Request, pk: int) -> Response:
        return self._update(request, pk, partial=True)

    def _update(self, request: Request, pk: int, *, partial: bool) -> Response:
        self.require_manage()
        rule = self.rule_or_404(pk)
        self.check_scope(rule, "")
        base = input_of(rule) if partial else None
        if not partial and isinstance(request.data, dict) and "application" not in request.data:
            raise RulesInvalid([{"path": "/application", "message": "is required"}])
        data, errors = parse_rule(
            request.data, path="", application_of=self.application_of, base=base
        )
        if data is None:
            raise RulesInvalid(errors)
        self.check_scope(data, "")
        return Response(rule_json(rule_update(actor=self.actor(), rule=rule, data=data)))

    @extend_schema(
        operation_id="privacy_rules_destroy",
        summary="Delete a masking rule",
        responses={204: None, **schema.RULE_DETAIL_ERRORS},
    )
    def delete(self, request: Request, pk: int) -> Response:
        self.require_manage()
        rule = self.rule_or_404(pk)
        self.check_scope(rule, "")
        rule_delete(actor=self.actor(), rule=rule)
        return Response(status=status.HTTP_204_NO_CONTENT)


PREVIEW_KEYS = frozenset({"application", "beacon", "path", "text", "rules"})


class RulePreviewView(RulesView):
    """What ingest would store for a sample beacon (or one string), and which rule changed
    what; with ``rules``, for proposed rules instead of the stored ones. Stores nothing."""

    @extend_schema(
        operation_id="privacy_rules_preview",
        summary="Preview masking of a sample beacon or string (nothing stored)",
        request=schema.PreviewRequestSerializer,
        responses={200: schema.PreviewResponseSerializer, **schema.RULE_ERRORS},
    )
    def post(self, request: Request) -> Response:
        body = request.data
        if not isinstance(body, dict):
            raise RulesInvalid([{"path": "", "message": "send a JSON object"}])
        errors: list[dict[str, str]] = []
        if set(body) - PREVIEW_KEYS:
            errors.append({"path": "", "message": "unknown keys; allowed: "
                           + ", ".join(sorted(PREVIEW_KEYS))})  # fmt: skip
        slug = body.get("application")
        application = self.application_of(slug) if isinstance(slug, str) else None
        if application is None:
            errors.append({"path": "/application", "message": "must be the slug of an "
                           "application you can read"})  # fmt: skip
        has_beacon, has_text = "beacon" in body, "path" in body or "text" in body
        if has_beacon == has_text:
            errors.append({"path": "", "message": "give either beacon, or path and text"})
        elif has_text and not (isinstance(body.get("path"), str)
                               and isinstance(body.get("text"), str)):  # fmt: skip
            errors.append({"path": "/text", "message": "path and text must both be texts"})
        specs = None
        if "rules" in body and application is not None:
            specs, found = self._proposed(body["rules"], application)
            errors += found
        if errors or application is None:
            raise RulesInvalid(errors)
        if has_beacon:
            return Response(
                preview_beacon(application=application, beacon=body["beacon"], specs=specs)
            )
        try:
            result = preview_text(
                application=application, path=body["path"], text=body["text"], specs=specs
            )
        except SelectorInvalid as refused:
            raise RulesInvalid([{"path": "/path", "message": str(refused)}]) from None
        return Response(result)

    def _proposed(
        self, items: object, application: Application
    ) -> tuple[list[Any], list[dict[str, str]]]:
        if not isinstance(items, list):
            return [], [{"path": "/rules", "message": "must be an array of rules"}]
        specs, errors = [], []
        for index, item in enumerate(items):
            if isinstance(item, dict):
                # A proposed rule without an application is the previewed application's.
                item = {"application": application.slug, **item}
            rule, found = parse_rule(
                item, path=f"/rules/{index}", application_of=self.application_of
            )
            errors += found
            if rule is not None:
                if rule.application is not None and rule.application.pk != application.pk:
                    errors.append({"path": f"/rules/{index}/application", "message":
                                   "must be null or the previewed application"})  # fmt: skip
                specs.append(rule.spec())
        specs.sort(key=lambda spec: (not spec.environment, spec.order))
        return specs, errors
