"""Truncation of client IP addresses according to an application's ``ip_masking``.

Truncating (rather than hashing) keeps the network part, which is what RUM
analysis needs (provider, region), while dropping the part that identifies a
subscriber line.
"""

from __future__ import annotations

import ipaddress

from privacy.choices import LabelledChoices

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Keep the first 24 bits of IPv4 and the first 48 bits of IPv6 (a site prefix):
# that is the granularity the product promises, and it is the same for every
# address, so two masked addresses of one network collapse to one value.
_IPV4_KEPT_BITS = 24
_IPV6_KEPT_BITS = 48
# IPv6 forms that carry an IPv4 are masked at least as strongly as that IPv4: the
# embedded address loses its last octet, and nothing after it is kept.
# 6to4 (2002::/16, RFC 3056) holds it in bits 16-47, where the /48 rule would keep it
# whole: keep 16 + 24 bits.
_SIX_TO_FOUR_KEPT_BITS = 16 + _IPV4_KEPT_BITS
# IPv4-mapped (::ffff:0:0/96) and NAT64 (64:ff9b::/96, RFC 6052) addresses *are*
# their IPv4, held in the last 32 bits: keep 96 + 24 bits, like the IPv4 itself.
_EMBEDDED_LAST_KEPT_BITS = 96 + _IPV4_KEPT_BITS
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


# Teredo (2001::/32) holds the client's IPv4 (obfuscated by XOR, so as good as
# plain) in the last 32 bits; the /48 rule zeroes all of it and keeps only part of
# the Teredo server's address.
class IpMasking(LabelledChoices):
    """The ``ip_masking`` privacy setting of an application."""

    ALL = "all", "Mask all addresses"
    PUBLIC = "public", "Mask public addresses only"
    OFF = "off", "Keep addresses"


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


def embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries (the client's, for Teredo), if any."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFF_FFFF)
    return None


def _is_global(ip: IpAddress) -> bool:
    # Judge an address that carries an IPv4 by that IPv4: ::ffff:10.0.0.1 is as
    # private as 10.0.0.1, a Teredo address is as public as its client, and Python
    # versions disagree on what ``is_global`` says for these ranges.
    if isinstance(ip, ipaddress.IPv6Address) and (carried := embedded_ipv4(ip)) is not None:
        return carried.is_global
    return ip.is_global


def _kept_bits(ip: IpAddress) -> int:
    if isinstance(ip, ipaddress.IPv4Address):
        return _IPV4_KEPT_BITS
    if ip.ipv4_mapped is not None or ip in _NAT64:
        return _EMBEDDED_LAST_KEPT_BITS
    if ip.sixtofour is not None:
        return _SIX_TO_FOUR_KEPT_BITS
    return _IPV6_KEPT_BITS  # Teredo included, see above


def _truncate(ip: IpAddress) -> IpAddress:
    dropped = ip.max_prefixlen - _kept_bits(ip)
    # Building from an int also drops any %scope suffix, which names a host interface.
    return type(ip)(int(ip) >> dropped << dropped)
