"""Ingest authentication: ``Authorization: Bearer <ingest token>`` identifies the application.

Only a SHA-256 of each token is stored. The presented token is hashed, the
application is looked up by that hash, and the hashes are compared again in
constant time, so neither the lookup nor the comparison leaks how much of a
guess was right. The token itself is never logged or put in an error message.
"""

from __future__ import annotations

import hmac

from django.http import HttpRequest

from sessions_app.applications import hash_ingest_token
from sessions_app.models import Application

_SCHEME = "bearer"
# Real tokens are ~46 characters; anything far longer is not worth hashing.
_MAX_TOKEN_LENGTH = 512


class IngestAuthenticationFailed(Exception):
    """The request carries no usable ingest token; ``str()`` is safe to show the client."""


def authenticate_ingest(request: HttpRequest) -> Application:
    """Return the application whose ingest token the request presents."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != _SCHEME or not token:
        raise IngestAuthenticationFailed(
            "An 'Authorization: Bearer <ingest token>' header is required."
        )
    if len(token) > _MAX_TOKEN_LENGTH:
        raise IngestAuthenticationFailed("The ingest token is not valid.")
    digest = hash_ingest_token(token)
    application = Application.objects.filter(ingest_token_hash=digest).first()
    if application is None or not hmac.compare_digest(application.ingest_token_hash, digest):
        raise IngestAuthenticationFailed("The ingest token is not valid.")
    return application
