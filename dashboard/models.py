"""The help desk's own settings per employee (no RUM data lives here)."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class HelpDeskProfile(models.Model):
    """A dashboard user's preferences; a missing row means "all defaults"."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="help_desk_profile"
    )
    # An IANA time zone name; empty: the browser's time zone (or UTC without one).
    time_zone = models.CharField(max_length=64, blank=True, default="")

    def __str__(self) -> str:
        return f"Help-desk profile {self.pk}"
