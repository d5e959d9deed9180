"""Rate limits as settings: names and the "N/period" format (no models, settings import it)."""

from __future__ import annotations

import re
from dataclasses import dataclass

import environ
from django.core.exceptions import ImproperlyConfigured

SEARCH = "search"
INGEST = "ingest"
INGEST_LOGS = "ingest_logs"
LOGIN_ACCOUNT = "login_account"
LOGIN_ADDRESS = "login_address"
BEACON = "beacon"  # browser beacons per application (public beacon key)
BEACON_CLIENT = "beacon_client"  # browser beacons and config requests per client address
LIMITS = (SEARCH, INGEST, INGEST_LOGS, LOGIN_ACCOUNT, LOGIN_ADDRESS, BEACON, BEACON_CLIENT)

_PERIODS = {"s": 1, "sec": 1, "second": 1, "min": 60, "minute": 60, "h": 3600, "hour": 3600}
_PERIODS |= {"d": 86400, "day": 86400}
_RATE = re.compile(r"([1-9][0-9]{0,8})/([a-z]+)")


@dataclass(frozen=True)
class Rate:
    limit: int
    period: int  # seconds


def parse_rate(text: str) -> Rate:
    """``"30/min"`` -> Rate(30, 60). Units: s, min, h, d (or second, minute, hour, day)."""
    match = _RATE.fullmatch(text.strip().lower())
    if match is None or match.group(2) not in _PERIODS:
        raise ValueError("a rate looks like '30/min' (units: s, min, h, d)")
    return Rate(int(match.group(1)), _PERIODS[match.group(2)])


def rates_from_environment(
    variables: dict[str, tuple[str, str]], env: environ.Env
) -> dict[str, Rate]:
    """Settings helper: {limit: (variable, default)} -> {limit: Rate}; names a bad variable."""
    rates: dict[str, Rate] = {}
    for limit, (variable, default) in variables.items():
        try:
            rates[limit] = parse_rate(env.str(variable, default=default))
        except ValueError as error:
            raise ImproperlyConfigured(f"{variable}: {error}") from None
    return rates
