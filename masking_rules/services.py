"""Writes on masking rules: create (one or many), update, delete; validated, then audited.

Every write validates the rule and the whole list of its scope as it would be
after the write (``masking_rules.validation``), raising ``RulesInvalid`` with
every error before anything is saved; a batch of new rules is saved whole or
not at all. Each saved change writes an audit record with the rule before and
after. Ingest picks changes up from its next batch (``masking_rules.engine``).
"""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q

from masking_rules.models import MaskingRule
from masking_rules.validation import RuleInput, RulesInvalid, check_scopes, input_of
from permissions.audit import Actor, audit_rules_change


def rule_json(rule: MaskingRule) -> dict[str, Any]:
    """A rule in its API form (also what the audit record keeps)."""
    return {
        "id": rule.pk,
        "name": rule.name,
        "application": None if rule.application is None else rule.application.slug,
        "order": rule.order,
        "selector": rule.selector,
        "detector": rule.detector,
        "pattern": rule.pattern,
        "method": rule.method,
        "replacement": rule.replacement,
        "confirm_catch_all": rule.confirm_catch_all,
    }


def _stored(scopes: set[int | None], *, excluding: set[int]) -> list[RuleInput]:
    """The stored rules of ``scopes``, locked (concurrent edits of a scope queue up)."""
    condition = Q(pk__in=[])
    if None in scopes:
        condition |= Q(application__isnull=True)
    ids = [scope for scope in scopes if scope is not None]
    if ids:
        condition |= Q(application_id__in=ids)
    rows = (
        MaskingRule.objects.select_for_update(of=("self",))
        .select_related("application")
        .filter(condition)
        .exclude(pk__in=excluding)
        .order_by("pk")
    )
    return [input_of(rule) for rule in rows]


def _save(rule: MaskingRule, data: RuleInput) -> None:
    rule.application = data.application
    rule.name = data.name
    rule.order = data.order
    rule.selector = data.selector
    rule.detector = data.detector
    rule.pattern = data.pattern
    rule.method = data.method
    rule.replacement = data.replacement
    rule.confirm_catch_all = data.confirm_catch_all
    try:
        with transaction.atomic():
            rule.save()
    except IntegrityError:
        # A concurrent write took the name or the order since the check.
        raise RulesInvalid(
            [{"path": "", "message": "another rule of the same scope has this name or order"}]
        ) from None


@transaction.atomic
def rules_create(
    *, actor: Actor, rules: list[RuleInput], paths: list[str] | None = None
) -> list[MaskingRule]:
    """Create ``rules`` (all or none); ``paths`` are their pointers for errors."""
    paths = paths or ["" for _ in rules]
    stored = _stored({rule.scope for rule in rules}, excluding=set())
    errors = check_scopes(zip(paths, rules, strict=True), stored=stored)
    if errors:
        raise RulesInvalid(errors)
    created = []
    for data in rules:
        rule = MaskingRule()
        _save(rule, data)
        audit_rules_change(actor=actor, before=None, after=rule_json(rule))
        created.append(rule)
    return created


@transaction.atomic
def rule_update(*, actor: Actor, rule: MaskingRule, data: RuleInput) -> MaskingRule:
    """Replace ``rule`` by ``data`` (it may move to another scope); no change, no audit."""
    locked = (
        MaskingRule.objects.select_for_update(of=("self",))
        .select_related("application")
        .get(pk=rule.pk)
    )
    before = rule_json(locked)
    stored = _stored({locked.application_id, data.scope}, excluding={locked.pk})
    errors = check_scopes([("", data)], stored=stored)
    if errors:
        raise RulesInvalid(errors)
    if input_of(locked) == data:
        return locked
    _save(locked, data)
    audit_rules_change(actor=actor, before=before, after=rule_json(locked))
    return locked


@transaction.atomic
def rule_delete(*, actor: Actor, rule: MaskingRule) -> None:
    before = rule_json(rule)
    MaskingRule.objects.filter(pk=rule.pk).delete()
    audit_rules_change(actor=actor, before=before, after=None)
