"""Truncation of client IP addresses according to an application's ``ip_masking``.

Truncating (rather than hashing) keeps the network part, which is what RUM
analysis needs (provider, region), while dropping the part that identifies a
subscriber line.
"""

from __future__ import annotations

import ipaddress
from enum import StrEnum

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Keep the first 24 bits of IPv4 and the first 48 bits of IPv6 (a site prefix):
# that is the granularity the product promises, and it is the same for every
# address, so two masked addresses of one network collapse to one value.
_IPV4_KEPT = 0xFFFF_FF00
_IPV6_KEPT = ((1 << 48) - 1) << 80
# In an IPv4-mapped IPv6 address the embedded IPv4 is the last 32 bits, so its
# last octet is the last 8 bits of the whole address.
_MAPPED_IPV4_KEPT = ~0xFF


class IpMasking(StrEnum):
    """The ``ip_masking`` privacy setting of an application."""

    ALL = "all"
    PUBLIC = "public"
    OFF = "off"


def mask_ip(address: str, *, mode: str) -> str:
    """Return ``address`` masked according to ``mode``, in canonical text form.

    Raises ``ValueError`` for an unknown mode or an invalid address; the ingest
    API turns that into a 400 instead of storing something it cannot mask.
    """
    policy = IpMasking(mode)
    if not isinstance(address, str):
        raise ValueError(f"IP address must be a string, not {type(address).__name__}")
    ip = ipaddress.ip_address(address)
    if policy is IpMasking.OFF or (policy is IpMasking.PUBLIC and not _is_global(ip)):
        return str(ip)
    return str(_truncate(ip))


def _is_global(ip: IpAddress) -> bool:
    # Judge a mapped address by the IPv4 it carries: ::ffff:10.0.0.1 is as private as
    # 10.0.0.1, and Python versions disagree on what ``is_global`` says for it.
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped.is_global
    return ip.is_global


def _truncate(ip: IpAddress) -> IpAddress:
    if isinstance(ip, ipaddress.IPv4Address):
        return ipaddress.IPv4Address(int(ip) & _IPV4_KEPT)
    # Building from an int also drops any %scope suffix, which names a host interface.
    if ip.ipv4_mapped is not None:
        return ipaddress.IPv6Address(int(ip) & _MAPPED_IPV4_KEPT)
    return ipaddress.IPv6Address(int(ip) & _IPV6_KEPT)
