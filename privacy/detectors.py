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

MASK = "<masked>"

# Each pass that changes the text replaces at least one unmasked character, so the
# loop ends on its own; the cap only bounds the work on adversarial input.
_MAX_PASSES = 16


def until_stable(step: Callable[[str], str], text: str) -> str:
    """Apply ``step`` until the text stops changing, which makes ``step`` idempotent."""
    for _ in range(_MAX_PASSES):
        result = step(text)
        if result == text:
            return result
        text = result
    return text


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
# The local part may contain percent escapes (jane%2Bshop%40example.com). The
# look-behind pins the start to the beginning of a local-part run.
_EMAIL = re.compile(
    r"(?<![A-Za-z0-9._+%-])"
    r"(?:[A-Za-z0-9._+-]|%[0-9A-Fa-f]{2})+"
    r"(?:@|%40)"
    r"[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z][A-Za-z0-9-]+"
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
_IPV4 = re.compile(r"(?<![0-9.])[0-9]{1,3}(?:\.[0-9]{1,3}){3}(?![0-9]|\.[0-9])")

# --- payment cards ----------------------------------------------------------------
# Digit groups joined by single spaces or dashes, e.g. "4111 1111 1111 1111". Groups
# of one or two digits can be in no card span (see below), so they end a run.
_DIGIT_RUN = re.compile(r"(?<![0-9])[0-9]{3,}(?:[ -][0-9]{3,})*")
_DIGIT_GROUP = re.compile(r"[0-9]+")
_CARD_LENGTHS = range(13, 20)
# Printed card numbers use groups of 3 to 6 digits (4-4-4-4, 4-6-5, 4-4-4-4-3).
# Requiring that keeps dates ("2026-11-28 2026-11-29") and lists of small numbers,
# a tenth of which would pass Luhn by chance, from being taken for cards.
_CARD_GROUP_LENGTHS = range(3, 7)


def _mask_emails(text: str) -> str:
    return _EMAIL.sub(MASK, text)


def _mask_uuids(text: str) -> str:
    return _UUID.sub(MASK, text)


def _mask_compact_ibans(text: str) -> str:
    return _IBAN_COMPACT.sub(lambda m: MASK if iban_valid(m.group()) else m.group(), text)


def _mask_grouped_ibans(text: str) -> str:
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
            pieces += [text[cursor:begin], MASK]
            cursor = begin + len(" ".join(words[:count]))
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


def _mask_ipv6_run(match: re.Match[str]) -> str:
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
        if _is_ipv6(run[begin + trim_before : end - trim_after]):
            return run[: begin + trim_before] + MASK + run[end - trim_after :]
    return run


def _is_ipv6(candidate: str) -> bool:
    # "::" alone (as in "f :: Int") is the unspecified address, not personal data.
    if len(candidate) > _IPV6_MAX_LENGTH or candidate.strip(":") == "":
        return False
    try:
        ipaddress.IPv6Address(candidate)
    except ValueError:
        return False
    return True


def _mask_ipv6(text: str) -> str:
    return _IPV6_RUN.sub(_mask_ipv6_run, text)


def _mask_ipv4_match(match: re.Match[str]) -> str:
    try:
        ipaddress.IPv4Address(match.group())
    except ValueError:  # 999.1.1.1, or leading zeros
        return match.group()
    return MASK


def _mask_ipv4(text: str) -> str:
    return _IPV4.sub(_mask_ipv4_match, text)


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


def _mask_card_run(match: re.Match[str]) -> str:
    run = match.group()
    if len(run) < _CARD_LENGTHS[0]:
        return run
    spans = [group.span() for group in _DIGIT_GROUP.finditer(run)]
    marked = _card_groups([run[begin:end] for begin, end in spans])
    if not any(marked):
        return run
    # Masking the union of all valid spans, not a greedy choice of one, leaves no
    # card-shaped span behind: that is what makes a second pass a no-op.
    pieces: list[str] = []
    cursor = 0
    for index, (begin, end) in enumerate(spans):
        if not marked[index]:
            continue
        if index == 0 or not marked[index - 1]:
            pieces += [run[cursor:begin], MASK]
        cursor = end
    pieces.append(run[cursor:])
    return "".join(pieces)


def _mask_cards(text: str) -> str:
    return _DIGIT_RUN.sub(_mask_card_run, text)


# Most specific first: an email may contain digits and dots, an IPv4-mapped IPv6
# contains an IPv4, an IBAN contains digit groups that a card check would look at.
_STEPS: tuple[Callable[[str], str], ...] = (
    _mask_emails,
    _mask_uuids,
    _mask_compact_ibans,
    _mask_grouped_ibans,
    _mask_ipv6,
    _mask_ipv4,
    _mask_cards,
)


def _mask_once(text: str) -> str:
    for step in _STEPS:
        text = step(text)
    return text


# Every detector needs one of these: an email "@" (or "%40"), a UUID "-", an
# IPv6 ":", and digits for IPv4, IBANs and cards. Text without any (most names,
# most header values) is returned at once, which matters on the ingest hot path.
_ANY_DETECTOR_CAN_MATCH = re.compile(r"[0-9@:-]")


def mask_text(text: str) -> str:
    """Replace emails, cards, IBANs, IP addresses and UUIDs in ``text`` with ``MASK``.

    Generic digit runs are left alone on purpose: in free text they are mostly
    quantities, order numbers and timestamps (URI paths are stricter, see ``uri``).
    """
    if _ANY_DETECTOR_CAN_MATCH.search(text) is None:
        return text
    return until_stable(_mask_once, text)
