"""Rate limits: searches per user, ingest per application token, logins per account and address,
browser beacons per beacon key and per client address.

Every limit is "N per period" (``RUMVAULT_RATE_LIMITS``, from the environment),
counted per caller in the database table ``access_ratelimitcounter``.
Why the database and not Django's cache framework: the counters must be
shared by every gunicorn worker (per-process memory is not), and exact under
concurrency. Django's cache ``incr`` and DRF's throttles read, then write, so
simultaneous requests each see the old count and a burst passes the limit
several times over. Here each attempt is one upsert that adds 1 and returns
the new count, atomic in PostgreSQL and SQLite alike; the database is
already shared.

Who is counted is never stored: the counter key is an HMAC (under
SECRET_KEY) of the limit's name and the caller.
"""

from __future__ import annotations

import ipaddress
import math
import time
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.utils.crypto import salted_hmac
from rest_framework.exceptions import Throttled
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle
from rest_framework.views import APIView

from access.models import RateLimitCounter
from access.rates import BEACON_CLIENT, LOGIN_ACCOUNT, LOGIN_ADDRESS, SEARCH, Rate

_KEEP_ENDED_SECONDS = 3600
_UNBOUNDED_CALLERS = (LOGIN_ACCOUNT, LOGIN_ADDRESS, BEACON_CLIENT)


def hit(limit: str, caller: str) -> float | None:
    """Count one attempt of ``caller`` against ``limit``.

    Returns None when the attempt is within the limit, otherwise the seconds
    until the caller's window ends (the attempt still counts: hammering does
    not help). A window starts with a caller's first attempt and lasts one
    period; the next attempt after it starts a new one.
    """
    rate: Rate = settings.RUMVAULT_RATE_LIMITS[limit]
    key = salted_hmac(
        "rumvault.access.throttling", f"{limit}\x00{caller}", algorithm="sha256"
    ).hexdigest()
    now = time.time()
    count_sql, forget_sql = _counter_sql()
    with connection.cursor() as cursor:
        cursor.execute(count_sql, [key, now + rate.period, now, now])
        count, window_ends = cursor.fetchone()
        if count == 1 and limit in _UNBOUNDED_CALLERS:
            # A new window of a limit anyone can add callers to (any username,
            # any address): forget callers whose windows ended a while ago.
            # Users and applications are few; their rows stay.
            cursor.execute(forget_sql, [now - _KEEP_ENDED_SECONDS])
    if count <= rate.limit:
        return None
    return float(window_ends) - now


def _counter_sql() -> tuple[str, str]:
    """One statement per attempt, atomic on its own: create the caller's row,
    or count in its current window, or start a new window; return the count.

    Why SQL: Django's ORM has no upsert that returns the updated row, and an
    UPDATE followed by a SELECT needs a transaction and three more statements
    (PostgreSQL and SQLite 3.35+ both run this one).
    """
    table = connection.ops.quote_name(RateLimitCounter._meta.db_table)
    key, count, ends = (connection.ops.quote_name(name) for name in ("key", "count", "window_ends"))
    open_window = f"{table}.{ends} > %s"
    count_sql = (
        f"INSERT INTO {table} ({key}, {count}, {ends}) VALUES (%s, 1, %s) "  # noqa: S608 (names from the model)
        f"ON CONFLICT ({key}) DO UPDATE SET "
        f"{count} = CASE WHEN {open_window} THEN {table}.{count} + 1 ELSE 1 END, "
        f"{ends} = CASE WHEN {open_window} THEN {table}.{ends} ELSE excluded.{ends} END "
        f"RETURNING {count}, {ends}"
    )
    forget_sql = f"DELETE FROM {table} WHERE {ends} < %s"  # noqa: S608 (names from the model)
    return count_sql, forget_sql


def check(limit: str, caller: str) -> None:
    """Raise DRF's ``Throttled`` (429 with ``Retry-After``) once ``caller`` is over ``limit``.

    DRF views answer it themselves; ``access.middleware.ThrottledMiddleware``
    does the same for plain Django views (dashboard, admin, login pages).
    """
    wait = hit(limit, caller)
    if wait is not None:
        raise Throttled(wait=retry_after(wait))


def retry_after(wait: float) -> int:
    return max(1, math.ceil(wait))


def client_address(address: str) -> str:
    """The part of a client address that identifies a client: an IPv6 /64 (one
    subscriber gets a whole /64 and could otherwise rotate through it)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


class SearchRateThrottle(BaseThrottle):
    """DRF throttle of the API search, per user; the dashboard's and the admin's
    searches count against the same limit (``search_throttled``)."""

    def allow_request(self, request: Request, view: APIView) -> bool:
        self.wait_seconds = hit(SEARCH, user_caller(request.user.pk))
        return self.wait_seconds is None

    def wait(self) -> float | None:
        return self.wait_seconds


def user_caller(user_pk: object) -> str:
    return f"user:{user_pk}"


View = Callable[..., HttpResponse]


def search_throttled(tag_field: str) -> Callable[[View], View]:
    """Count a POST that carries ``tag_field`` as one search by the logged-in user.

    For the dashboard's and the admin's customer searches (Django views), so
    they share the API search's per-user limit; over it, ``Throttled`` becomes
    a 429 in ``access.middleware.ThrottledMiddleware``.
    """

    def decorate(view: View) -> View:
        @wraps(view)
        def counted(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if request.method == "POST" and request.POST.get(tag_field, "").strip():
                check(SEARCH, user_caller(request.user.pk))
            return view(request, *args, **kwargs)

        return counted

    return decorate
