"""The log agent's configuration: the capture rules that apply to one host, resolved.

``GET /api/v1/ingest/logs/config/?host=H&host_group=G`` (with the ingest
token) answers this. Rules of the environment, then of the host group, then
of the host apply, each level in ``order``; a rule of a more specific level
replaces a broader one of the same name. Rules for every application and for
the token's application are both included.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q

from logs.models import CaptureRule, RuleLevel
from sessions_app.models import Application

LEVELS = (RuleLevel.ENVIRONMENT, RuleLevel.HOST_GROUP, RuleLevel.HOST)
# How often an agent asks again (seconds); it keeps the last answer meanwhile.
REFRESH_SECONDS = 300


def agent_configuration(*, application: Application, host: str, host_group: str) -> dict[str, Any]:
    scope = Q(level=RuleLevel.ENVIRONMENT)
    if host_group:
        scope |= Q(level=RuleLevel.HOST_GROUP, target=host_group)
    if host:
        scope |= Q(level=RuleLevel.HOST, target=host)
    rules = CaptureRule.objects.filter(
        scope, Q(application__isnull=True) | Q(application=application)
    ).order_by("order", "name", "id")
    by_name: dict[str, CaptureRule] = {}
    for level in LEVELS:
        for rule in rules:
            if rule.level == level:
                by_name.pop(rule.name, None)  # re-inserted: the specific one, in its place
                by_name[rule.name] = rule
    resolved = sorted(by_name.values(), key=lambda r: (LEVELS.index(RuleLevel(r.level)), r.order))
    return {
        "application": application.slug,
        "host": host,
        "host_group": host_group,
        # What the built-in detectors mask besides cards, IBANs and JWTs.
        "personal_data": application.mask_personal_data_in_uris,
        "refresh_seconds": REFRESH_SECONDS,
        "rules": [
            {
                "name": rule.name,
                "level": rule.level,
                "selector": rule.selector,
                "detector": rule.detector or None,
                "pattern": rule.pattern or None,
                "method": rule.method,
                "replacement": rule.replacement,
            }
            for rule in resolved
        ],
    }
