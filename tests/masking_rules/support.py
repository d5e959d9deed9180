"""Helpers for masking-rule tests: principals allowed to manage rules, rule bodies."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Permission, User

from masking_rules.models import MaskingRule
from masking_rules.services import rules_create
from masking_rules.validation import parse_rule
from permissions.audit import COMMAND_METHOD, Actor
from permissions.services import grant_record_access
from sessions_app.models import Application
from tests.permissions.principals import make_user

RULES_URL = "/api/v1/privacy/rules/"
PREVIEW_URL = "/api/v1/privacy/rules/preview/"
ACTOR = Actor(username="test", method=COMMAND_METHOD, path="tests")


def officer(username: str = "privacy", *, application: Application | None = None) -> User:
    """May manage rules; reads every application (or only ``application``)."""
    user = make_user(username)
    user.user_permissions.add(Permission.objects.get(codename="manage_rules"))
    grant_record_access(user=user, application=application)
    return User.objects.get(pk=user.pk)  # permission caches start empty


def rule_body(**fields: Any) -> dict[str, Any]:
    return {
        "name": "emails",
        "application": None,
        "order": 10,
        "selector": "actions.error_message",
        "detector": "email",
        "pattern": None,
        "method": "mask",
        "replacement": "",
        **fields,
    }


def add_rules(*bodies: dict[str, Any]) -> list[MaskingRule]:
    """Store rules through the service (validated, audited) as a command would."""
    rules = []
    for body in bodies:
        rule, errors = parse_rule(
            body,
            path="",
            application_of=lambda slug: Application.objects.filter(slug=slug).first(),
        )
        assert rule is not None, errors
        rules.append(rule)
    return rules_create(actor=ACTOR, rules=rules)
