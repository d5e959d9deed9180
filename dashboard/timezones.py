"""The time zone the dashboard shows times in: the employee's, never the API's UTC.

Chosen per request, in this order: the zone saved in the employee's profile
(``HelpDeskProfile.time_zone``, the settings page), the browser's zone (a
small script, ``dashboard/static/dashboard/timezone.js``, puts
``Intl.DateTimeFormat().resolvedOptions().timeZone`` into the
``rumvault_tz`` cookie on every page, the sign-in page included), UTC. A
cookie value is a client string like any other: only a name of the IANA
database (``zoneinfo.available_timezones``) is used, anything else is
ignored. The zone names no customer and goes nowhere but this choice.
"""

from __future__ import annotations

import functools
import zoneinfo
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo

from django.http import HttpRequest

from dashboard.models import HelpDeskProfile

COOKIE = "rumvault_tz"
PROFILE, BROWSER, DEFAULT = "profile", "browser", "default"


@functools.cache
def zone_names() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def zone_named(name: object) -> tzinfo | None:
    """The zone of an IANA name; ``None`` for anything else (never raises)."""
    if not isinstance(name, str) or name not in zone_names():
        return None
    return zoneinfo.ZoneInfo(name)


@dataclass(frozen=True)
class DisplayZone:
    zone: tzinfo
    name: str
    source: str  # PROFILE, BROWSER or DEFAULT

    def local(self, moment: datetime) -> datetime:
        return moment.astimezone(self.zone)

    def text(self, moment: datetime) -> str:
        """``2026-11-28 05:00:00 EST``: the moment in this zone, with its abbreviation."""
        local = self.local(moment)
        return f"{local:%Y-%m-%d %H:%M:%S} {local.tzname() or self.name}"


UTC_ZONE = DisplayZone(zone=UTC, name="UTC", source=DEFAULT)


def saved_zone(user: object) -> str:
    """The zone name saved in the user's profile ("" for none)."""
    pk = getattr(user, "pk", None)
    if pk is None:
        return ""
    saved = HelpDeskProfile.objects.filter(user_id=pk).values_list("time_zone", flat=True).first()
    return saved or ""


def display_zone(request: HttpRequest) -> DisplayZone:
    """The request's display zone, worked out once per request."""
    cached = getattr(request, "_display_zone", None)
    if isinstance(cached, DisplayZone):
        return cached
    result = UTC_ZONE
    user = getattr(request, "user", None)
    profile = saved_zone(user) if user is not None and user.is_authenticated else ""
    if (zone := zone_named(profile)) is not None:
        result = DisplayZone(zone=zone, name=profile, source=PROFILE)
    elif (zone := zone_named(request.COOKIES.get(COOKIE))) is not None:
        result = DisplayZone(zone=zone, name=request.COOKIES[COOKIE], source=BROWSER)
    request._display_zone = result  # type: ignore[attr-defined]
    return result
