"""Masking at capture: rules fetched from rumvault, then the built-in detectors.

Every string of a record goes through ``CaptureMasker.value(path, text)`` with
the path rumvault's rules use (``logs.body``, ``logs.attributes.<key>``,
``logs.resource.<key>``): matching capture rules first, then rumvault's
detectors (``mask_text``: emails, cards, IBANs, IP addresses, UUIDs, JWTs after
Unicode normalisation; cards, IBANs and JWTs always). Attribute keys pass the
detectors too; keys in the credential vocabulary (``password``, ``token``,
``authorization``...) are dropped with their values at any depth.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from rumvault_logging._detectors import MASK, is_credential_name, mask_text, mask_with

# The attribute linking a record to a RUM session: not a credential here.
SESSION_ID = "session_id"


@dataclass(frozen=True)
class CaptureRule:
    name: str
    selector: str
    method: str  # mask | replace | remove
    detector: str | None = None
    pattern: re.Pattern[str] | None = None
    replacement: str = ""

    @classmethod
    def from_config(cls, raw: Mapping[str, Any]) -> CaptureRule | None:
        """A rule of the agent configuration; ``None`` for one this agent cannot apply."""
        try:
            pattern = re.compile(raw["pattern"]) if raw.get("pattern") else None
            rule = cls(
                name=str(raw["name"]),
                selector=str(raw["selector"]),
                method=str(raw["method"]),
                detector=raw.get("detector") or None,
                pattern=pattern,
                replacement=str(raw.get("replacement") or ""),
            )
        except (KeyError, TypeError, re.error):
            return None
        known = rule.method in ("mask", "replace", "remove")
        return rule if known and (rule.detector is None) != (rule.pattern is None) else None

    def applies_to(self, path: str) -> bool:
        return fnmatch.fnmatchcase(path, self.selector)

    def apply(self, text: str) -> str | None:
        """``text`` with what the rule finds masked or replaced; ``None``: remove the value."""
        if self.pattern is not None:
            found = self.pattern.search(text) is not None
            if not found:
                return text
            if self.method == "remove":
                return None
            replacement = self.replacement if self.method == "replace" else MASK
            return self.pattern.sub(lambda _match: replacement, text)
        try:
            masked = mask_with(str(self.detector), text)
        except KeyError:  # a detector this version does not know: mask the value (fail closed)
            return MASK
        if masked == text:
            return text
        if self.method == "remove":
            return None
        return masked.replace(MASK, self.replacement) if self.method == "replace" else masked


class CaptureMasker:
    def __init__(self, rules: list[CaptureRule], *, personal: bool = True) -> None:
        self.rules = rules
        self.personal = personal

    def value(self, path: str, text: str) -> str | None:
        for rule in self.rules:
            if rule.applies_to(path):
                ruled = rule.apply(text)
                if ruled is None:
                    return None
                text = ruled
        return mask_text(text, personal=self.personal)

    def tree(self, path: str, value: Any) -> Any:
        if isinstance(value, str):
            return self.value(path, value)
        if isinstance(value, Mapping):
            return self._object(path, value, top=False)
        if isinstance(value, list | tuple):
            return [self.tree(path, item) for item in value]
        if value is None or isinstance(value, bool | int | float):
            return value
        return self.value(path, str(value))  # anything else is sent as its text

    def attributes(self, prefix: str, values: Mapping[str, Any]) -> dict[str, Any]:
        return self._object(prefix, values, top=True)

    def _object(self, path: str, values: Mapping[str, Any], *, top: bool) -> dict[str, Any]:
        masked: dict[str, Any] = {}
        for key, value in values.items():
            key = str(key)
            if is_credential_name(key) and not (top and key == SESSION_ID):
                continue
            child = f"{path}.{key}" if top else path
            shown = self.tree(child, value)
            if shown is None and value is not None:
                continue  # removed by a rule
            name = mask_text(key, personal=self.personal)
            while name in masked:
                name += "'"
            masked[name] = shown
        return masked
