"""Writes on applications: creation with a one-time ingest token, settings changes."""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from django.db import transaction

from sessions_app.models import Application

INGEST_TOKEN_PREFIX = "rv_"  # noqa: S105 (a marker that makes leaked tokens greppable)
PRIVACY_SETTING_FIELDS = (
    "ip_masking",
    "mask_personal_data_in_uris",
    "do_not_track",
    "allowed_properties",
    "user_tag_storage",
    "retention_days",
)


class ApplicationExists(Exception):
    pass


def hash_ingest_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_ingest_token() -> str:
    return INGEST_TOKEN_PREFIX + secrets.token_urlsafe(32)


def _check_setting_names(privacy_settings: dict[str, Any]) -> None:
    unknown = set(privacy_settings) - set(PRIVACY_SETTING_FIELDS)
    if unknown:
        raise ValueError(f"unknown privacy settings: {', '.join(sorted(unknown))}")


@transaction.atomic
def application_create(*, slug: str, name: str, **privacy_settings: Any) -> tuple[Application, str]:
    """Create an application; returns it with its ingest token, which is not stored.

    Raises ``ApplicationExists`` for a taken slug and ``ValidationError`` for
    invalid settings, before anything is written.
    """
    _check_setting_names(privacy_settings)
    if Application.objects.filter(slug=slug).exists():
        raise ApplicationExists(f"an application with slug '{slug}' already exists")
    token = new_ingest_token()
    application = Application(
        slug=slug, name=name, ingest_token_hash=hash_ingest_token(token), **privacy_settings
    )
    application.full_clean()
    application.save()
    return application, token


@transaction.atomic
def application_configure(*, application: Application, **privacy_settings: Any) -> Application:
    """Change privacy settings; applies to data ingested from now on, not retroactively."""
    _check_setting_names(privacy_settings)
    for field_name, value in privacy_settings.items():
        setattr(application, field_name, value)
    application.full_clean()
    application.save(update_fields=[*privacy_settings])
    return application


def application_rotate_token(*, application: Application) -> str:
    """Replace the ingest token; the old one stops working immediately."""
    token = new_ingest_token()
    application.ingest_token_hash = hash_ingest_token(token)
    application.save(update_fields=["ingest_token_hash"])
    return token
