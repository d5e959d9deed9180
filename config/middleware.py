"""Cross-cutting request handling: request ids, no caching, a 503 when the database is away."""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Callable

from django.db import DatabaseError, InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.cache import add_never_cache_headers

from config.logging import current_request_id
from privacy.detectors import mask_text

logger = logging.getLogger("rumvault.requests")

# A client-supplied id is kept only in the shape of a random id: 16 to 64
# letters, digits, "-" or "_", with a letter, and nothing any personal-data
# detector finds in it. Anything else (an IP, an email, a phone or card
# number, a UUID that may be a customer id) is replaced, never logged.
_REQUEST_ID_SHAPE = re.compile(r"[A-Za-z0-9_-]{16,64}")
RETRY_AFTER_SECONDS = 5


class RequestIdMiddleware:
    """Give every request an id, put it in the logs and in the ``X-Request-ID`` header."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = accepted_request_id(request.headers.get("X-Request-ID", ""))
        request_id = request_id or uuid.uuid4().hex
        request.request_id = request_id  # type: ignore[attr-defined]
        token = current_request_id.set(request_id)
        try:
            response = self.get_response(request)
        finally:
            current_request_id.reset(token)
        response["X-Request-ID"] = request_id
        return response


def accepted_request_id(supplied: str) -> str | None:
    """``supplied`` if it looks like a random request id and carries no personal data."""
    if _REQUEST_ID_SHAPE.fullmatch(supplied) is None:
        return None
    if not any(char.isalpha() for char in supplied) or mask_text(supplied) != supplied:
        return None
    return supplied


class NoStoreMiddleware:
    """``Cache-Control: no-store`` on every response that is not a static file.

    API JSON, CSV exports, the browsable API, the dashboard and the admin all
    carry session data for one principal; no browser or proxy may keep a copy.
    One rule for every response rather than a list of views that could miss
    one: static files never reach this middleware (whitenoise, listed before it,
    answers them with its own long-lived caching headers).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        # max-age=0, no-cache, no-store, must-revalidate, private (and Expires).
        add_never_cache_headers(response)
        return response


class DatabaseUnavailableMiddleware:
    """Answer ``503`` with ``Retry-After`` when the database cannot be reached.

    Clients (the ingest agent above all) retry on 503; a 500 with a stack trace
    would tell them nothing and might be dropped. Only connection-level errors
    qualify: a constraint violation is a bug, not an outage, and stays a 500.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not is_database_unavailable(exception):
            return None
        logger.error("database unavailable", extra={"path": request.path})
        response = JsonResponse(
            {"errors": [{"path": "", "message": "The database is unavailable; retry later."}]},
            status=503,
        )
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response


def is_database_unavailable(exception: BaseException) -> bool:
    if isinstance(exception, (OperationalError, InterfaceError)):
        return True
    # psycopg reports a dropped connection mid-query as a plain DatabaseError
    # whose cause is a connection error.
    cause = exception.__cause__
    return (
        isinstance(exception, DatabaseError)
        and cause is not None
        and (type(cause).__name__ in {"OperationalError", "InterfaceError"})
    )
