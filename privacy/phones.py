"""Phone numbers in free text, found by Google's libphonenumber (the ``phonenumbers`` port).

A regular expression for phone numbers either misses national formats
(``0660 1234567``) or masks every order number. libphonenumber knows each
country's numbering plan: it finds a number written nationally when it is
told which country to assume (the application's ``phone_region``), and
numbers written internationally (``+43 660 1234567``) in any case. Only
numbers that are valid in their plan are found (``Leniency.VALID``), so
``order 1234567890`` and dates are left alone.

The matcher is pure Python and costs about a millisecond per call, whatever
the text: it runs only on text with a run of at least seven digits (separated
by at most three spaces, dots, dashes, slashes or parentheses), the least a
dialable number with its area code has; order numbers, SKUs and ids in URLs
mostly have fewer, and are skipped without calling it. libphonenumber's own
compiled-pattern cache is switched on (it otherwise recompiles its metadata's
patterns once Python's small ``re`` cache overflows).
"""

from __future__ import annotations

import re
from collections.abc import Callable

import phonenumbers
from phonenumbers import re_util

re_util.enable_pattern_cache()

# Seven digits, each at most three separators from the next. Linear: each step of
# the repetition consumes a digit.
_SEVEN_DIGITS = r"[0-9](?:[\s().\-/]{0,3}[0-9]){6}"
# The same, not right after a Latin letter: libphonenumber refuses a number glued to a
# letter before it ("sid=bab9f87ff5059285", "a0660 1234567"), unless the number starts
# with "+" or "(", which is no letter either. Hex ids and session cookies, most of
# what has seven digits in shop traffic, then skip the matcher: 511 of 598 calls
# in three batches of bench/ingest.py --rules 20, 94 us each.
_PHONE_CANDIDATE = re.compile(r"(?<![A-Za-z])" + _SEVEN_DIGITS)
# ``_PHONE_CANDIDATE`` in RE2 syntax, which has no look-behind: masking rules'
# prefilter sets use it, so those hex ids do not even make the rule a candidate.
PHONE_TRIGGER = "(?:^|[^A-Za-z])" + _SEVEN_DIGITS


def is_region(code: str) -> bool:
    """Whether ``code`` is a region libphonenumber knows (ISO 3166 alpha-2, upper case)."""
    return code in phonenumbers.SUPPORTED_REGIONS


def substitute_phones(text: str, replace: Callable[[str], str], *, region: str | None) -> str:
    """``text`` with every valid phone number handed to ``replace``.

    ``region`` (e.g. ``"AT"``) is the country a national number is read in;
    without it only numbers in international form (``+``) are found.
    """
    if _PHONE_CANDIDATE.search(text) is None:
        return text
    pieces: list[str] = []
    cursor = 0
    for match in phonenumbers.PhoneNumberMatcher(text, region or "ZZ"):
        pieces += [text[cursor : match.start], replace(match.raw_string)]
        cursor = match.end
    if not pieces:
        return text
    pieces.append(text[cursor:])
    return "".join(pieces)
