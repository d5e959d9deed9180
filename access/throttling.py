"""Rate limits: searches per user, ingest per application token, logins per account and address.

Every limit is "N per period" (``RUMVAULT_RATE_LIMITS``, from the environment),
counted per caller in the database table ``access_ratelimitcounter``.
Why the database and not Django's cache framework: the counters must be
shared by every gunicorn worker (per-process memory is not), and exact under
concurrency. Django's cache ``incr`` and DRF's throttles read, then write, so
simultaneous requests each see the old count and a burst passes the limit
several times over. Here one ``UPDATE ... SET count = count + 1`` per attempt
is atomic in PostgreSQL and SQLite alike, and the database is already shared.

Who is counted is never stored: the counter key is an HMAC (under
SECRET_KEY) of the limit's name and the caller.
"""

from __future__ import annotations

import ipaddress
import math
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import wraps
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.http import HttpRequest, HttpResponse
from django.utils.crypto import salted_hmac
from rest_framework.exceptions import Throttled
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle
from rest_framework.views import APIView

from access.models import RateLimitCounter
from access.rates import SEARCH, Rate

_KEEP_ENDED = timedelta(hours=1)


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
    now = datetime.now(UTC)
    counters = RateLimitCounter.objects.filter(key=key)
    with transaction.atomic():
        # Each UPDATE is atomic: a concurrent attempt waits for the row and
        # re-reads it, so no two attempts ever see the same count.
        if not counters.filter(window_ends__gt=now).update(count=F("count") + 1):
            window_ends = now + timedelta(seconds=rate.period)
            if not counters.filter(window_ends__lte=now).update(count=1, window_ends=window_ends):
                _create(key, window_ends, now=now)
        count, window_ends = counters.values_list("count", "window_ends").get()
    if count <= rate.limit:
        return None
    return (window_ends - now).total_seconds()


def _create(key: str, window_ends: datetime, *, now: datetime) -> None:
    # Forget callers whose windows ended a while ago; the table stays small.
    RateLimitCounter.objects.filter(window_ends__lt=now - _KEEP_ENDED).delete()
    try:
        with transaction.atomic():
            RateLimitCounter.objects.create(key=key, count=1, window_ends=window_ends)
    except IntegrityError:  # a concurrent attempt created it first
        RateLimitCounter.objects.filter(key=key).update(count=F("count") + 1)


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
