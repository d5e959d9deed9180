"""API tokens, stored as hashes (django-rest-knox).

knox stores a SHA-512 digest of each token and a short lookup prefix, never
the token; it is shown once, when created. ``ApiToken`` is knox's own model
(``KNOX_TOKEN_MODEL``) with one change: an integer primary key. knox keys
tokens by their digest, which would then appear in admin URLs and forms; a
digest cannot authenticate, but no page needs to show it either.
"""

from __future__ import annotations

from django.db import models
from knox.models import AbstractAuthToken
from knox.settings import CONSTANTS

# How much of the token the admin shows: enough to tell tokens apart, a small
# part of the 15 characters knox keeps for lookups (the token has 64).
DISPLAYED_PREFIX_LENGTH = 8


class ApiToken(AbstractAuthToken):  # type: ignore[misc]  # knox ships no type information
    id = models.BigAutoField(primary_key=True)
    digest = models.CharField(max_length=CONSTANTS.DIGEST_LENGTH, unique=True)

    class Meta:
        verbose_name = "API token"
        ordering = ("-created",)

    def __str__(self) -> str:
        return f"{self.displayed_prefix}… ({self.user})"

    @property
    def displayed_prefix(self) -> str:
        return str(self.token_key)[:DISPLAYED_PREFIX_LENGTH]


class RateLimitCounter(models.Model):
    """Attempts of one caller against one rate limit in its current window (``access.throttling``).

    ``key`` is a keyed hash of (limit, caller): the table never holds a
    username, an address or a token. Log-in counters whose window ended an
    hour ago are deleted as new ones start (anyone can add usernames and
    addresses); users and applications are few, their rows stay.
    """

    key = models.CharField(max_length=64, primary_key=True)
    count = models.PositiveIntegerField()
    # Seconds since the epoch, compared in SQL the same way on every database.
    window_ends = models.FloatField(db_index=True)

    def __str__(self) -> str:
        return f"{self.count} attempts"
