"""``POST /api/v1/ingest/sessions/``: a thin HTTP shell around ``session_ingest``.

A DRF view only so drf-spectacular documents it: it authenticates with its
own bearer token (an application, not a user), so DRF authentication,
permissions, parsers and content negotiation are all switched off and the
body is read from the underlying Django request. Order of checks: token,
rate limit (per token), content type, size (header first, then the bytes actually read), JSON, then
the batch.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from dataclasses import asdict
from typing import Any, NoReturn

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.parsers import BaseParser, JSONParser
from rest_framework.permissions import AllowAny
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request
from rest_framework.views import APIView

from access import throttling
from access.rates import INGEST
from config.renderers import JSONRenderer
from sessions_app.ingest import schema
from sessions_app.ingest.authentication import IngestAuthenticationFailed, authenticate_ingest
from sessions_app.ingest.validation import BeaconInvalid
from sessions_app.services import session_ingest

logger = logging.getLogger("rumvault.ingest")


def error_response(status: int, message: str, *, path: str = "") -> JsonResponse:
    return JsonResponse({"errors": [{"path": path, "message": message}]}, status=status)


def _reject_constant(name: str) -> NoReturn:
    # NaN and Infinity are not JSON; Python accepts them unless told not to.
    raise ValueError(f"{name} is not valid JSON")


class AlwaysJson(BaseContentNegotiation):
    """Agents send any ``Accept`` (or none); the answer is JSON either way, never a 406."""

    def select_parser(self, request: Request, parsers: Iterable[BaseParser]) -> None:
        return None  # the view parses the body itself

    def select_renderer(
        self, request: Request, renderers: Iterable[BaseRenderer], format_suffix: str | None = None
    ) -> tuple[BaseRenderer, str]:
        renderer = next(iter(renderers))
        return renderer, renderer.media_type


def _error(description: str) -> OpenApiResponse:
    return OpenApiResponse(schema.IngestErrorsSerializer, description=description)


# APIView is exempt from CSRF, which is right here: clients authenticate with
# a bearer token, never a cookie, so a forged cross-site request has no
# ambient credential to use.
class SessionIngestView(APIView):
    http_method_names = ["post"]
    authentication_classes: list[type] = []
    permission_classes = [AllowAny]
    # Never used to parse (the view reads the body itself, see AlwaysJson);
    # it tells the schema generator the request is JSON.
    parser_classes = [JSONParser]
    renderer_classes = [JSONRenderer]
    content_negotiation_class = AlwaysJson
    throttle_classes: list[type] = []

    @extend_schema(
        operation_id="ingest_sessions",
        summary="Ingest RUM sessions (privacy rules applied before anything is stored)",
        tags=["ingest"],
        # drf-spectacular annotates ``auth`` as a list of names, but it is a list
        # of OpenAPI security requirement objects (what its own get_auth returns).
        auth=[{"ingestToken": []}],  # type: ignore[list-item]
        request=schema.BeaconSerializer,
        examples=[schema.EXAMPLE],
        responses={
            200: schema.IngestResultSerializer,
            400: _error("Invalid batch: every problem, each with a JSON pointer; nothing stored."),
            401: _error("Missing or wrong ingest token."),
            413: _error("Body over RUMVAULT_INGEST_MAX_BODY_BYTES."),
            429: _error(
                "Over RUMVAULT_RATE_INGEST for this token; retry after Retry-After seconds."
            ),
            503: _error("Database unavailable; retry after Retry-After seconds."),
        },
    )
    def post(self, drf_request: Request) -> JsonResponse:
        request: HttpRequest = drf_request._request
        try:
            application = authenticate_ingest(request)
        except IngestAuthenticationFailed as error:
            response = error_response(401, str(error))
            response["WWW-Authenticate"] = "Bearer"
            return response
        wait = throttling.hit(INGEST, f"application:{application.pk}")
        if wait is not None:
            response = error_response(429, "Too many requests for this ingest token; retry later.")
            response["Retry-After"] = str(throttling.retry_after(wait))
            return response
        if request.content_type != "application/json":
            return error_response(400, "Content-Type must be application/json.")
        limit = settings.RUMVAULT_INGEST_MAX_BODY_BYTES
        too_large = f"The body must be at most {limit} bytes."
        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return error_response(400, "Content-Length must be an integer.")
        if declared > limit:
            return error_response(413, too_large)  # refused before reading a byte
        body = request.read(limit + 1)
        if len(body) > limit:
            return error_response(413, too_large)
        try:
            # Strict UTF-8 (RFC 8259): json.loads(bytes) would also guess UTF-16/32
            # and let encoded lone surrogates through.
            payload: Any = json.loads(body.decode("utf-8"), parse_constant=_reject_constant)
        except (ValueError, RecursionError):  # RecursionError: absurdly deep nesting
            return error_response(400, "The body is not valid UTF-8 JSON.")
        try:
            results = session_ingest(application=application, payload=payload)
        except BeaconInvalid as invalid:
            return JsonResponse({"errors": invalid.errors}, status=400)
        logger.info(
            "ingested %d session(s)",
            len(results),
            extra={"application": application.slug, "count": len(results)},
        )
        return JsonResponse({"sessions": [asdict(result) for result in results]})
