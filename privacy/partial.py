"""Partial forms: enough of a value to confirm it, not enough to learn it.

A help-desk agent asks "is this the customer on the phone?". With a partial
grant (``docs/permissions.md``) a field is shown in a format-preserving partial
form instead of ``null``: the caller says "my email is jane.doe@example.com",
the agent sees ``j•••@example.com`` and can confirm it, but cannot read an
address it was not told. The field registry (``fieldsets.registry``) names, per
field, which of these functions makes its partial form; a field without one
stays fully masked under a partial grant.

Every function is total: a value it cannot parse is hidden completely
(``HIDDEN``), never shown as it is. What each form keeps is fixed, whatever the
input's length, so the form does not tell how long the hidden part was:

* a user tag shaped like an email: the first character of the local part and
  the domain (``j•••@example.com``); any other tag: its first character;
* an IPv4 address: the first two octets (``81.2.•.•``, a /16); IPv6: the
  first two groups (``2001:db8:•:•:•:•:•:•``, a /32);
* a coordinate: whole degrees (about 111 km).
"""

from __future__ import annotations

import ipaddress
import math

BULLET = "\u2022"
HIDDEN = BULLET * 3

_IPV4_SHOWN_OCTETS = 2
_IPV6_SHOWN_GROUPS = 2


def partial_user_tag(tag: str) -> str:
    """``jane.doe@example.com`` -> ``j•••@example.com``; ``customer-42`` -> ``c•••``.

    The domain is what comes after the last ``@`` (a quoted local part may hold
    one). The empty tag is no data and stays empty.
    """
    if not isinstance(tag, str):
        return HIDDEN
    if tag == "":
        return ""
    local, at, domain = tag.rpartition("@")
    if not at:
        return tag[0] + HIDDEN
    return local[:1] + HIDDEN + "@" + domain


def partial_ip(address: str) -> str:
    """``81.2.69.0`` -> ``81.2.•.•``; ``2001:db8:85a3::`` -> ``2001:db8:•:•:•:•:•:•``."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return HIDDEN
    if isinstance(ip, ipaddress.IPv4Address):
        octets = str(ip).split(".")
        shown = octets[:_IPV4_SHOWN_OCTETS]
        return ".".join(shown + [BULLET] * (len(octets) - len(shown)))
    groups = [f"{int(group, 16):x}" for group in ip.exploded.split(":")]
    shown = groups[:_IPV6_SHOWN_GROUPS]
    return ":".join(shown + [BULLET] * (len(groups) - len(shown)))


def partial_coordinate(value: float) -> float | None:
    """A latitude or longitude rounded to whole degrees (``48.2`` -> ``48.0``).

    Not a number (or infinite) is no coordinate: ``None``.
    """
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(round(value))
