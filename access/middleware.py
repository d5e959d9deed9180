"""429 with ``Retry-After`` for plain Django views, and the login rate limits."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse
from rest_framework.exceptions import Throttled
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from access import throttling
from access.rates import LOGIN_ACCOUNT, LOGIN_ADDRESS

# Every page that checks a password: the dashboard's, the admin's and the
# browsable API's log-in. All three post an AuthenticationForm ("username").
LOGIN_VIEWS = frozenset({"dashboard:login", "admin:login", "rest_framework:login"})


def too_many_requests(wait: float) -> HttpResponse:
    seconds = throttling.retry_after(wait)
    response = HttpResponse(
        f"Too many attempts. Try again in {seconds} seconds.\n",
        status=429,
        content_type="text/plain; charset=utf-8",
    )
    response["Retry-After"] = str(seconds)
    return response


class ThrottledMiddleware:
    """Counts log-in attempts per account and per client address, and turns
    DRF's ``Throttled`` raised in a plain Django view into a 429.

    Every POST to a log-in page counts, successful or not, before the password
    is checked: a guesser learns nothing once over the limit. The account is
    the submitted username (case-folded), the address is the client's as DRF
    sees it (``NUM_PROXIES``); neither is stored, see ``access.throttling``.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self, request: HttpRequest, view: Callable[..., Any], args: Any, kwargs: Any
    ) -> HttpResponse | None:
        match = request.resolver_match
        if request.method != "POST" or match is None or match.view_name not in LOGIN_VIEWS:
            return None
        # DRF's address rules (NUM_PROXIES), for a plain Django request.
        address = throttling.client_address(BaseThrottle().get_ident(Request(request)) or "")
        waits = [throttling.hit(LOGIN_ADDRESS, f"address:{address}")]
        username = request.POST.get("username", "").strip().casefold()
        if username:
            waits.append(throttling.hit(LOGIN_ACCOUNT, f"account:{username}"))
        refused = [wait for wait in waits if wait is not None]
        return too_many_requests(max(refused)) if refused else None

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, Throttled):
            return too_many_requests(getattr(exception, "wait", None) or 1)
        return None
