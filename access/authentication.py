"""``Authorization: Token <key>`` against hashed, expiring tokens (django-rest-knox)."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.utils import timezone
from knox.auth import TokenAuthentication as KnoxTokenAuthentication
from rest_framework import exceptions

from access.models import ApiToken


class TokenAuthentication(KnoxTokenAuthentication):  # type: ignore[misc]  # knox is untyped
    """knox's authentication with two departures.

    * A header that is not UTF-8 is a 401, not a 500 (knox decodes it unguarded;
      DRF's own TokenAuthentication refuses it the same way).
    * Only the presented token's expiry is checked. knox also loads and prunes
      every other token of the user on each request: a query and possibly a
      write on every read. Expired tokens are deleted when they are presented
      and when a new token is created for the user (``access.services``).
    """

    def authenticate_credentials(self, token: bytes) -> tuple[AbstractBaseUser, ApiToken]:
        try:
            token.decode("utf-8")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed("Invalid token.") from None
        authenticated: tuple[AbstractBaseUser, ApiToken] = super().authenticate_credentials(token)
        return authenticated

    def _cleanup_token(self, auth_token: ApiToken) -> bool:
        if auth_token.expiry is not None and auth_token.expiry < timezone.now():
            auth_token.delete()
            return True
        return False
