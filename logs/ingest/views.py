"""Log ingest over HTTP: OTLP ``POST /v1/logs`` and rumvault's ``POST /api/v1/ingest/logs/``.

Both authenticate with the application's ingest token (``Authorization:
Bearer``), count against ``RUMVAULT_RATE_INGEST_LOGS`` per token, read the
body with the ingest size limit (gzip accepted), and hand validated records
to ``logs.services.log_ingest``. Nothing of a refused request is stored.

The OTLP view answers as the specification says: the response body is an
``ExportLogsServiceResponse`` (``partial_success`` when records were rejected)
or, for errors, a ``google.rpc.Status``, in the request's encoding; 429 and
503 carry ``Retry-After``. It catches the database being away itself, so
even that answer is an OTLP one.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.parsers import JSONParser
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.views import APIView

from access import throttling
from access.rates import INGEST_LOGS
from config.middleware import RETRY_AFTER_SECONDS, is_database_unavailable
from config.renderers import JSONRenderer
from logs.capture import agent_configuration
from logs.ingest import otlp, schema
from logs.ingest.body import BodyRefused, read_body
from logs.ingest.records import LogsInvalid, log_limits
from logs.ingest.validation import NAME_MAX_LENGTH, validate_log_batch
from logs.services import log_ingest
from sessions_app.ingest import schema as session_schema
from sessions_app.ingest.authentication import IngestAuthenticationFailed, authenticate_ingest
from sessions_app.ingest.views import AlwaysJson, error_response
from sessions_app.models import Application

logger = logging.getLogger("rumvault.ingest")

# google.rpc.Code values for the statuses we answer.
_CODES = {400: 3, 401: 16, 413: 3, 415: 3, 429: 8, 503: 14}
# How many error paths an OTLP Status message lists (it is one string).
_LISTED_ERRORS = 20


class _Refused(Exception):
    def __init__(self, status: int, message: str, *, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.retry_after = retry_after


def _application(request: HttpRequest) -> Application:
    """Token, then rate limit: the steps both channels take before reading the body."""
    try:
        application = authenticate_ingest(request)
    except IngestAuthenticationFailed as error:
        raise _Refused(401, str(error)) from None
    wait = throttling.hit(INGEST_LOGS, f"application:{application.pk}")
    if wait is not None:
        raise _Refused(
            429,
            "Too many requests for this ingest token; retry later.",
            retry_after=throttling.retry_after(wait),
        )
    return application


def _log(application: Application, accepted: int, channel: str) -> None:
    logger.info(
        "ingested %d log record(s) over %s",
        accepted,
        channel,
        extra={"application": application.slug, "count": accepted},
    )


@method_decorator(csrf_exempt, name="dispatch")  # bearer token, never a cookie
class OtlpLogsView(View):
    """``POST /v1/logs``: OTLP/HTTP, ``application/x-protobuf`` or ``application/json``."""

    http_method_names = ["post"]

    def post(self, request: HttpRequest) -> HttpResponse:
        content_type = request.content_type or ""
        encoding = otlp.PROTOBUF if content_type == otlp.PROTOBUF else otlp.JSON
        try:
            return self._export(request, content_type, encoding)
        except _Refused as refused:
            return _status(refused, encoding)
        except Exception as error:
            if not is_database_unavailable(error):
                raise
            logger.error("database unavailable", extra={"path": request.path})
            message = "The database is unavailable; retry later."
            return _status(_Refused(503, message, retry_after=RETRY_AFTER_SECONDS), encoding)

    def _export(self, request: HttpRequest, content_type: str, encoding: str) -> HttpResponse:
        application = _application(request)
        if content_type not in (otlp.PROTOBUF, otlp.JSON):
            raise _Refused(415, "Content-Type must be application/x-protobuf or application/json.")
        try:
            body = read_body(request, limit=settings.RUMVAULT_INGEST_MAX_BODY_BYTES)
            request_message = otlp.decode(body, content_type)
            records = otlp.to_incoming(request_message, limits=log_limits(), now=timezone.now())
        except BodyRefused as refused:
            raise _Refused(refused.status, refused.message) from None
        except otlp.Undecodable as undecodable:
            raise _Refused(400, str(undecodable)) from None
        except LogsInvalid as invalid:
            raise _Refused(400, _summary(invalid.errors)) from None
        result = log_ingest(application=application, records=records)
        _log(application, result.accepted, "OTLP")
        answer = otlp.export_response(rejected=result.rejected, message=result.message)
        return HttpResponse(otlp.encode(answer, encoding), content_type=encoding)


def _summary(errors: list[dict[str, str]]) -> str:
    listed = "; ".join(f"{e['path'] or '/'}: {e['message']}" for e in errors[:_LISTED_ERRORS])
    more = f" (and {len(errors) - _LISTED_ERRORS} more)" if len(errors) > _LISTED_ERRORS else ""
    return f"Invalid request, nothing stored: {listed}{more}"


def _status(refused: _Refused, encoding: str) -> HttpResponse:
    message = otlp.status(_CODES.get(refused.status, 2), refused.message)
    response = HttpResponse(
        otlp.encode(message, encoding), content_type=encoding, status=refused.status
    )
    if refused.retry_after is not None:
        response["Retry-After"] = str(refused.retry_after)
    if refused.status == 401:
        response["WWW-Authenticate"] = "Bearer"
    return response


def _error(description: str) -> OpenApiResponse:
    return OpenApiResponse(session_schema.IngestErrorsSerializer, description=description)


class LogIngestView(APIView):
    """``POST /api/v1/ingest/logs/``: a JSON batch, errors as for session ingest."""

    http_method_names = ["post"]
    authentication_classes: list[type] = []
    permission_classes = [AllowAny]
    parser_classes = [JSONParser]  # documents the body; the view reads it itself
    renderer_classes = [JSONRenderer]
    content_negotiation_class = AlwaysJson
    throttle_classes: list[type] = []

    @extend_schema(
        operation_id="ingest_logs",
        summary="Ingest log records (masked before anything is stored)",
        tags=["ingest"],
        auth=[{"ingestToken": []}],  # type: ignore[list-item]
        request=schema.LogBatchSerializer,
        examples=[schema.EXAMPLE],
        responses={
            200: schema.LogIngestResultSerializer,
            400: _error("Invalid batch: every problem, each with a JSON pointer; nothing stored."),
            401: _error("Missing or wrong ingest token."),
            413: _error("Body over RUMVAULT_INGEST_MAX_BODY_BYTES."),
            415: _error("Content-Encoding other than gzip."),
            429: _error("Over RUMVAULT_RATE_INGEST_LOGS for this token; retry after Retry-After."),
            503: _error("Database unavailable; retry after Retry-After seconds."),
        },
    )
    def post(self, drf_request: Request) -> JsonResponse:
        request: HttpRequest = drf_request._request
        try:
            application = _application(request)
        except _Refused as refused:
            response = error_response(refused.status, refused.message)
            if refused.retry_after is not None:
                response["Retry-After"] = str(refused.retry_after)
            if refused.status == 401:
                response["WWW-Authenticate"] = "Bearer"
            return response
        if request.content_type != "application/json":
            return error_response(400, "Content-Type must be application/json.")
        try:
            body = read_body(request, limit=settings.RUMVAULT_INGEST_MAX_BODY_BYTES)
        except BodyRefused as refused:
            return error_response(refused.status, refused.message)
        try:
            payload: Any = json.loads(body.decode("utf-8"), parse_constant=_reject_constant)
        except (ValueError, RecursionError):
            return error_response(400, "The body is not valid UTF-8 JSON.")
        try:
            records = validate_log_batch(payload, limits=log_limits())
        except LogsInvalid as invalid:
            return JsonResponse({"errors": invalid.errors}, status=400)
        result = log_ingest(application=application, records=records)
        _log(application, result.accepted, "JSON")
        return JsonResponse({"accepted": result.accepted, "rejected": result.rejected})


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


class AgentConfigView(View):
    """``GET /api/v1/ingest/logs/config/?host=H&host_group=G``: the log agent's capture rules.

    Authenticated with the ingest token like ingest; ``host`` and
    ``host_group`` (the agent's own configuration) select their rules.
    """

    http_method_names = ["get"]
    PARAMETERS = ("host", "host_group")

    def get(self, request: HttpRequest) -> HttpResponse:
        try:
            application = _application(request)
        except _Refused as refused:
            response = error_response(refused.status, refused.message)
            if refused.retry_after is not None:
                response["Retry-After"] = str(refused.retry_after)
            if refused.status == 401:
                response["WWW-Authenticate"] = "Bearer"
            return response
        names = set(request.GET)
        if names - set(self.PARAMETERS) or any(len(request.GET.getlist(n)) > 1 for n in names):
            return error_response(400, "Give host and host_group, each at most once.")
        values = {name: request.GET.get(name, "").strip() for name in self.PARAMETERS}
        if any(
            len(value) > NAME_MAX_LENGTH or not value.isprintable() for value in values.values()
        ):
            return error_response(
                400, f"host and host_group: at most {NAME_MAX_LENGTH} printable characters."
            )
        return JsonResponse(agent_configuration(application=application, **values))
