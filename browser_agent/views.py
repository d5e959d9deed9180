"""The browser agent's two endpoints, keyed by the application's public beacon key.

``GET /api/v1/rum/<key>/config/``: the capture settings (``agent.agent_configuration``).
``POST /api/v1/rum/<key>/beacons/``: one beacon, stored through ``session_ingest``.

Plain Django views (not DRF): no authentication, no content negotiation, and
CORS answered by hand for exactly the application's ``allowed_origins``:

* a preflight (``OPTIONS``) from an allowed origin gets ``204`` with the CORS
  headers; from any other origin ``403`` without them;
* a ``POST`` must carry an allowed ``Origin`` (browsers always send one with
  a POST); a missing or other origin is ``403`` and nothing is read. Anyone
  can forge the header outside a browser: the check keeps other sites' pages
  from using the key, and the rate limits and append-only storage bound what
  a forged request can do;
* ``GET`` of the configuration from another origin is ``403``; without an
  ``Origin`` (same-origin pages, non-browser clients) it is served: the
  configuration holds nothing secret.

Order of checks for a beacon: key, origin, rate limits (per key, then per
client address), content type (``text/plain``, which ``navigator.sendBeacon``
and a preflight-free ``fetch`` send, or ``application/json``), size (header,
then bytes read), JSON, what a browser may send (``beacons.browser_batch``), then
the batch itself. CSRF protection does not apply: nothing here uses a cookie or
any other ambient credential, and the origin check is what stops other sites.
"""

from __future__ import annotations

import ipaddress
import json
import logging
from typing import Any, NoReturn

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.csrf import csrf_exempt
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from access import throttling
from access.rates import BEACON, BEACON_CLIENT
from browser_agent.agent import agent_configuration
from browser_agent.beacons import browser_batch, requests_do_not_track
from sessions_app.ingest.validation import BeaconInvalid
from sessions_app.models import Application
from sessions_app.origins import origin_allowed
from sessions_app.services import session_ingest

logger = logging.getLogger("rumvault.browser_agent")

BEACON_CONTENT_TYPES = frozenset({"text/plain", "application/json"})
_MAX_KEY_LENGTH = 64
_PREFLIGHT_MAX_AGE = 600  # seconds a browser may reuse a preflight answer


def _errors(status: int, message: str, *, path: str = "") -> JsonResponse:
    return JsonResponse({"errors": [{"path": path, "message": message}]}, status=status)


def _reject_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not valid JSON")


def _application(key: str) -> Application | None:
    if len(key) > _MAX_KEY_LENGTH:
        return None
    return Application.objects.filter(beacon_key=key).first()


def _unknown_key() -> JsonResponse:
    return _errors(404, "No application has this beacon key.")


def _origin_refused() -> JsonResponse:
    return _errors(403, "This origin may not use this beacon key.")


def _with_cors(response: HttpResponse, origin: str) -> HttpResponse:
    response["Access-Control-Allow-Origin"] = origin
    # The agent reads Retry-After on 429 and 503 to back off.
    response["Access-Control-Expose-Headers"] = "Retry-After"
    return response


def _vary_on_origin(response: HttpResponse) -> HttpResponse:
    # The answer depends on Origin; a shared cache must not reuse it for another.
    response["Vary"] = "Origin"
    return response


def client_ip(request: HttpRequest) -> str | None:
    """The client's address as DRF's throttles see it (``NUM_PROXIES``), if it is one."""
    ident = BaseThrottle().get_ident(Request(request)) or ""
    try:
        return str(ipaddress.ip_address(ident.strip()))
    except ValueError:
        return None


def _throttled(limit: str, caller: str) -> HttpResponse | None:
    wait = throttling.hit(limit, caller)
    if wait is None:
        return None
    response = _errors(429, "Too many requests; retry later.")
    response["Retry-After"] = str(throttling.retry_after(wait))
    return response


def _client_caller(application: Application, address: str | None) -> str:
    # Hashed with the limit's name before it is stored (access.throttling): no raw address.
    return f"{application.pk}:{throttling.client_address(address or 'unknown')}"


def _preflight(request: HttpRequest, key: str, methods: str) -> HttpResponse:
    application = _application(key)
    if application is None:
        return _vary_on_origin(_unknown_key())
    origin = request.headers.get("Origin")
    if origin is None or not origin_allowed(origin, application.allowed_origins):
        return _vary_on_origin(_origin_refused())
    response = HttpResponse(status=204)
    response["Access-Control-Allow-Methods"] = methods
    response["Access-Control-Allow-Headers"] = "Content-Type"
    response["Access-Control-Max-Age"] = str(_PREFLIGHT_MAX_AGE)
    return _vary_on_origin(_with_cors(response, origin))


@method_decorator(csrf_exempt, name="dispatch")
class AgentConfigView(View):
    http_method_names = ["get", "options"]

    def options(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return _preflight(request, kwargs["key"], "GET")

    def get(self, request: HttpRequest, key: str) -> HttpResponse:
        application = _application(key)
        if application is None:
            return _vary_on_origin(_unknown_key())
        origin = request.headers.get("Origin")
        if origin is not None and not origin_allowed(origin, application.allowed_origins):
            return _vary_on_origin(_origin_refused())
        caller = _client_caller(application, client_ip(request))
        response = _throttled(BEACON_CLIENT, caller) or JsonResponse(
            agent_configuration(application)
        )
        return _vary_on_origin(_with_cors(response, origin) if origin else response)


@method_decorator(csrf_exempt, name="dispatch")
class BeaconView(View):
    http_method_names = ["post", "options"]

    def options(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return _preflight(request, kwargs["key"], "POST")

    def post(self, request: HttpRequest, key: str) -> HttpResponse:
        application = _application(key)
        if application is None:
            return _vary_on_origin(_unknown_key())
        origin = request.headers.get("Origin")
        if origin is None or not origin_allowed(origin, application.allowed_origins):
            return _vary_on_origin(_origin_refused())
        return _vary_on_origin(_with_cors(self._accept(request, application), origin))

    def _accept(self, request: HttpRequest, application: Application) -> HttpResponse:
        address = client_ip(request)
        refused = _throttled(BEACON, f"application:{application.pk}") or _throttled(
            BEACON_CLIENT, _client_caller(application, address)
        )
        if refused is not None:
            return refused
        if request.content_type not in BEACON_CONTENT_TYPES:
            return _errors(415, "Content-Type must be text/plain or application/json.")
        limit = settings.RUMVAULT_BEACON_MAX_BODY_BYTES
        too_large = f"A beacon must be at most {limit} bytes."
        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return _errors(400, "Content-Length must be an integer.")
        if declared > limit:
            return _errors(413, too_large)
        body = request.read(limit + 1)
        if len(body) > limit:
            return _errors(413, too_large)
        try:
            payload: Any = json.loads(body.decode("utf-8"), parse_constant=_reject_constant)
        except (ValueError, RecursionError):
            return _errors(400, "The body is not valid UTF-8 JSON.")
        try:
            batch = browser_batch(
                payload, client_ip=address, do_not_track=requests_do_not_track(request.headers)
            )
            results = session_ingest(application=application, payload=batch, append_only=True)
        except BeaconInvalid as invalid:
            return JsonResponse({"errors": invalid.errors}, status=400)
        result = results[0]
        logger.info(
            "browser beacon %s",
            result.status,
            extra={"application": application.slug, "count": result.actions_added},
        )
        return JsonResponse({"status": result.status, "actions_added": result.actions_added})
