"""Masking rules, the pure part: what a rule finds in a string and what it writes instead.

A rule has a *matcher* (a built-in detector or an RE2 pattern) and a *method*:

=========== =================================================================
``mask``    each found span becomes ``<masked>``
``hash``    each found span becomes ``h<key id>_<16 hex>``, an HMAC under the rule-hash
            keyring scoped to the application: the same text gives the same value
            within one application (sessions stay comparable), unrelated ones
            across applications, and nothing reversible without the key
``remove``  the whole value goes when anything is found (a field is emptied, an
            object key dropped)
``replace`` each found span becomes the rule's fixed ``replacement``
``partial`` each found span keeps what identifies nobody: an email its domain
            (``<masked>@example.com``), anything with more than four digits its
            last four (``•••• •••• •••• 1111``, ``+•• ••• •••4567``); anything
            else is masked whole
=========== =================================================================

Matchers run on ``normalise_text(value)`` like the built-in detectors, so a
rule sees fullwidth digits and zero-width spaces the way a reader does; a value
a rule changed is kept in its normalised form. Where rules run among the other
masking steps (after capture, before the built-in detectors and the floor for
payment data) is the ingest layer's business (``rules.engine``).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache

from privacy.choices import LabelledChoices
from privacy.credentials import CREDENTIAL_NAME_CORES, is_credential_name
from privacy.detectors import DETECTOR_SUBSTITUTIONS, MASK, Replace
from privacy.keyring import Keyring
from privacy.normalise import normalise_text
from privacy.patterns import CompiledPattern
from privacy.phones import PHONE_TRIGGER, substitute_phones


class Method(LabelledChoices):
    MASK = "mask", "Mask (<masked>)"
    HASH = "hash", "Keyed hash (stable within the application)"
    REMOVE = "remove", "Remove the field"
    REPLACE = "replace", "Replace with a fixed text"
    PARTIAL = "partial", "Partial (last 4 digits, an email's domain)"


class Detector(LabelledChoices):
    EMAIL = "email", "Email address"
    CARD = "card", "Payment card number (Luhn-valid)"
    IBAN = "iban", "IBAN (mod-97-valid)"
    IP = "ip", "IP address (v4 or v6)"
    UUID = "uuid", "UUID"
    PHONE = "phone", "Phone number (libphonenumber, the application's phone region)"
    JWT = "jwt", "JSON Web Token"
    CREDENTIAL_KEY = "credential_key", "Value of a credential-named key (password=..., token: ...)"


HASH_PREFIX = "h"
_HASH_HEX = 16
PARTIAL_DOT = "\u2022"  # •
PARTIAL_KEPT_DIGITS = 4

# "name=value", "name: value", '"name": "value"' where the name is in the credential
# vocabulary; the value is the span. Linear: the name is pinned to the start of a
# word and bounded, the value cannot contain what ends it.
_CREDENTIAL_PAIR = re.compile(
    r"""(?<![A-Za-z0-9_.-])["']?([A-Za-z][A-Za-z0-9_.-]{0,63})["']?\s{0,3}[=:]\s{0,3}["']?"""
    r"""([^\s&;,"']+)"""
)


def _credential_pair_trigger() -> str:
    """A pattern (RE2 syntax) every text ``_CREDENTIAL_PAIR`` finds a credential in matches.

    Its name is ASCII, so ``normalise_name`` only lower-cases it and drops "_", "." and
    "-": it holds a core of the vocabulary, in any case, those three between its
    letters, followed by the rest of the name and at most four characters before the
    "=" or ":". Only "[=:]" would make every URL and cookie a candidate: in
    ``bench/ingest.py --rules 20`` 2,008 values a batch ran the detector, 7.6 ms,
    and none held a credential.
    """
    cores = [
        c
        for c in CREDENTIAL_NAME_CORES
        if not any(o in c and o != c for o in CREDENTIAL_NAME_CORES)
    ]
    spelled = ("[._-]*".join(map(re.escape, core)) for core in sorted(cores))
    return f"(?i)(?:{'|'.join(spelled)})[A-Za-z0-9_.-]*[^=:]{{0,4}}[=:]"


CREDENTIAL_PAIR_TRIGGER = _credential_pair_trigger()


@lru_cache(maxsize=4096)
def _is_credential_name(name: str) -> bool:
    # Names repeat endlessly (ref=, utm_source=...): decided once per process.
    return is_credential_name(name)


def _sub_credential_values(text: str, replace: Replace) -> str:
    if "=" not in text and ":" not in text:
        return text
    pieces: list[str] = []
    cursor = 0
    for match in _CREDENTIAL_PAIR.finditer(text):
        if not _is_credential_name(match.group(1)):
            continue
        begin, end = match.span(2)
        pieces += [text[cursor:begin], replace(text[begin:end])]
        cursor = end
    if not pieces:
        return text
    pieces.append(text[cursor:])
    return "".join(pieces)


class Matcher:
    """Finds spans in text: ``substitute`` hands each one to ``replace``."""

    def substitute(self, text: str, replace: Replace) -> str:
        raise NotImplementedError

    def finds_in(self, text: str) -> bool:
        found = False

        def note(span: str) -> str:
            nonlocal found
            found = True
            return span

        self.substitute(text, note)
        return found


@dataclass(frozen=True, eq=False)
class DetectorMatcher(Matcher):
    detector: Detector
    phone_region: str | None = None
    _substitute: Callable[[str, Replace], str] = field(init=False, repr=False)

    @property
    def trigger(self) -> str:
        """A pattern (RE2 syntax too) everything this detector finds contains."""
        if self.detector is Detector.PHONE:
            return PHONE_TRIGGER
        if self.detector is Detector.CREDENTIAL_KEY:
            return CREDENTIAL_PAIR_TRIGGER
        return DETECTOR_SUBSTITUTIONS[self.detector.value][1].pattern

    def __post_init__(self) -> None:
        # Resolved once: rules run this for every candidate string of every batch.
        object.__setattr__(self, "_substitute", self._resolve())

    def _resolve(self) -> Callable[[str, Replace], str]:
        if self.detector is Detector.PHONE:
            region = self.phone_region
            return lambda text, replace: substitute_phones(text, replace, region=region)
        if self.detector is Detector.CREDENTIAL_KEY:
            return _sub_credential_values
        substitution, trigger = DETECTOR_SUBSTITUTIONS[self.detector.value]

        def triggered(text: str, replace: Replace) -> str:
            return text if trigger.search(text) is None else substitution(text, replace)

        return triggered

    def substitute(self, text: str, replace: Replace) -> str:
        return self._substitute(text, replace)


@dataclass(frozen=True, eq=False)
class PatternMatcher(Matcher):
    pattern: CompiledPattern

    def substitute(self, text: str, replace: Replace) -> str:
        return self.pattern.substitute(text, replace)

    def finds_in(self, text: str) -> bool:
        return self.pattern.finds_in(text)


# Strings of every kind a field may hold; a pattern that finds something in each of
# them finds something in every string ("a catch-all").
CATCH_ALL_PROBES = ("a", "Z", "0", " ", "-", "\u00e9", "rumvault", "Lorem ipsum 42.")


def matches_everything(matcher: Matcher) -> bool:
    return all(matcher.finds_in(probe) for probe in CATCH_ALL_PROBES)


def partial_form(found: str) -> str:
    """What ``partial`` keeps of a found span (see the module docstring)."""
    local, at, domain = found.rpartition("@")
    if at and local and domain and "." in domain:
        return f"{MASK}@{domain}"
    digits = [index for index, char in enumerate(found) if char.isdigit()]
    if len(digits) <= PARTIAL_KEPT_DIGITS:
        return MASK
    kept_from = digits[-PARTIAL_KEPT_DIGITS]
    return "".join(
        PARTIAL_DOT if index < kept_from and char.isalnum() else char
        for index, char in enumerate(found)
    )


def keyed_hash(found: str, *, application_id: int, keyring: Keyring) -> str:
    """``h<key id>_<16 hex>``: HMAC-SHA256 of the span, scoped to the application."""
    key_id = keyring.current_id
    message = b"\x00".join((b"masking-rule", str(application_id).encode(), found.encode()))
    digest = hmac.new(keyring.current, message, hashlib.sha256).hexdigest()[:_HASH_HEX]
    return f"{HASH_PREFIX}{key_id}_{digest}"


@dataclass(frozen=True, eq=False)
class Rewriter:
    """One rule's matcher and method, ready to run: ``rewrite(value)``."""

    matcher: Matcher
    method: Method
    replacement: str = ""
    hasher: Callable[[str], str] | None = None

    def rewrite(self, value: str) -> str | None:
        """``value`` rewritten; ``None`` when ``remove`` found something (drop the value).

        A value in which nothing is found comes back unchanged (the same object).
        """
        if not value:
            return value
        text = normalise_text(value)
        if self.method is Method.REMOVE:
            return None if self.matcher.finds_in(text) else value
        rewritten = self.matcher.substitute(text, self._replacement)
        return value if rewritten == text else rewritten

    def _replacement(self, found: str) -> str:
        match self.method:
            case Method.MASK:
                return MASK
            case Method.REPLACE:
                return self.replacement
            case Method.PARTIAL:
                return partial_form(found)
            case Method.HASH:
                if self.hasher is None:
                    raise ValueError("a hash rule needs a hasher")
                return self.hasher(found)
        return MASK
