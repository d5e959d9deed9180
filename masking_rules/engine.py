"""Masking rules at work: compiled once per rule list, applied to cleaned beacon records.

Order of masking for every client string (``docs/privacy-model.md``): what the
browser agent already masked at capture, then the environment-wide rules, then
the application's rules (each list in ``order``), then the built-in masking of
``sessions_app.ingest.masking`` (the detectors per the application's
settings, ending with the floor for cards, IBANs, JWTs and credentials that no
setting and no rule can lower). Rules see the value as the client sent it
(normalised); the built-in masking sees what the rules left.

``ruleset_for(application)`` reads the rule rows with one query per batch and
recompiles only when they changed (a fingerprint of every column), so an edit
applies from the next batch on in every worker, without a restart. RE2
patterns are compiled once per process (``privacy.patterns``).

Within a batch, ``BatchRules`` memoises each field's result per distinct value
(batches repeat themselves a lot); the memo dies with the batch.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from functools import partial
from itertools import islice
from typing import Any, TypeVar

from django.conf import settings
from django.db.models import Q
from django.db.models.functions import Coalesce

from fieldsets.registry import (
    ACTION,
    RECORD_TYPES,
    SESSION,
    Kind,
    RecordType,
    RuleTarget,
    rule_targets,
)
from masking_rules.models import MaskingRule
from privacy.normalise import normalise_text
from privacy.patterns import compile_pattern, pattern_set
from privacy.rules import (
    Detector,
    DetectorMatcher,
    Matcher,
    Method,
    PatternMatcher,
    Rewriter,
    keyed_hash,
)
from sessions_app.models import Application

ENVIRONMENT_STEP = "environment rules"
APPLICATION_STEP = "application rules"

# The columns a rule is compiled from; also its fingerprint in the cache.
RULE_COLUMNS = (
    "id",
    "application_id",
    "name",
    "order",
    "selector",
    "detector",
    "pattern",
    "method",
    "replacement",
)


# Environment-wide first (NULL application), then per application, each by order.
RULE_ORDER = (Coalesce("application_id", 0).asc(), "order", "id")


@dataclass(frozen=True)
class RuleSpec:
    """A rule as data, stored or proposed (validation and preview use unsaved ones)."""

    name: str
    selector: str
    method: str
    detector: str | None = None
    pattern: str | None = None
    replacement: str = ""
    environment: bool = False
    order: int = 0


@dataclass(frozen=True, eq=False)
class CompiledRule:
    name: str
    step: str
    targets: tuple[RuleTarget, ...]
    rewriter: Rewriter
    # A pattern every value the rule changes matches: the rule's own, or its
    # detector's trigger; the field's RE2 set (``FieldRules``) is made of these.
    prefilter: str | None = None


class FieldRules:
    """The rules of one field in order, with one RE2 set over their prefilters.

    ``candidates(text)`` are the positions of the rules worth running on
    ``text``, in order: those whose pattern, or whose detector's trigger, the set
    finds in it. One linear scan per value instead of one per rule.
    """

    def __init__(self, rules: list[tuple[CompiledRule, str | None]]) -> None:
        self.rules = rules
        self._patterns = [i for i, (rule, _) in enumerate(rules) if rule.prefilter is not None]
        self._always = [i for i, (rule, _) in enumerate(rules) if rule.prefilter is None]
        self._match = pattern_set([rules[i][0].prefilter or "" for i in self._patterns])

    def candidates(self, text: str) -> list[int]:
        if self._match is None:
            return list(range(len(self.rules)))
        found = self._match(normalise_text(text))
        if not found and not self._always:  # most values: no rule to run
            return []
        return sorted([*self._always, *(self._patterns[i] for i in found)])


def matcher_for(spec: RuleSpec, *, phone_region: str | None) -> Matcher:
    """The rule's matcher; raises ``PatternRefused`` or ``ValueError`` when it has none."""
    if spec.detector is not None:
        return DetectorMatcher(Detector(spec.detector), phone_region=phone_region or None)
    if spec.pattern is None:
        raise ValueError("a rule needs a detector or a pattern")
    return PatternMatcher(compile_pattern(spec.pattern))


def compile_rule(spec: RuleSpec, *, application: Application) -> CompiledRule:
    method = Method(spec.method)
    matcher = matcher_for(spec, phone_region=application.phone_region)
    hasher = partial(
        keyed_hash, application_id=application.pk, keyring=settings.RUMVAULT_RULE_HASH_KEYS
    )
    return CompiledRule(
        name=spec.name,
        step=ENVIRONMENT_STEP if spec.environment else APPLICATION_STEP,
        targets=rule_targets(spec.selector),
        rewriter=Rewriter(
            matcher=matcher,
            method=method,
            replacement=spec.replacement,
            hasher=hasher if method is Method.HASH else None,
        ),
        prefilter=matcher.trigger if isinstance(matcher, DetectorMatcher) else spec.pattern,
    )


_FieldPlan = tuple[str, str, "FieldRules"]

# on_change(path inside the record's beacon form, e.g. "error/message", the rule)
OnChange = Callable[[str, CompiledRule], None]
_Record = TypeVar("_Record")


def _pointer(part: str) -> str:
    return part.replace("~", "~0").replace("/", "~1")


def _child(path: str, part: str, on_change: OnChange | None) -> str:
    """A nested value's path, made only when ``on_change`` will be told it."""
    return f"{path}/{_pointer(part)}" if on_change is not None else path


class RuleSet:
    """The ordered rules of one application (environment's first), by target field."""

    def __init__(self, rules: Iterable[CompiledRule]) -> None:
        self.rules = tuple(rules)
        self.by_field: dict[tuple[str, str], list[tuple[CompiledRule, str | None]]] = {}
        for rule in self.rules:
            for target in rule.targets:
                key = (target.record.name, target.field.name)
                self.by_field.setdefault(key, []).append((rule, target.key))
        self.fields = {key: FieldRules(rules) for key, rules in self.by_field.items()}
        # Per record type, the fields that have rules: (attribute, beacon path, rules).
        self.plans: dict[str, list[_FieldPlan]] = {}
        for record in RECORD_TYPES:
            for f in record.client_strings:
                field_rules = self.by_field.get((record.name, f.name))
                if field_rules:
                    path = (f.beacon or f.name).replace(".", "/")
                    plan = (f.storage or f.name, path, self.fields[(record.name, f.name)])
                    self.plans.setdefault(record.name, []).append(plan)

    def __bool__(self) -> bool:
        return bool(self.rules)

    def has_rules_for(self, record: RecordType) -> bool:
        """Whether any rule selects a field of ``record``."""
        return any(name == record.name for name, _ in self.fields)

    def batch(self) -> BatchRules:
        return BatchRules(self)


# A value's result: the text the rules left (None: removed) and the rules that changed
# it, or ``_UNCHANGED`` (no rule changed it: the value is kept as sent).
_Known = tuple[str | None, tuple[CompiledRule, ...]]
_UNCHANGED: _Known = (None, ())


@dataclass
class BatchRules:
    """A rule set applied to one batch, with the batch's memo.

    The memo holds each field's (and key's) values by text, the rules' result only
    for the few values a rule changes: a batch of ``bench/ingest.py --rules 20``
    has about 3,000 distinct values, and a tuple key and result for each kept the
    garbage collector busy (about 5,500 more live objects per batch).
    """

    ruleset: RuleSet
    _texts: dict[FieldRules | tuple[FieldRules, str], dict[str, _Known]] = field(
        default_factory=dict
    )

    def session(self, clean: _Record, on_change: OnChange | None = None) -> _Record:
        return self._record(SESSION, clean, on_change)

    def action(self, clean: _Record, on_change: OnChange | None = None) -> _Record:
        return self._record(ACTION, clean, on_change)

    def text_at(
        self, record: RecordType, path: str, text: str, on_change: OnChange | None = None
    ) -> str | None:
        """``text`` after the rules of the field at registry ``path`` (``logs.body``;
        ``logs.attributes.<key>`` for a key's values at any depth); None: a rule removed it.

        For record types masked value by value as they are read from the wire (log
        records) rather than as clean dataclasses.
        """
        name = path.removeprefix(record.prefix)
        for f in record.client_strings:
            if name == f.name:
                key = None
                break
            if f.kind is Kind.OBJECT and name.startswith(f.name + "."):
                key = name[len(f.name) + 1 :]
                break
        else:
            return text
        rules = self.ruleset.fields.get((record.name, f.name))
        if rules is None:
            return text
        return self._text(text, rules, name.replace(".", "/"), on_change, key)

    def _record(self, record: RecordType, clean: _Record, on_change: OnChange | None) -> _Record:
        plans = self.ruleset.plans.get(record.name)
        if not plans:
            return clean
        changed: dict[str, Any] = {}
        for attribute, path, rules in plans:
            value = getattr(clean, attribute)
            if not value:
                continue
            if isinstance(value, str):
                new = self._text(value, rules, path, on_change)
                new_value: Any = "" if new is None else new
            elif isinstance(value, dict):
                new_value = self._mapping(value, rules, path, on_change)
            else:
                continue
            if new_value is not value:
                changed[attribute] = new_value
        return replace(clean, **changed) if changed else clean  # type: ignore[type-var]

    def _text(
        self,
        value: str,
        rules: FieldRules,
        path: str,
        on_change: OnChange | None,
        key: str | None = None,
    ) -> str | None:
        """The value after every rule of the field (and key); None: a rule removed it."""
        # A dict per field (and key) keeps the memo's keys plain strings.
        memo_key = rules if key is None else (rules, key)
        memo = self._texts.get(memo_key)
        if memo is None:
            memo = self._texts[memo_key] = {}
        known = memo.get(value)
        if known is None:
            known = memo[value] = _rewrite(rules, value, key)
        if known is _UNCHANGED:
            return value
        if on_change is not None:
            for rule in known[1]:
                on_change(path, rule)
        return known[0]

    def _mapping(
        self,
        values: dict[str, Any],
        rules: FieldRules,
        path: str,
        on_change: OnChange | None,
    ) -> dict[str, Any]:
        """Rules rewrite the values of an object's keys (at any depth below the key);
        ``remove`` drops the key. Keys themselves are left to the built-in masking."""
        result: dict[str, Any] | None = None  # made at the first change: most maps keep all
        for index, (key, value) in enumerate(values.items()):
            # Paths are for ``on_change`` alone (previews); ingest passes none.
            key_path = _child(path, key, on_change)
            if isinstance(value, str):  # most values; without the detour through _value
                text = self._text(value, rules, key_path, on_change, key)
                new: Any = _REMOVED if text is None else text
            else:
                new = self._value(key, value, rules, key_path, on_change)
            if result is None:
                if new is value:
                    continue
                result = dict(islice(values.items(), index))
            if new is not _REMOVED:
                result[key] = new
        return values if result is None else result

    def _value(
        self,
        key: str,
        value: Any,
        rules: FieldRules,
        path: str,
        on_change: OnChange | None,
    ) -> Any:
        if isinstance(value, str):
            new = self._text(value, rules, path, on_change, key=key)
            return _REMOVED if new is None else new
        if isinstance(value, dict):
            items = {
                k: self._value(key, v, rules, _child(path, k, on_change), on_change)
                for k, v in value.items()
            }
            if any(v is _REMOVED for v in items.values()):
                return _REMOVED
            return items if any(items[k] is not value[k] for k in value) else value
        if isinstance(value, list):
            items_list = [
                self._value(key, v, rules, _child(path, str(i), on_change), on_change)
                for i, v in enumerate(value)
            ]
            if any(v is _REMOVED for v in items_list):
                return _REMOVED
            return (
                items_list
                if any(a is not b for a, b in zip(items_list, value, strict=True))
                else value
            )
        return value


_REMOVED = object()  # a remove rule found something under this key


def _rewrite(rules: FieldRules, value: str, key: str | None) -> _Known:
    """Every candidate rule of the field (and key) in order, on what the last one left."""
    text: str | None = value
    applied: list[CompiledRule] = []
    pending = rules.candidates(value)
    if not pending:
        return _UNCHANGED
    index = 0
    while text is not None and index < len(pending):
        position = pending[index]
        index += 1
        rule, rule_key = rules.rules[position]
        if rule_key is not None and rule_key != key:
            continue
        rewritten = rule.rewriter.rewrite(text)
        if rewritten is text:
            continue
        applied.append(rule)
        text = rewritten
        if text is not None:  # a later pattern may match what this one wrote
            pending = [later for later in rules.candidates(text) if later > position]
            index = 0
    return (text, tuple(applied)) if applied else _UNCHANGED


_cache: dict[int, tuple[tuple[Any, ...], RuleSet]] = {}
_cache_lock = threading.Lock()


def rule_rows(application: Application) -> list[tuple[Any, ...]]:
    """The environment's rules then the application's, each by order: one query."""
    return list(
        MaskingRule.objects.filter(Q(application__isnull=True) | Q(application=application))
        .order_by(*RULE_ORDER)
        .values_list(*RULE_COLUMNS)
    )


def spec_of_row(row: tuple[Any, ...]) -> RuleSpec:
    values = dict(zip(RULE_COLUMNS, row, strict=True))
    return RuleSpec(
        name=values["name"],
        selector=values["selector"],
        method=values["method"],
        detector=values["detector"],
        pattern=values["pattern"],
        replacement=values["replacement"],
        environment=values["application_id"] is None,
        order=values["order"],
    )


def ruleset_for(application: Application) -> RuleSet:
    """The application's compiled rules as stored now (see the module docstring)."""
    rows = rule_rows(application)
    fingerprint = (tuple(rows), application.phone_region)
    with _cache_lock:
        cached = _cache.get(application.pk)
    if cached is not None and cached[0] == fingerprint:
        return cached[1]
    ruleset = RuleSet(compile_rule(spec_of_row(row), application=application) for row in rows)
    with _cache_lock:
        _cache[application.pk] = (fingerprint, ruleset)
    return ruleset


def ruleset_of(specs: Iterable[RuleSpec], *, application: Application) -> RuleSet:
    """Rules given as data (a preview of proposed rules), in the order given."""
    return RuleSet(compile_rule(spec, application=application) for spec in specs)
