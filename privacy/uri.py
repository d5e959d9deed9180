"""Masking of personal data in URLs (``mask_personal_data_in_uris``).

URLs are stricter than free text: every query value is masked (values are what
forms and trackers put personal data into), and path segments also lose digit
runs of 5 or more (customer and order ids). The URL is rebuilt piece by piece
rather than with ``urlunsplit``, which drops empty ``?``/``#`` and can turn a
``//`` path into a host; that keeps ``mask_uri`` idempotent and ``<masked>``
readable (never percent-encoded).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from functools import partial
from urllib.parse import unquote, unquote_plus, urlsplit

from privacy.detectors import MASK, mask_text, until_stable

# Percent escapes are matched first so that "%2012345" masks "12345", not "2012345".
_ESCAPE_OR_DIGIT_RUN = re.compile(r"%[0-9A-Fa-f]{2}|[0-9]{5,}")
_DIGIT_RUN = re.compile(r"[0-9]{5,}")
# What urlsplit itself strips (WHATWG); doing it first keeps our offsets aligned with
# its parse whatever the Python patch level.
_LEADING_JUNK = "".join(chr(code) for code in range(0x21))
_REMOVED_CHARS = str.maketrans("", "", "\t\r\n")


def mask_uri(url: str) -> str:
    """Mask personal data in ``url``; an unparseable URL is masked as free text.

    Userinfo is removed, an IP-literal host becomes ``<masked>``, every non-empty
    query value becomes ``<masked>`` (``?a=`` stays blank: there is nothing to hide
    and the key still tells what was sent).
    """
    url = url.lstrip(_LEADING_JUNK).translate(_REMOVED_CHARS)
    try:
        parts = urlsplit(url)
    except ValueError:  # e.g. unbalanced "[" in the host
        return mask_text(url)
    scheme = url[: len(parts.scheme)]  # urlsplit lowercases it; keep what was sent
    pieces = [f"{scheme}:"] if scheme else []
    if url[len(scheme) + 1 if scheme else 0 :].startswith("//"):
        pieces.append("//" + _mask_netloc(parts.netloc))
    pieces.append("/".join(_mask_path_segment(segment) for segment in parts.path.split("/")))
    if "?" in url.partition("#")[0]:
        pieces.append("?" + "&".join(_mask_query_field(f) for f in parts.query.split("&")))
    if "#" in url:
        pieces.append("#" + mask_text(parts.fragment))
    return "".join(pieces)


def _mask_netloc(netloc: str) -> str:
    hostport = netloc.rpartition("@")[2]  # credentials never leave this function
    if hostport.startswith("["):  # brackets only ever hold an IP literal
        return MASK + mask_text(hostport.partition("]")[2])
    host, colon, port = hostport.partition(":")
    if _is_ip_literal(host):
        host = MASK
    return host + colon + mask_text(port)


def _is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(unquote(host))
    except ValueError:
        return False
    return True


def _mask_path_segment(segment: str) -> str:
    return until_stable(partial(_mask_component, decode=unquote, digit_runs=True), segment)


def _mask_query_field(field: str) -> str:
    key, equals, value = field.partition("=")
    # A bare "?12345" or "?jane@example.com" is a value without a name: mask it like
    # a path segment. A key is a name chosen by developers: only the detectors apply.
    key = until_stable(partial(_mask_component, decode=unquote_plus, digit_runs=not equals), key)
    return f"{key}={MASK if value else ''}" if equals else key


def _mask_component(text: str, decode: Callable[[str], str], *, digit_runs: bool) -> str:
    """One masking pass over a path segment or query key.

    Detectors run on the raw text (so the rest keeps its encoding) and on the decoded
    text; when personal data only shows once decoded ("4111%201111%20..."), the whole
    component goes, since it cannot be masked piecewise without re-encoding it.
    """
    masked = mask_text(text)
    if digit_runs:
        masked = _ESCAPE_OR_DIGIT_RUN.sub(_mask_digit_run, masked)
    decoded = decode(masked)
    if decoded != masked and (
        mask_text(decoded) != decoded or (digit_runs and _DIGIT_RUN.search(decoded))
    ):
        return MASK
    return masked


def _mask_digit_run(match: re.Match[str]) -> str:
    return match.group() if match.group().startswith("%") else MASK
