"""``Authorization: Token <key>`` against hashed, expiring tokens (django-rest-knox)."""

from __future__ import annotations

import binascii
from hmac import compare_digest

from django.contrib.auth.models import AbstractBaseUser
from django.utils import timezone
from knox.auth import TokenAuthentication as KnoxTokenAuthentication
from knox.crypto import hash_token
from knox.settings import CONSTANTS, knox_settings
from rest_framework import exceptions

from access.models import ApiToken
from config.prepared import prepared_statements
from permissions import generation


class TokenAuthentication(KnoxTokenAuthentication):  # type: ignore[misc]  # knox is untyped
    """knox's authentication with two departures.

    * A header that is not UTF-8 is a 401, not a 500 (knox decodes it unguarded;
      DRF's own TokenAuthentication refuses it the same way).
    * Only the presented token's expiry is checked. knox also loads and prunes
      every other token of the user on each request: a query and possibly a
      write on every read. Expired tokens are deleted when they are presented
      and when a new token is created for the user (``access.services``).
    * The token's query also reads the policy generation
      (``permissions.generation``) into ``token.policy_generation``: when the
      principal's snapshot is cached at that value, the request reads its
      grants without a query of its own (``sessions_app.reads.Reader``).
      knox's loop is written out below for that one ``annotate``.
    """

    def authenticate_credentials(self, token: bytes) -> tuple[AbstractBaseUser, ApiToken]:
        invalid = exceptions.AuthenticationFailed("Invalid token.")
        try:
            text = token.decode("utf-8")
        except UnicodeDecodeError:
            raise invalid from None
        candidates = (
            ApiToken.objects.filter(token_key=text[: CONSTANTS.TOKEN_KEY_LENGTH])
            .select_related("user")
            .annotate(policy_generation=generation.current())
        )
        with prepared_statements():  # its one value is a key
            tokens = list(candidates)
        for auth_token in tokens:
            if self._cleanup_token(auth_token):
                continue
            try:
                digest = hash_token(text)
            except (TypeError, binascii.Error):
                raise invalid from None
            if compare_digest(digest, auth_token.digest):
                if knox_settings.AUTO_REFRESH and auth_token.expiry:
                    self.renew_token(auth_token)
                authenticated: tuple[AbstractBaseUser, ApiToken] = self.validate_user(auth_token)
                return authenticated
        raise invalid

    def _cleanup_token(self, auth_token: ApiToken) -> bool:
        if auth_token.expiry is not None and auth_token.expiry < timezone.now():
            auth_token.delete()
            return True
        return False
