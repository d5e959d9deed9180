"""Linking a web request's log records to the visitor's RUM session, without a Django import.

``SessionIdMiddleware`` has Django's middleware shape (``get_response``):
add ``"rumvault_logging.SessionIdMiddleware"`` to ``MIDDLEWARE``. It reads the
RUM session id the shop's frontend sends in the ``X-Rumvault-Session``
header and binds it for the request, so every record logged while handling
it carries the ``session_id`` attribute rumvault links by.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rumvault_logging.handler import current_session_id

HEADER = "X-Rumvault-Session"
_MAX_LENGTH = 128


class SessionIdMiddleware:
    header = HEADER

    def __init__(self, get_response: Callable[[Any], Any]) -> None:
        self.get_response = get_response

    def __call__(self, request: Any) -> Any:
        value = request.headers.get(self.header) if hasattr(request, "headers") else None
        session_id = value.strip()[:_MAX_LENGTH] if isinstance(value, str) and value else None
        token = current_session_id.set(session_id)
        try:
            return self.get_response(request)
        finally:
            current_session_id.reset(token)
