"""``POST /api/v1/ingest/sessions/``: a thin HTTP shell around ``session_ingest``.

A plain Django view rather than DRF: ingest authenticates with its own bearer
token (not a user), and skipping DRF's request wrapping, content negotiation
and parsers keeps the hot path short. Order of checks: token, content type,
size (header first, then the bytes actually read), JSON, then the batch.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict
from typing import Any, NoReturn

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.csrf import csrf_exempt

from sessions_app.ingest.authentication import IngestAuthenticationFailed, authenticate_ingest
from sessions_app.ingest.validation import BeaconInvalid
from sessions_app.services import session_ingest

logger = logging.getLogger("rumvault.ingest")


def error_response(status: int, message: str, *, path: str = "") -> JsonResponse:
    return JsonResponse({"errors": [{"path": path, "message": message}]}, status=status)


def _reject_constant(name: str) -> NoReturn:
    # NaN and Infinity are not JSON; Python accepts them unless told not to.
    raise ValueError(f"{name} is not valid JSON")


# Exempt from CSRF: clients authenticate with a bearer token, never a cookie,
# so there is no ambient credential a forged cross-site request could use.
@method_decorator(csrf_exempt, name="dispatch")
class SessionIngestView(View):
    http_method_names = ["post"]

    def post(self, request: HttpRequest) -> JsonResponse:
        try:
            application = authenticate_ingest(request)
        except IngestAuthenticationFailed as error:
            response = error_response(401, str(error))
            response["WWW-Authenticate"] = "Bearer"
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
