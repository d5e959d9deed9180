"""User regular expressions of masking rules, compiled by RE2 or refused with a reason.

A masking rule's pattern comes from an administrator and runs over every
string of every batch, so it must not be able to make ingest slow. Python's
``re`` backtracks: ``(a+)+$`` against forty ``a`` and a ``!`` takes minutes.
RE2 (``google-re2``) guarantees time linear in the text, and refuses what it
cannot run that way (back-references, look-around); such a pattern is refused
here with a reason a person can act on, instead of running it on a slower
engine. Two caps bound the rest: the pattern's length, and the memory RE2 may
give its compiled program (a huge counted repetition, ``a{1000}{1000}``, is
refused as too large instead of eating memory on every worker).

The part of a match that a rule rewrites is the whole match, or the group
named ``mask`` when the pattern has one (``deliver to (?P<mask>[^,]+),``).
Matches of the empty string are ignored: ``.*`` rewrites a whole value once,
it does not insert a mask between every two characters.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import re2

PATTERN_MAX_LENGTH = 500
# The memory RE2 may use for one compiled pattern (its default is 8 MiB).
PATTERN_MAX_MEMORY = 1 << 20
MASK_GROUP = "mask"

# RE2's error codes (the text before the colon of its message) in words; the rest of
# its message quotes the pattern, which is the caller's own input and not repeated.
_REASONS = {
    "invalid escape sequence": "an escape RE2 does not support, such as a back-reference "
    "(\\1) or \\Z; back-references cannot run in linear time",
    "invalid perl operator": "look-around ((?=...), (?!...), (?<=...), (?<!...)) or another "
    "construct RE2 does not support; it cannot run in linear time",
    "invalid named capture group": "an invalid named group; write (?P<name>...)",
    "missing )": "an opening parenthesis without its closing one",
    "unexpected )": "a closing parenthesis without its opening one",
    "missing ]": "a character class without its closing bracket",
    "bad repetition operator": "a repetition of a repetition (such as a** or a{2}{3})",
    "missing argument to repetition operator": "a repetition operator with nothing to repeat",
    "bad repetition count": "a repetition count outside 0..1000",
    "invalid repetition size": "a repetition count over 1000, or nested counts too large",
    "invalid character class range": "a character class range that runs backwards",
    "pattern too large - compile failed": "a pattern too large to compile in "
    f"{PATTERN_MAX_MEMORY // 1024} KiB (use smaller repetition counts)",
    "pattern too large - reverse compile failed": "a pattern too large to compile in "
    f"{PATTERN_MAX_MEMORY // 1024} KiB (use smaller repetition counts)",
    "invalid UTF-8": "text that is not valid UTF-8",
    "trailing \\": "a backslash at the end",
}


class PatternRefused(ValueError):
    """The pattern cannot be used; ``reason`` says why, without quoting it."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


Replace = Callable[[str], str]


@dataclass(frozen=True, eq=False)
class CompiledPattern:
    """A pattern RE2 compiled, and which group a match rewrites."""

    regexp: Any  # re2._Regexp (google-re2 ships no type information)
    group: int  # 0 (the whole match) or the index of the group named ``mask``

    def substitute(self, text: str, replace: Replace) -> str:
        """``text`` with each non-empty rewritten span handed to ``replace``."""
        pieces: list[str] = []
        cursor = 0
        for match in self.regexp.finditer(text):
            begin, end = match.span(self.group)
            if begin < cursor or begin == end:  # no such group in this match, or empty
                continue
            pieces += [text[cursor:begin], replace(text[begin:end])]
            cursor = end
        if not pieces:
            return text
        pieces.append(text[cursor:])
        return "".join(pieces)

    def finds_in(self, text: str) -> bool:
        return any(
            match.span(self.group)[0] < match.span(self.group)[1]
            for match in self.regexp.finditer(text)
        )


def _options() -> Any:
    options = re2.Options()
    options.max_mem = PATTERN_MAX_MEMORY
    # RE2 would print the failing pattern to stderr, past the masked logging.
    options.log_errors = False
    return options


@lru_cache(maxsize=1024)
def compile_pattern(pattern: str) -> CompiledPattern:
    """Compile ``pattern`` with RE2; raises ``PatternRefused`` saying why it cannot run.

    Cached: every worker compiles each rule's pattern once, not once per batch.
    """
    if not pattern:
        raise PatternRefused("the pattern is empty")
    if len(pattern) > PATTERN_MAX_LENGTH:
        raise PatternRefused(f"the pattern is longer than {PATTERN_MAX_LENGTH} characters")
    try:
        regexp = re2.compile(pattern, options=_options())
    except re2.error as error:
        raise PatternRefused(_reason(error)) from None
    except (TypeError, ValueError):  # e.g. a lone surrogate, which UTF-8 cannot encode
        raise PatternRefused("text that is not valid UTF-8") from None
    return CompiledPattern(regexp=regexp, group=regexp.groupindex.get(MASK_GROUP, 0))


def _reason(error: Exception) -> str:
    message = error.args[0] if error.args else ""
    if isinstance(message, bytes):
        message = message.decode("utf-8", "replace")
    code = str(message).split(":", 1)[0].strip()
    described = _REASONS.get(code, code or "a syntax error")
    return f"RE2 cannot use this pattern: {described}"


def pattern_set(patterns: list[str]) -> Callable[[str], list[int]] | None:
    """One RE2 pass telling which of ``patterns`` find something in a text.

    A field with ten pattern rules then costs one scan per value, and only the
    rules whose pattern matches run their (slower) substitution. None when
    RE2 cannot build the set in ``PATTERN_MAX_MEMORY`` (each rule then runs on
    its own, as without the set).
    """
    if not patterns:
        return None
    try:
        found = re2.Set.SearchSet(options=_options())
        for pattern in patterns:
            found.Add(pattern)
        found.Compile()
    except re2.error:
        return None

    def matching(text: str) -> list[int]:
        return found.Match(text) or []

    return matching
