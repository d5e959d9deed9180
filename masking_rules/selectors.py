"""Reads of masking rules: the API's list, and the list an application's ingest applies."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db.models import Q, QuerySet

from masking_rules.models import MaskingRule
from masking_rules.services import rule_json
from permissions.policy import FieldsetPolicy
from sessions_app.models import Application


def readable_application(*, policy: FieldsetPolicy, slug: str) -> Application | None:
    """The application of ``slug`` if the principal reads it, else None.

    The slug is matched among the applications the policy already holds and
    never sent to the database as typed: PostgreSQL refuses text with a NUL
    byte outright (a 500 the schema fuzzer found in ``?application=``).
    """
    found = policy.application_by_slug(slug)
    return None if found is None else Application.objects.filter(pk=found.id).first()


def rule_list(*, application_ids: Iterable[int], environment: bool = True) -> QuerySet[MaskingRule]:
    """Environment-wide rules (with ``environment``) and those of ``application_ids``, in
    the order ingest applies them (environment first, then by application and order)."""
    condition = Q(application_id__in=list(application_ids))
    if environment:
        condition |= Q(application__isnull=True)
    return MaskingRule.objects.filter(condition).select_related("application")


def rules_for(*, application: Application) -> list[dict[str, Any]]:
    """The rules ``application``'s data passes through, in the rule JSON shape, in order:
    the environment's (application null) by ``order``, then the application's.

    The browser agent's configuration serves this list (rules applied at capture).
    """
    rows = MaskingRule.objects.filter(
        Q(application__isnull=True) | Q(application=application)
    ).select_related("application")
    return [rule_json(rule) for rule in rows]
