"""Web origins allowed to send browser beacons: parsing, and the one comparison.

An origin is what a browser puts in its ``Origin`` header: scheme, host and a
port only when it is not the scheme's default (``https://shop.example.com``,
``http://127.0.0.1:8000``), lower case, nothing else. Stored origins are kept
in exactly that form, so the check on a request is an exact string match:
no prefix or suffix matching that ``https://shop.example.com.evil.net`` could
slip through, no wildcards, and ``null`` (sandboxed frames, ``file:`` pages)
never matches.

Plain ``http`` is accepted only for loopback hosts (local development and the
demo): a shop page served without TLS cannot protect what it sends anyway.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

_DEFAULT_PORTS = {"https": 443, "http": 80}
# A DNS name as browsers serialise it (IDNs arrive in their xn-- form).
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_HOST_NAME = re.compile(rf"(?=.{{1,253}}\Z){_LABEL}(?:\.{_LABEL})*")
_MAX_LENGTH = 300


class InvalidOrigin(ValueError):
    """``str()`` explains what is wrong without repeating the value."""


def normalise_origin(text: str) -> str:
    """``text`` in the form a browser sends it; raises ``InvalidOrigin``."""
    text = text.strip()
    if not text or len(text) > _MAX_LENGTH or not text.isascii():
        raise InvalidOrigin("An origin looks like https://shop.example.com")
    try:
        parts = urlsplit(text.rstrip("/"))
        port = parts.port
    except ValueError:
        raise InvalidOrigin("An origin looks like https://shop.example.com") from None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        raise InvalidOrigin("An origin starts with https:// (or http:// for a loopback host)")
    if parts.username is not None or parts.path or parts.query or parts.fragment:
        raise InvalidOrigin("An origin has no path, query, fragment or user name")
    if "*" in text:
        raise InvalidOrigin("Wildcards are not allowed: list each origin")
    host = parts.hostname.lower()
    literal = _ip_literal(host)
    if literal is None and not _HOST_NAME.fullmatch(host):
        raise InvalidOrigin("The host of an origin is a DNS name or an IP address")
    if scheme == "http" and not _is_loopback(host, literal):
        raise InvalidOrigin("Plain http:// is allowed only for localhost and loopback addresses")
    shown_host = f"[{literal.compressed}]" if isinstance(literal, ipaddress.IPv6Address) else host
    if port is None or port == _DEFAULT_PORTS[scheme]:
        return f"{scheme}://{shown_host}"
    return f"{scheme}://{shown_host}:{port}"


def origin_allowed(origin: str, allowed: list[str]) -> bool:
    """Whether a request's ``Origin`` header names one of the ``allowed`` origins."""
    return origin != "null" and origin in allowed


def _ip_literal(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def _is_loopback(host: str, literal: ipaddress.IPv4Address | ipaddress.IPv6Address | None) -> bool:
    if literal is not None:
        return literal.is_loopback
    return host == "localhost" or host.endswith(".localhost")
