"""Validation of masking rules as JSON: each rule, then the whole list of its scope.

Errors use the ingest error shape, ``{"path": <JSON pointer into the request
body>, "message": ...}``, and every error is reported at once; nothing is saved
while any is left. Messages never quote what was sent (a pattern or a
replacement may be long, and is the caller's own anyway).

A rule is valid when its selector names client strings (``fieldsets.registry
.rule_targets``), it has exactly one of ``detector`` (a built-in detector) and
``pattern`` (which RE2 compiles, ``privacy.patterns``), its ``method`` is
known, ``replacement`` is given exactly for ``replace`` and holds nothing the
built-in detectors would mask, and it is not a *catch-all* (a pattern that
finds something in every string, over every client string of a record type)
unless ``confirm_catch_all`` is true. The list of a scope (the environment, or
one application) has distinct names and orders and at most
``MAX_RULES_PER_SCOPE`` rules.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any

from fieldsets.registry import SelectorInvalid, is_record_wide, rule_targets
from masking_rules.engine import RuleSpec, matcher_for
from masking_rules.models import (
    NAME_MAX_LENGTH,
    REPLACEMENT_MAX_LENGTH,
    SELECTOR_MAX_LENGTH,
    MaskingRule,
)
from privacy.detectors import mask_text
from privacy.patterns import PatternRefused
from privacy.rules import Detector, Method, matches_everything
from sessions_app.models import Application

RULE_KEYS = (
    "name",
    "application",
    "order",
    "selector",
    "detector",
    "pattern",
    "method",
    "replacement",
    "confirm_catch_all",
)
MAX_RULES_PER_SCOPE = 50
MAX_ORDER = 1_000_000
_CONTROL = re.compile(r"[\x00-\x1f\x7f\ud800-\udfff]")

Error = dict[str, str]


class RulesInvalid(Exception):
    def __init__(self, errors: list[Error]) -> None:
        super().__init__(f"{len(errors)} invalid rule field(s)")
        self.errors = errors


@dataclass(frozen=True)
class RuleInput:
    """A rule as the caller wants it, checked field by field (``check_scopes`` does the rest)."""

    application: Application | None
    name: str
    order: int
    selector: str
    method: str
    detector: str | None = None
    pattern: str | None = None
    replacement: str = ""
    confirm_catch_all: bool = False

    @property
    def scope(self) -> int | None:
        return None if self.application is None else self.application.pk

    def spec(self) -> RuleSpec:
        return RuleSpec(
            name=self.name,
            selector=self.selector,
            method=self.method,
            detector=self.detector,
            pattern=self.pattern,
            replacement=self.replacement,
            environment=self.application is None,
            order=self.order,
        )


def input_of(rule: MaskingRule) -> RuleInput:
    return RuleInput(
        application=rule.application,
        name=rule.name,
        order=rule.order,
        selector=rule.selector,
        method=rule.method,
        detector=rule.detector,
        pattern=rule.pattern,
        replacement=rule.replacement,
        confirm_catch_all=rule.confirm_catch_all,
    )


def parse_rule(
    data: object,
    *,
    path: str,
    application_of: Callable[[str], Application | None],
    base: RuleInput | None = None,
) -> tuple[RuleInput | None, list[Error]]:
    """One rule from JSON; ``base`` (a stored rule) supplies keys a partial update leaves out.

    ``application_of(slug)`` answers the application the caller may manage, or
    None (unknown and not allowed are the same error: no oracle).
    """
    errors: list[Error] = []

    def error(key: str, message: str) -> None:
        errors.append({"path": f"{path}/{key}" if key else path, "message": message})

    if not isinstance(data, dict):
        error("", "must be a JSON object (a rule)")
        return None, errors
    unknown = [key for key in data if key not in RULE_KEYS]
    if unknown:  # not echoed: a key is client text too
        error("", f"has unknown keys; a rule has only: {', '.join(RULE_KEYS)}")
    given = dict(data)
    if base is None:
        for key in ("name", "order", "selector", "method"):
            if key not in given:
                error(key, "is required")
    values: dict[str, Any] = {} if base is None else dict(base.__dict__)
    for key in RULE_KEYS:
        if key in given:
            values[key] = given[key]
    if errors:
        return None, errors

    name = values.get("name")
    if not _text(name, NAME_MAX_LENGTH):
        error("name", f"must be a text of 1-{NAME_MAX_LENGTH} characters without control ones")
    order = values.get("order")
    if not isinstance(order, int) or isinstance(order, bool) or not 0 <= order <= MAX_ORDER:
        error("order", f"must be a whole number from 0 to {MAX_ORDER}")
    application = values.get("application")
    if "application" in given:
        slug = given["application"]
        if slug is None:
            application = None
        elif not isinstance(slug, str) or (application := application_of(slug)) is None:
            error("application", "must be the slug of an application you manage, or null")
    selector = values.get("selector")
    if not isinstance(selector, str) or len(selector) > SELECTOR_MAX_LENGTH:
        error("selector", f"must be a text of at most {SELECTOR_MAX_LENGTH} characters")
    else:
        try:
            rule_targets(selector)
        except SelectorInvalid as refused:
            error("selector", str(refused))
    detector, pattern = values.get("detector"), values.get("pattern")
    if (detector is None) == (pattern is None):
        error("detector" if detector is not None else "pattern", "give exactly one of "
              "detector and pattern")  # fmt: skip
    if detector is not None and detector not in Detector.values():
        error("detector", f"must be one of {', '.join(Detector.values())}")
    if pattern is not None:
        if not isinstance(pattern, str):
            error("pattern", "must be a text")
        else:
            try:
                matcher_for(RuleSpec(name="", selector="", method="mask", pattern=pattern),
                            phone_region=None)  # fmt: skip
            except PatternRefused as refused:
                error("pattern", refused.reason)
    method = values.get("method")
    if method not in Method.values():
        error("method", f"must be one of {', '.join(Method.values())}")
    replacement = values.get("replacement", "")
    replacement = "" if replacement is None else replacement
    if method == Method.REPLACE:
        if not _text(replacement, REPLACEMENT_MAX_LENGTH):
            error("replacement", f"replace needs a replacement text of 1-{REPLACEMENT_MAX_LENGTH} "
                  "characters without control ones")  # fmt: skip
        elif mask_text(replacement) != replacement:
            error("replacement", "must not contain what the built-in detectors mask (an email, "
                  "card, IBAN, IP address, UUID or token)")  # fmt: skip
    elif replacement != "":
        error("replacement", "is only for method replace")
    confirm = values.get("confirm_catch_all", False)
    if not isinstance(confirm, bool):
        error("confirm_catch_all", "must be true or false")
    if errors:
        return None, errors
    rule = RuleInput(
        application=application,
        name=name,  # type: ignore[arg-type]  # checked above
        order=order,  # type: ignore[arg-type]
        selector=selector,  # type: ignore[arg-type]
        method=method,  # type: ignore[arg-type]
        detector=detector,
        pattern=pattern,
        replacement=replacement,
        confirm_catch_all=confirm,
    )
    if not confirm and is_catch_all(rule):
        error("pattern" if pattern is not None else "selector",
              "this rule finds something in every string of every record it selects (a "
              "catch-all); set confirm_catch_all to true if that is what you want")  # fmt: skip
        return None, errors
    return rule, errors


def is_catch_all(rule: RuleInput) -> bool:
    if rule.pattern is None or not is_record_wide(rule.selector):
        return False
    return matches_everything(matcher_for(rule.spec(), phone_region=None))


def _text(value: object, max_length: int) -> bool:
    return (
        isinstance(value, str)
        and 0 < len(value) <= max_length
        and value.strip() != ""
        and _CONTROL.search(value) is None
    )


def check_scopes(
    proposed: Iterable[tuple[str, RuleInput]], *, stored: Iterable[RuleInput]
) -> list[Error]:
    """Errors of the lists the proposed rules would make with the stored ones.

    ``proposed`` pairs each new or changed rule with its pointer; ``stored`` is
    what stays of the stored rules of the same scopes (without the ones being
    changed or deleted).
    """
    errors: list[Error] = []
    by_scope: dict[int | None, list[tuple[str | None, RuleInput]]] = {}
    for rule in stored:
        by_scope.setdefault(rule.scope, []).append((None, rule))
    for path, rule in proposed:
        by_scope.setdefault(rule.scope, []).append((path, rule))
    for rules in by_scope.values():
        names: dict[str, bool] = {}
        orders: dict[int, bool] = {}
        for pointer, rule in rules:
            if pointer is not None and (rule.name in names or rule.order in orders):
                key = "name" if rule.name in names else "order"
                message = f"another rule of the same scope has this {key}"
                errors.append({"path": f"{pointer}/{key}", "message": message})
            names[rule.name] = orders[rule.order] = True
        if len(rules) > MAX_RULES_PER_SCOPE:
            first_new = next(path for path, _ in rules if path is not None)
            errors.append({"path": first_new, "message":
                           f"a scope holds at most {MAX_RULES_PER_SCOPE} rules"})  # fmt: skip
    return errors


def with_application(rule: RuleInput, application: Application | None) -> RuleInput:
    return replace(rule, application=application)
