"""Detectors that replace personal data in free text with ``MASK``.

Design notes, because these run on untrusted input at ingest:

* Every pattern is linear-time: repeated parts are separated by a character
  that cannot start the next part, and starts are pinned with look-behinds so
  a failed match is never retried from every position of a long run.
* Candidates are validated (Luhn, mod-97, ``ipaddress``) so that order numbers,
  versions and times are not masked just because they look numeric.
* ``MASK`` contains none of the characters any detector matches, so it is never
  matched itself, and ``mask_text`` repeats its pass until nothing changes. That
  makes it idempotent even when masking one thing changes the context of another
  (for example an IBAN that only starts at a word boundary once its neighbour is gone).
"""

from __future__ import annotations

import ipaddress
import re
import string
from collections.abc import Callable
from typing import NamedTuple
from urllib.parse import unquote

import regex

# Relative: the log agent (agents/python) ships this module inside its own package.
from .normalise import normalise_text
from .stable import until_stable

MASK = "<masked>"


def luhn_valid(digits: str) -> bool:
    """Luhn checksum of a string of ASCII digits (no separators)."""
    if not digits or not (digits.isascii() and digits.isdigit()):
        return False
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = ord(char) - ord("0")
        if position % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


# Check digits 00, 01 and 99 are never issued (ISO 7064 yields 02..98); rejecting them
# keeps "DE00..." placeholders from being accepted by a lucky mod-97.
_IBAN_SHAPE = re.compile(r"[A-Z]{2}(?:0[2-9]|[1-8][0-9]|9[0-8])[A-Z0-9]{11,30}")
_IBAN_LENGTHS = range(15, 35)
_IBAN_LETTER_VALUES = {
    ord(letter): str(value) for value, letter in enumerate(string.ascii_uppercase, 10)
}


def iban_valid(candidate: str) -> bool:
    """ISO 13616 check: country, check digits 02-98, 11-30 alphanumerics, mod-97 == 1."""
    compact = candidate.replace(" ", "")
    # ASCII before upper(): "ß".upper() == "SS" would otherwise smuggle letters in.
    if not compact.isascii():
        return False
    compact = compact.upper()
    if _IBAN_SHAPE.fullmatch(compact) is None:
        return False
    return int((compact[4:] + compact[:4]).translate(_IBAN_LETTER_VALUES)) % 97 == 1


# --- emails -----------------------------------------------------------------------
# Internationalised too (RFC 6531: "jöhn.doe@müller.de", any script): word characters
# are Unicode, and combining marks that NFKC could not fold into a letter are part
# of a word. ``re`` has no class for marks, so non-ASCII text uses the same pattern
# compiled by ``regex`` with \p{M}; ASCII text (the hot path) stays on ``re``.
# The local part may contain percent escapes (jane%2Bshop%40example.com). The
# look-behind pins the start to the beginning of a local-part run.
_EMAIL_TEMPLATE = (
    r"(?<![\w{M}.+%-])"
    r"(?:[\w{M}.+-]|%[0-9A-Fa-f]{{2}})+"
    r"(?:@|%40)"
    r"[\w{M}-]+(?:\.[\w{M}-]+)*\.[^\W\d_][\w{M}-]+"
)
_ASCII_EMAIL = re.compile(_EMAIL_TEMPLATE.format(M=""))
_UNICODE_EMAIL = regex.compile(_EMAIL_TEMPLATE.format(M=r"\p{M}"))

# --- JSON Web Tokens ----------------------------------------------------------------
# Three (JWS) or five (JWE) base64url segments, the first a JSON header: '{"' is
# always "eyJ". A bearer credential wherever it turns up (an error message quoting a
# request, a magic-login path), so masked whatever the settings say.
_JWT_CHARS = "A-Za-z0-9_-"
_JWT = re.compile(
    rf"(?<![{_JWT_CHARS}])eyJ[{_JWT_CHARS}]+\.[{_JWT_CHARS}]+\.[{_JWT_CHARS}]*"
    rf"(?:\.[{_JWT_CHARS}]*){{0,2}}"
)

# --- UUIDs ------------------------------------------------------------------------
_UUID = re.compile(
    r"(?<![0-9A-Za-z])[0-9A-Fa-f]{8}(?:-[0-9A-Fa-f]{4}){3}-[0-9A-Fa-f]{12}(?![0-9A-Za-z])"
)

# --- IBANs ------------------------------------------------------------------------
# Written as one word, or in the printed form: groups of four, the last one shorter.
_IBAN_COMPACT = re.compile(r"(?<![A-Za-z0-9])[A-Za-z]{2}[0-9]{2}[A-Za-z0-9]{11,30}(?![A-Za-z0-9])")
_IBAN_GROUPED_START = re.compile(r"(?<![A-Za-z0-9])(?=[A-Za-z]{2}[0-9]{2} [A-Za-z0-9])")
_IBAN_GROUPED = re.compile(
    r"[A-Za-z]{2}[0-9]{2}"
    r"(?: [A-Za-z0-9]{4}(?![A-Za-z0-9])){1,7}"
    r"(?: [A-Za-z0-9]{1,3}(?![A-Za-z0-9]))?"
)

# --- IP addresses -----------------------------------------------------------------
# A maximal run of IPv6 characters; validation decides. It always succeeds once
# started, so no position is scanned twice.
_IPV6_RUN = re.compile(r"(?<![0-9A-Za-z])[0-9A-Fa-f:.]+")
_IPV6_MAX_LENGTH = 45  # ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255
# Dotted or dashed ("ip-203-0-113-77" host names), leading zeros allowed
# ("203.000.113.077"): ``ipaddress`` refuses those, a reader does not.
_IPV4 = re.compile(
    r"(?<![0-9])(?:"
    r"(?<![0-9]\.)[0-9]{1,3}(?:\.[0-9]{1,3}){3}(?![0-9]|\.[0-9])"
    r"|(?<![0-9]-)[0-9]{1,3}(?:-[0-9]{1,3}){3}(?![0-9]|-[0-9])"
    r")"
)
_IPV4_SEPARATOR = re.compile(r"[.-]")

# --- payment cards ----------------------------------------------------------------
# Digit groups joined by single spaces, dashes or dots, e.g. "4111 1111 1111 1111"
# (no-break and other spaces are spaces once normalised). Groups of one or two
# digits can be in no card span (see below), so they end a run.
_DIGIT_RUN = re.compile(r"(?<![0-9])[0-9]{3,}(?:[ .-][0-9]{3,})*")
_DIGIT_GROUP = re.compile(r"[0-9]+")
_CARD_LENGTHS = range(13, 20)
# Printed card numbers use groups of 3 to 6 digits (4-4-4-4, 4-6-5, 4-4-4-4-3).
# Requiring that keeps dates ("2026-11-28 2026-11-29") and lists of small numbers,
# a tenth of which would pass Luhn by chance, from being taken for cards.
_CARD_GROUP_LENGTHS = range(3, 7)


# --- substitution ---------------------------------------------------------------------
# Each detector is written once, as a substitution that hands every span it finds to
# ``replace``: the built-in masking replaces it by ``MASK``, masking rules
# (``privacy.rules``) by their method's output (a keyed hash, a partial form...).
Replace = Callable[[str], str]


def _to_mask(_found: str) -> str:
    return MASK


def _sub_emails(text: str, replace: Replace) -> str:
    if "@" not in text and "%40" not in text:
        return text
    pattern = _ASCII_EMAIL if text.isascii() else _UNICODE_EMAIL
    return pattern.sub(lambda m: replace(m.group()), text)


def _sub_jwts(text: str, replace: Replace) -> str:
    return _JWT.sub(lambda m: replace(m.group()), text)


def _sub_uuids(text: str, replace: Replace) -> str:
    return _UUID.sub(lambda m: replace(m.group()), text)


def _sub_compact_ibans(text: str, replace: Replace) -> str:
    return _IBAN_COMPACT.sub(
        lambda m: replace(m.group()) if iban_valid(m.group()) else m.group(), text
    )


def _sub_grouped_ibans(text: str, replace: Replace) -> str:
    pieces: list[str] = []
    cursor = 0
    # Every word can be the head of a candidate and a group of the seven before it, so
    # each word's share of the mod-97 sum is computed once and reused.
    residues: dict[str, tuple[int, int]] = {}
    for start in _IBAN_GROUPED_START.finditer(text):
        begin = start.start()
        shape = _IBAN_GROUPED.match(text, begin) if begin >= cursor else None
        if shape is None:
            continue
        words = shape.group().split(" ")
        count = _grouped_iban_word_count(words, residues)
        if count:
            end = begin + len(" ".join(words[:count]))
            pieces += [text[cursor:begin], replace(text[begin:end])]
            cursor = end
    pieces.append(text[cursor:])
    return "".join(pieces)


def _grouped_iban_word_count(words: list[str], residues: dict[str, tuple[int, int]]) -> int:
    """How many leading ``words`` form a valid IBAN, longest first (the shape may run
    into ordinary words after it), or 0. Same rules as ``iban_valid``, computed
    incrementally: the rearranged number is groups + head, so its residue mod 97 is
    extended one group at a time instead of re-parsing every prefix."""
    head = words[0]
    if not 2 <= int(head[2:]) <= 98:
        return 0
    head_value, head_shift = _iban_residue(head, residues)
    remainder, length, best = 0, len(head), 0
    for count, word in enumerate(words[1:], start=2):
        value, shift = _iban_residue(word, residues)
        remainder = (remainder * shift + value) % 97
        length += len(word)
        if length in _IBAN_LENGTHS and (remainder * head_shift + head_value) % 97 == 1:
            best = count
    return best


def _iban_residue(word: str, residues: dict[str, tuple[int, int]]) -> tuple[int, int]:
    """The word as IBAN digits (A=10 ... Z=35) mod 97, and 10**len(digits) mod 97."""
    if word not in residues:
        digits = word.upper().translate(_IBAN_LETTER_VALUES)
        residues[word] = (int(digits) % 97, pow(10, len(digits), 97))
    return residues[word]


def _sub_ipv6(text: str, replace: Replace) -> str:
    def one(match: re.Match[str]) -> str:
        run = match.group()
        if run.count(":") < 2:
            return run
        # Trim sentence punctuation, then allow for one separator colon on either side
        # ("ip:2001:db8::1", "fe80::: refused").
        begin, end = len(run) - len(run.lstrip(".")), len(run.rstrip("."))
        colon_before, colon_after = run.startswith(":", begin), run.endswith(":", begin, end)
        for trim_before, trim_after in ((0, 0), (0, 1), (1, 0), (1, 1)):
            if (trim_before and not colon_before) or (trim_after and not colon_after):
                continue
            address = run[begin + trim_before : end - trim_after]
            if _is_ipv6(address):
                return run[: begin + trim_before] + replace(address) + run[end - trim_after :]
        return run

    return _IPV6_RUN.sub(one, text)


def _is_ipv6(candidate: str) -> bool:
    # "::" alone (as in "f :: Int") is the unspecified address, not personal data.
    if len(candidate) > _IPV6_MAX_LENGTH or candidate.strip(":") == "":
        return False
    try:
        ipaddress.IPv6Address(candidate)
    except ValueError:
        return False
    return True


def _sub_ipv4(text: str, replace: Replace) -> str:
    def one(match: re.Match[str]) -> str:
        octets = _IPV4_SEPARATOR.split(match.group())
        if all(int(octet) <= 255 for octet in octets):
            return replace(match.group())
        return match.group()  # 999.1.1.1: a version or a count, not an address

    return _IPV4.sub(one, text)


def _card_groups(groups: list[str]) -> list[bool]:
    """Mark every group that belongs to at least one Luhn-valid card-shaped span."""
    marked = [False] * len(groups)
    for first, group in enumerate(groups):
        if len(group) in _CARD_LENGTHS and luhn_valid(group):
            marked[first] = True
        if len(group) not in _CARD_GROUP_LENGTHS:
            continue
        digits = group
        for last in range(first + 1, len(groups)):
            if len(groups[last]) not in _CARD_GROUP_LENGTHS:
                break
            digits += groups[last]
            if len(digits) > _CARD_LENGTHS[-1]:
                break
            if len(digits) in _CARD_LENGTHS and luhn_valid(digits):
                marked[first : last + 1] = [True] * (last + 1 - first)
    return marked


def _sub_cards(text: str, replace: Replace) -> str:
    def one(match: re.Match[str]) -> str:
        run = match.group()
        if len(run) < _CARD_LENGTHS[0]:
            return run
        spans = [group.span() for group in _DIGIT_GROUP.finditer(run)]
        marked = _card_groups([run[begin:end] for begin, end in spans])
        if not any(marked):
            return run
        # Replacing the union of all valid spans, not a greedy choice of one, leaves no
        # card-shaped span behind: that is what makes a second pass a no-op.
        pieces: list[str] = []
        cursor = 0
        index = 0
        while index < len(spans):
            if not marked[index]:
                index += 1
                continue
            last = index
            while last + 1 < len(spans) and marked[last + 1]:
                last += 1
            begin, end = spans[index][0], spans[last][1]
            pieces += [run[cursor:begin], replace(run[begin:end])]
            cursor = end
            index = last + 1
        pieces.append(run[cursor:])
        return "".join(pieces)

    return _DIGIT_RUN.sub(one, text)


def _sub_ibans(text: str, replace: Replace) -> str:
    return _sub_grouped_ibans(_sub_compact_ibans(text, replace), replace)


# --- the built-in masking's steps: each detector behind a cheap guard -------------------
# Most strings reaching the built-in masking hold digits (log bodies, order ids, routes),
# so the one check in ``mask_text`` lets them through to every detector, and each
# detector scans the whole string: ``re`` cannot skip ahead to a pattern that starts
# with a look-behind, and the IPv6, IPv4 and card patterns call back into Python for
# every hex word, number or digit run they meet. So each step has a guard: a necessary
# condition, something every span the detector replaces contains, tested with a str
# method or a short pattern that starts with a character class (which ``re`` does skip
# ahead to). A string failing it is passed on untouched, as the detector would have
# left it. Guards test what their step receives, so decoded percent escapes and the
# masks of earlier steps are accounted for. Measured on the 36,948 strings
# ``bench/logs.py`` masks in 20 batches (2-core machine, other work running): one
# pass of the detectors took 205-245 ms unguarded, 65-76 ms guarded; ``mask_text``
# over them went from 287-371 ms to 97-101 ms.
#
# Country and check digits at the start of a word (where both IBAN patterns start).
_IBAN_HEAD = re.compile(r"[0-9](?<=[A-Za-z]{2}[0-9])(?<![A-Za-z0-9][A-Za-z]{2}[0-9])[0-9]")
# 13 characters of a card span: it starts with a digit, then digits and single separators.
_CARD_SHAPE = re.compile(r"[0-9][0-9 .-]{12}")


def _may_hold_jwt(text: str) -> bool:
    return "eyJ" in text  # the base64url of '{"', the start of every JWT header


def _may_hold_uuid(text: str) -> bool:
    return text.count("-") >= 4


def _may_hold_iban(text: str) -> bool:
    return _IBAN_HEAD.search(text) is not None


def _may_hold_ipv6(text: str) -> bool:
    return text.count(":") >= 2  # ``_sub_ipv6`` leaves a run with fewer as it is


def _may_hold_ipv4(text: str) -> bool:
    return text.count(".") >= 3 or text.count("-") >= 3  # a dotted or a dashed quad


def _may_hold_card(text: str) -> bool:
    return _CARD_SHAPE.search(text) is not None


class Step(NamedTuple):
    """A detector as the built-in masking runs it: ``substitute`` if ``may_hold``."""

    substitute: Callable[[str, Replace], str]
    # None: no check cheaper than the detector's own (``_sub_emails`` looks for "@").
    may_hold: Callable[[str], bool] | None


_JWT_STEP = Step(_sub_jwts, _may_hold_jwt)
_EMAIL_STEP = Step(_sub_emails, None)
_UUID_STEP = Step(_sub_uuids, _may_hold_uuid)
_IBAN_STEP = Step(_sub_ibans, _may_hold_iban)  # compact, then grouped
_IPV6_STEP = Step(_sub_ipv6, _may_hold_ipv6)
_IPV4_STEP = Step(_sub_ipv4, _may_hold_ipv4)
_CARD_STEP = Step(_sub_cards, _may_hold_card)


def _guarded(*steps: Step) -> Callable[[str, Replace], str]:
    """The steps as one substitution, each behind its guard as in the built-in masking."""
    return lambda text, replace: _apply(steps, text, replace)


# The detectors masking rules can name, as substitutions (``privacy.rules``), each with
# a trigger: a cheap, bounded pattern everything the detector finds contains (13
# digits in a card, a country and check digits before an IBAN, four numbers of an
# IPv4 or two colons of an IPv6, the start of a UUID...). Text without it is
# skipped at once: rules run these over every string of a batch, most of which
# hold digits but nothing the detector could find. Percent-encoded data is left to
# the built-in masking (it decodes words first).
# The trigger is RE2 syntax (rules' prefilter sets); the steps' guards, which
# need look-behinds, then run as in the built-in masking.
DETECTOR_SUBSTITUTIONS: dict[str, tuple[Callable[[str, Replace], str], re.Pattern[str]]] = {
    "email": (_guarded(_EMAIL_STEP), re.compile(r"@|%40")),
    "card": (_guarded(_CARD_STEP), re.compile(r"[0-9](?:[ .-]?[0-9]){12}")),
    # ``_IBAN_HEAD`` without look-behinds: hex ids ("sid=bab9f87ff5059285") hold two
    # letters and two digits, rarely at the start of a word.
    "iban": (_guarded(_IBAN_STEP), re.compile(r"(?:^|[^A-Za-z0-9])[A-Za-z]{2}[0-9]{2}")),
    "ip": (
        _guarded(_IPV6_STEP, _IPV4_STEP),
        re.compile(r"[0-9]{1,3}[.-][0-9]{1,3}[.-][0-9]{1,3}[.-][0-9]|:[0-9A-Fa-f]{0,4}:"),
    ),
    "uuid": (_guarded(_UUID_STEP), re.compile(r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-")),
    "jwt": (_guarded(_JWT_STEP), re.compile(r"eyJ")),
}


# Most specific first: a JWT may contain anything else's digits, an email may contain
# digits and dots, an IPv4-mapped IPv6 contains an IPv4, an IBAN contains digit
# groups that a card check would look at.
_CARDS_AND_CREDENTIALS: tuple[Step, ...] = (_JWT_STEP, _IBAN_STEP, _CARD_STEP)
_ALL_DETECTORS: tuple[Step, ...] = (
    _JWT_STEP,
    _EMAIL_STEP,
    _UUID_STEP,
    _IBAN_STEP,
    _IPV6_STEP,
    _IPV4_STEP,
    _CARD_STEP,
)

# Every detector needs one of these: an email "@" (or "%40"), a UUID "-", an
# IPv6 ":", digits for IPv4, IBANs and cards, "eyJ" for a JWT. Text without any
# (most names, most header values) is returned at once, which matters on the
# ingest hot path. Percent escapes hiding any of them contain a digit ("%40").
_ANY_DETECTOR_CAN_MATCH = re.compile(r"[0-9@:-]|eyJ")
_CARD_OR_CREDENTIAL_CAN_MATCH = re.compile(r"[0-9]|eyJ")

# --- percent-encoded free text -------------------------------------------------------
_ESCAPE = re.compile(r"%[0-9A-Fa-f]{2}")
_WHITESPACE = re.compile(r"(\s+)")


def _fully_decoded(token: str) -> str | None:
    """``token`` with percent escapes decoded until none is left; ``None`` when they
    are nested deeper than anyone writes by accident."""
    for _ in range(4):
        try:
            decoded = unquote(token, errors="strict")
        except UnicodeDecodeError:  # "%FC" for "ü": escapes of Latin-1, not UTF-8
            decoded = unquote(token, encoding="latin-1")
        if decoded == token:
            return normalise_text(decoded)
        token = decoded
    return None


def _unhide_escaped(text: str, steps: tuple[Step, ...]) -> str:
    """Words whose percent escapes hide something ("4111%201111%201111%201111",
    "jane%2Edoe%40example%2Ecom") are replaced by their decoded, masked form.

    A word whose escapes hide nothing is left encoded, as sent. Decoding a whole
    word (not each escape) is what finds data split across escapes.
    """
    if "%" not in text:
        return text
    pieces = _WHITESPACE.split(text)
    for index in range(0, len(pieces), 2):  # odd indices are the whitespace
        word = pieces[index]
        if _ESCAPE.search(word) is None:
            continue
        decoded = _fully_decoded(word)
        if decoded is None:
            pieces[index] = MASK
            continue
        masked = until_stable(lambda value: _apply(steps, value), decoded)
        if masked != decoded:
            pieces[index] = masked
    return "".join(pieces)


def _apply(steps: tuple[Step, ...], text: str, replace: Replace = _to_mask) -> str:
    for substitute, may_hold in steps:
        if may_hold is None or may_hold(text):
            text = substitute(text, replace)
    return text


def _mask_once(steps: tuple[Step, ...], text: str) -> str:
    return _apply(steps, _unhide_escaped(text, steps))


def mask_text(text: str, *, personal: bool = True) -> str:
    """Replace emails, cards, IBANs, IP addresses, UUIDs and JWTs in ``text`` with ``MASK``.

    With ``personal=False`` (an application that turned
    ``mask_personal_data_in_uris`` off) only cards, IBANs and JWTs are masked: they
    are masked whatever the settings say.

    Detection runs on ``normalise_text(text)``. Text in which nothing is found is
    returned as sent; text in which something is masked is returned in its
    normalised form (what a reader would have read anyway), since a masked span
    found in the normalised text has no exact counterpart in the original.

    Generic digit runs are left alone on purpose: in free text they are mostly
    quantities, order numbers and timestamps (URI paths are stricter, see ``uri``).
    """
    candidate = normalise_text(text)
    trigger = _ANY_DETECTOR_CAN_MATCH if personal else _CARD_OR_CREDENTIAL_CAN_MATCH
    if trigger.search(candidate) is None:
        return text
    steps = _ALL_DETECTORS if personal else _CARDS_AND_CREDENTIALS
    masked = until_stable(lambda value: _mask_once(steps, value), candidate)
    return text if masked == candidate else masked


# Each detector by the name masking rules give it (the log agent's capture rules).
NAMED_DETECTORS: dict[str, tuple[Step, ...]] = {
    "email": (_EMAIL_STEP,),
    "card": (_CARD_STEP,),
    "iban": (_IBAN_STEP,),
    "ip": (_IPV6_STEP, _IPV4_STEP),
    "uuid": (_UUID_STEP,),
    "jwt": (_JWT_STEP,),
}


def mask_with(name: str, text: str) -> str:
    """``text`` with what the detector called ``name`` finds replaced by ``MASK``.

    Like ``mask_text`` (normalised first, escapes decoded, repeated until
    stable), for one detector of ``NAMED_DETECTORS``.
    """
    steps = NAMED_DETECTORS[name]
    candidate = normalise_text(text)
    masked = until_stable(lambda value: _mask_once(steps, value), candidate)
    return text if masked == candidate else masked


# A lower-case hex id (a trace or span id) holds no "@", ":", "-", ".", "%" or "eyJ", so of
# the detectors that run whatever the settings say only two can find anything in it: a
# card needs 13 or more consecutive digits, and a compact IBAN two letters and two digits
# at the start of a word (in an id, only at its start). Anything else skips the detectors.
_LOWER_HEX = re.compile(r"[0-9a-f]*")
_HEX_MAY_HIDE = re.compile(r"[0-9]{13}|^[a-f]{2}[0-9]{2}")


def mask_hex(text: str) -> str:
    """``mask_text(text, personal=False)``, without running what cannot match lower-case hex."""
    if _LOWER_HEX.fullmatch(text) and _HEX_MAY_HIDE.search(text) is None:
        return text
    return mask_text(text, personal=False)
