"""Writes on applications: creation with a one-time ingest token, audited settings changes."""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from django.db import transaction

from permissions.audit import Actor, audit_settings_change
from sessions_app.models import Application

INGEST_TOKEN_PREFIX = "rv_"  # noqa: S105 (a marker that makes leaked tokens greppable)
PRIVACY_SETTING_FIELDS = (
    "ip_masking",
    "mask_personal_data_in_uris",
    "do_not_track",
    "allowed_properties",
    "user_tag_storage",
    "retention_days",
    "reveal_requires_reason",
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
def application_configure(
    *, application: Application, actor: Actor, **privacy_settings: Any
) -> Application:
    """Change privacy settings, audited with the values before and after.

    The one way settings change (admin and ``configure_application``). Applies
    to data ingested from now on, not retroactively. The old values are read
    from the locked row, not from ``application`` (the admin's form has already
    written the new ones onto it). Settings given with their current value are
    no change: nothing is written or audited for them.
    """
    _check_setting_names(privacy_settings)
    stored = Application.objects.select_for_update().get(pk=application.pk)
    before = {name: getattr(stored, name) for name in privacy_settings}
    for field_name, value in privacy_settings.items():
        setattr(stored, field_name, value)
    stored.full_clean()
    after = {name: getattr(stored, name) for name in privacy_settings}
    changed = [name for name in privacy_settings if before[name] != after[name]]
    if changed:
        stored.save(update_fields=changed)
        audit_settings_change(
            actor=actor,
            application=stored.slug,
            before={name: before[name] for name in changed},
            after={name: after[name] for name in changed},
        )
    for field_name, value in after.items():
        setattr(application, field_name, value)
    return application


def application_rotate_token(*, application: Application) -> str:
    """Replace the ingest token; the old one stops working immediately."""
    token = new_ingest_token()
    application.ingest_token_hash = hash_ingest_token(token)
    application.save(update_fields=["ingest_token_hash"])
    return token
