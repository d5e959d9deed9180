"""Unicode normalisation applied before any detector or name check.

A detector only sees what its pattern was written for: ASCII digits, ``@``, ``.``.
Clients (and attackers) can write the same data in ways that a reader takes for
the original but a regular expression does not: fullwidth at signs and digits, a
zero-width space inside an email, a card split by no-break spaces, Arabic-Indic
digits, an ideographic full stop between domain labels (IDNA accepts it as a
dot). ``normalise_text`` folds those to the plain form first.

The ``regex`` package is used (instead of ``re``) only for its Unicode property
classes: ``re`` cannot say "any format character", and listing the code points by
hand would go stale with every Unicode version.
"""

from __future__ import annotations

import unicodedata

import regex

# Relative: the log agent (agents/python) ships this module inside its own package.
from .stable import until_stable

# Format characters (zero-width space and joiners, bidi controls, soft hyphen, BOM,
# tag characters) and the other default-ignorable code points (variation selectors,
# Hangul fillers, the combining grapheme joiner): invisible when rendered, so a
# reader sees "jane@example.com" where a pattern would see "jane\u200b@example.com".
_IGNORABLE = regex.compile(r"[\p{Cf}\p{Default_Ignorable_Code_Point}]+")
# Decimal digits of other scripts; NFKC folds fullwidth digits but not these.
_NON_ASCII_DIGIT = regex.compile(r"(?![0-9])\p{Nd}")
# IDNA (RFC 3490, 3.1) treats these as label dots; NFKC folds U+FF0E and U+FF61 to
# one of them, but not U+3002 itself.
_LABEL_DOTS = str.maketrans({"\u3002": ".", "\uff0e": ".", "\uff61": "."})
# Characters that would make a name look different without changing it for a reader.
_NAME_NOISE = regex.compile(r"[\W_]+")


def _ascii_digit(match: regex.Match[str]) -> str:
    # ``regex`` may know a newer Unicode version than ``unicodedata``: a digit only
    # the former knows is left as it is.
    value = unicodedata.digit(match.group(), None)
    return match.group() if value is None else str(value)


def _normalise_once(text: str) -> str:
    text = unicodedata.normalize("NFKC", _IGNORABLE.sub("", text))
    # NFKC can produce an ignorable (U+FFA0 -> U+3164); removing it can leave
    # composable neighbours, hence the loop in ``normalise_text``.
    text = _IGNORABLE.sub("", text)
    return _NON_ASCII_DIGIT.sub(_ascii_digit, text).translate(_LABEL_DOTS)


def normalise_text(text: str) -> str:
    """NFKC, without invisible characters, with ASCII digits and dots; idempotent.

    ASCII text is returned as it is (it is already in this form), which keeps the
    common case free of any Unicode work.
    """
    if text.isascii():
        return text
    return until_stable(_normalise_once, text)


def normalise_name(name: str) -> str:
    """The form in which a key or header name is compared with a vocabulary.

    ``normalise_text``, case-folded, with every separator and symbol removed, so
    ``X-Api-Key``, ``x_api_key``, ``xApiKey`` and ``X-API\u200b-KEY`` are all ``xapikey``.
    """
    return _NAME_NOISE.sub("", normalise_text(name).casefold())
