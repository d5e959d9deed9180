"""Writes on API tokens."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from access.models import ApiToken


@transaction.atomic
def api_token_create(
    *, user: AbstractBaseUser, revoke_others: bool = False
) -> tuple[ApiToken, str]:
    """A new token for ``user`` with the configured expiry; returns it and the key, shown once.

    Only the digest is stored, so the key cannot be shown again. The user's
    expired tokens (all of them with ``revoke_others``) are deleted first.
    """
    tokens = ApiToken.objects.filter(user=user)
    if not revoke_others:
        tokens = tokens.filter(expiry__lt=timezone.now())
    tokens.delete()
    created: tuple[ApiToken, str] = ApiToken.objects.create(user=user)  # knox's manager
    return created
