"""Masking of personal data and secrets in URLs.

URLs are stricter than free text: every query value is masked (values are what
forms and trackers put personal data into), and path segments also lose digit
runs of 5 or more (customer and order ids). Those rules follow the
application's ``mask_personal_data_in_uris`` (``personal``). Secrets are masked
whatever the setting says:

* the userinfo of the authority (``https://user:password@host``);
* cards, IBANs and JWT-shaped values anywhere (``/magic-login/eyJ...``);
* the value of any query, fragment or matrix parameter whose name is in the
  credential vocabulary (``?token=``, ``#access_token=``, ``;jsessionid=``);
* path segments and parameter values that look like random tokens (reset and
  magic links), see ``looks_like_token``.

The fragment is masked like the rest of a URL: single-page applications route
there (``#/reset?token=...&email=...``) and OAuth's implicit flow puts its tokens
there (``#access_token=...``).

The URL is rebuilt piece by piece rather than with ``urlunsplit``, which drops
empty ``?``/``#`` and can turn a ``//`` path into a host; that keeps ``mask_uri``
idempotent and ``<masked>`` readable (never percent-encoded).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any
from urllib.parse import unquote, unquote_plus, urlsplit

from privacy.credentials import is_credential_name
from privacy.detectors import MASK, mask_text
from privacy.stable import until_stable

# Percent escapes are matched first so that "%2012345" masks "12345", not "2012345".
_ESCAPE_OR_DIGIT_RUN = re.compile(r"%[0-9A-Fa-f]{2}|[0-9]{5,}")
_DIGIT_RUN = re.compile(r"[0-9]{5,}")
# What urlsplit itself strips (WHATWG); doing it first keeps our offsets aligned with
# its parse whatever the Python patch level.
_LEADING_JUNK = "".join(chr(code) for code in range(0x21))
_REMOVED_CHARS = str.maketrans("", "", "\t\r\n")

# --- random tokens ------------------------------------------------------------------
# A token is a run of at least TOKEN_MIN_LENGTH base64url characters with a piece
# (between "-" and "_") of at least TOKEN_MIN_PIECE characters that mixes
# character classes the way random strings do: letters and digits
# ("3f9a7c2e1b0d4f6a8e5c", "Zx8kQ2mP9vL3nR7tY1wB"), or upper and lower case
# throughout ("kQmPvLnRtYwBzXcVbNmA"). Slugs have none: their pieces are words or
# numbers ("summer-dresses-2026", "iphone-15-pro-max"). Accepted cost: a content
# hash of 20+ characters in an asset name is masked too.
TOKEN_MIN_LENGTH = 20
TOKEN_MIN_PIECE = 8
_TOKEN_RUN = re.compile(rf"[A-Za-z0-9_-]{{{TOKEN_MIN_LENGTH},}}")
_TOKEN_PIECE = re.compile(rf"[A-Za-z0-9]{{{TOKEN_MIN_PIECE},}}")


def looks_like_token(text: str) -> bool:
    """True when ``text`` contains a run that looks randomly generated (see above)."""
    if len(text) < TOKEN_MIN_LENGTH:  # most path segments and values: no work at all
        return False
    return any(
        _mixes_classes(piece)
        for run in _TOKEN_RUN.findall(text)
        for piece in _TOKEN_PIECE.findall(run)
    )


def _mixes_classes(piece: str) -> bool:
    digits = sum(char.isdigit() for char in piece)
    if 0 < digits < len(piece):
        return True
    if digits:
        return False
    # Letters only: random text switches case all along; a CamelCase word has one
    # capital every five to ten letters.
    quarter = len(piece) // 4
    upper = sum(char.isupper() for char in piece[1:])
    return upper >= quarter and len(piece) - 1 - upper >= quarter


# --- the URL ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Rules:
    personal: bool
    detect: Callable[[str], str]  # mask_text with ``personal``, maybe memoised by the caller
    detect_secrets: Callable[[str], str]  # mask_text without ``personal``
    # A ``UriMasker``'s results by piece: host and port, path segment, parameter (by
    # decoding function); None for a single ``mask_uri``. Plain str -> str dicts.
    netlocs: dict[str, str] | None = None
    segments: dict[str, str] | None = None
    parameters: dict[Callable[[str], str], dict[str, str]] | None = None


def _rules(personal: bool, detect: Callable[[str], str] | None, *, memo: bool) -> _Rules:
    detect = detect or partial(mask_text, personal=personal)
    secrets = detect if not personal else partial(mask_text, personal=False)
    if not memo:
        return _Rules(personal=personal, detect=detect, detect_secrets=secrets)
    return _Rules(personal, detect, secrets, netlocs={}, segments={}, parameters={})


def mask_uri(url: str, *, personal: bool = True, detect: Callable[[str], str] | None = None) -> str:
    """Mask ``url``; an unparseable URL is masked as free text.

    Always: userinfo removed, secrets masked (see the module docstring). With
    ``personal``: an IP-literal host becomes ``<masked>``, every non-empty query,
    fragment and matrix value becomes ``<masked>`` (``?a=`` stays blank: there is
    nothing to hide and the key still tells what was sent), digit runs of 5 or more
    in path segments too, and the detectors of ``mask_text`` run everywhere.

    ``detect`` must be ``mask_text`` with the same ``personal``; a caller passes a
    memoised one, since the pieces of URLs repeat far more than whole URLs.
    """
    return _mask_uri(url, _rules(personal, detect, memo=False))


class UriMasker:
    """``mask_uri`` with one ``personal`` and ``detect``, for the URLs of one batch.

    Whole URLs rarely repeat (ids, query values), their pieces do: the host, path
    segments (``women``, ``SKU-01234``), parameters (``ref=newsletter``). Each
    piece is masked by a pure function of its text and the rules, so its result
    is kept by text and reused: the same output as ``mask_uri`` for every URL
    (``tests/privacy/test_uri.py`` holds it). Masking a batch of
    ``bench/ingest.py`` (1,000 distinct URLs) took 21-22.5 ms of CPU with it
    instead of 31-34 ms. Keep one only as long as the batch: the memo holds the
    pieces as sent.
    """

    def __init__(self, *, personal: bool, detect: Callable[[str], str] | None = None) -> None:
        self._rules = _rules(personal, detect, memo=True)

    def __call__(self, url: str) -> str:
        return _mask_uri(url, self._rules)


def _mask_uri(url: str, rules: _Rules) -> str:
    detect = rules.detect
    url = url.lstrip(_LEADING_JUNK).translate(_REMOVED_CHARS)
    try:
        parts = urlsplit(url)
    except ValueError:  # e.g. unbalanced "[" in the host
        return detect(url)
    scheme = url[: len(parts.scheme)]  # urlsplit lowercases it; keep what was sent
    pieces = [f"{scheme}:"] if scheme else []
    if url[len(scheme) + 1 if scheme else 0 :].startswith("//"):
        pieces.append("//" + _mask_netloc(parts.netloc, rules))
    pieces.append(_mask_path(parts.path, rules))
    if "?" in url.partition("#")[0]:
        pieces.append("?" + _mask_query(parts.query, rules))
    if "#" in url:
        pieces.append("#" + _mask_fragment(parts.fragment, rules))
    return "".join(pieces)


def _memoised(memo: dict[str, str] | None, mask: Callable[..., str], piece: str, *args: Any) -> str:
    """``mask(piece, *args)``, looked up in the batch's ``memo`` first (``UriMasker``),
    if any. Arguments rather than a ``partial``: this runs for every piece of every URL."""
    if memo is None:
        return mask(piece, *args)
    masked = memo.get(piece)
    if masked is None:
        masked = memo[piece] = mask(piece, *args)
    return masked


def _mask_netloc(netloc: str, rules: _Rules) -> str:
    return _memoised(rules.netlocs, _mask_netloc_once, netloc, rules)


def _mask_netloc_once(netloc: str, rules: _Rules) -> str:
    hostport = netloc.rpartition("@")[2]  # credentials never leave this function
    if hostport.startswith("["):  # brackets only ever hold an IP literal
        literal, _, port = hostport.partition("]")
        host = MASK if rules.personal else literal + "]"
        return host + rules.detect(port)
    host, colon, port = hostport.partition(":")
    if rules.personal and _is_ip_literal(host):
        host = MASK
    return host + colon + rules.detect(port)


def _is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(unquote(host))
    except ValueError:
        return False
    return True


def _mask_path(path: str, rules: _Rules) -> str:
    return "/".join(_mask_path_segment(segment, rules) for segment in path.split("/"))


def _mask_path_segment(segment: str, rules: _Rules) -> str:
    return _memoised(rules.segments, _mask_path_segment_once, segment, rules)


def _mask_path_segment_once(segment: str, rules: _Rules) -> str:
    # Matrix parameters (RFC 3986 3.3, "/checkout;jsessionid=..."): the part before
    # the first ";" is the segment, each "name=value" after it a parameter.
    name, semicolon, parameters = segment.partition(";")
    masked = until_stable(
        partial(_mask_component, decode=unquote, digit_runs=rules.personal, detect=rules.detect),
        name,
    )
    if not semicolon:
        return masked
    return ";".join([masked, *(_mask_parameter(p, unquote, rules) for p in parameters.split(";"))])


def _mask_query(query: str, rules: _Rules) -> str:
    return "&".join(_mask_parameter(field, unquote_plus, rules) for field in query.split("&"))


def _mask_fragment(fragment: str, rules: _Rules) -> str:
    route, question, query = fragment.partition("?")
    if "=" in route:  # "#access_token=...&state=..." (OAuth implicit flow): no route
        return _mask_query(fragment, rules)
    masked = _mask_path(route, rules)
    return masked + "?" + _mask_query(query, rules) if question else masked


def _mask_parameter(field: str, decode: Callable[[str], str], rules: _Rules) -> str:
    """One ``name=value`` of a query, fragment or matrix parameter list."""
    memo = None if rules.parameters is None else rules.parameters.setdefault(decode, {})
    return _memoised(memo, _mask_parameter_once, field, decode, rules)


def _mask_parameter_once(field: str, decode: Callable[[str], str], rules: _Rules) -> str:
    key, equals, value = field.partition("=")
    # A bare "?12345" or "?jane@example.com" is a value without a name: mask it like
    # a path segment. A key is a name chosen by developers: only the detectors apply.
    key = until_stable(
        partial(
            _mask_component,
            decode=decode,
            digit_runs=rules.personal and not equals,
            detect=rules.detect,
        ),
        key,
    )
    if not equals:
        return key
    if value and (rules.personal or is_credential_name(decode(key))):
        return f"{key}={MASK}"
    # Only with ``personal`` off: cards, JWTs and random tokens are still masked.
    secrets_only = partial(
        _mask_component, decode=decode, digit_runs=False, detect=rules.detect_secrets
    )
    return f"{key}={until_stable(secrets_only, value)}"


def _mask_component(
    text: str, decode: Callable[[str], str], *, digit_runs: bool, detect: Callable[[str], str]
) -> str:
    """One masking pass over a path segment, a parameter name or value.

    Detectors run on the raw text (so the rest keeps its encoding) and on the decoded
    text; when personal data only shows once decoded ("4111%201111%20..."), the whole
    component goes, since it cannot be masked piecewise without re-encoding it. So
    does a component that looks like a random token.
    """
    masked = detect(text)
    if digit_runs:
        masked = _ESCAPE_OR_DIGIT_RUN.sub(_mask_digit_run, masked)
    decoded = decode(masked)
    if looks_like_token(decoded):
        return MASK
    if decoded != masked and (
        detect(decoded) != decoded or (digit_runs and _DIGIT_RUN.search(decoded))
    ):
        return MASK
    return masked


def _mask_digit_run(match: re.Match[str]) -> str:
    return match.group() if match.group().startswith("%") else MASK
