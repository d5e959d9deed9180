"""Writes on applications: creation with a one-time ingest token, audited settings changes,
the public beacon key of the browser agent and its rotation."""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from permissions.audit import Actor, audit_settings_change
from privacy.defaults import PRIVACY_SETTINGS, SETTINGS_BY_NAME
from sessions_app.models import Application

INGEST_TOKEN_PREFIX = "rv_"  # noqa: S105 (a marker that makes leaked tokens greppable)
# Public by design (docs/browser-agent.md); the prefix tells it from an ingest token.
BEACON_KEY_PREFIX = "rvpub_"
# Settings per application only (no environment default to inherit), set as given:
# the browser agent's (where beacons may come from, what it captures) and whether
# revealing fieldset values needs a reason.
APPLICATION_ONLY_SETTING_FIELDS = (
    "allowed_origins",
    "mask_user_actions",
    "opt_in_required",
    "reveal_requires_reason",
)
PRIVACY_SETTING_FIELDS = (
    *(setting.name for setting in PRIVACY_SETTINGS),
    *APPLICATION_ONLY_SETTING_FIELDS,
)
# Passed as a layered setting's value: drop the application's override, inherit the default.
INHERIT = None


class ApplicationExists(Exception):
    pass


def hash_ingest_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_ingest_token() -> str:
    return INGEST_TOKEN_PREFIX + secrets.token_urlsafe(32)


def new_beacon_key() -> str:
    return BEACON_KEY_PREFIX + secrets.token_urlsafe(18)


def _check_setting_names(privacy_settings: dict[str, Any]) -> None:
    unknown = set(privacy_settings) - set(PRIVACY_SETTING_FIELDS)
    if unknown:
        raise ValueError(f"unknown privacy settings: {', '.join(sorted(unknown))}")


def _column(name: str) -> str:
    """The column a setting is stored in: a layered setting's override, else its own."""
    setting = SETTINGS_BY_NAME.get(name)
    return name if setting is None else setting.override_field


def _full_clean(application: Application) -> None:
    """``full_clean``, with errors named by setting (``retention_days``), not by column."""
    columns = {setting.override_field: setting.name for setting in PRIVACY_SETTINGS}
    try:
        application.full_clean()
    except ValidationError as error:
        if not hasattr(error, "error_dict"):
            raise
        raise ValidationError(
            {columns.get(name, name): errors for name, errors in error.error_dict.items()}
        ) from None


@transaction.atomic
def application_create(*, slug: str, name: str, **privacy_settings: Any) -> tuple[Application, str]:
    """Create an application; returns it with its ingest token, which is not stored.

    It starts from the environment defaults: each setting given here becomes an
    override, every other one is inherited (``privacy.defaults``). Raises
    ``ApplicationExists`` for a taken slug and ``ValidationError`` for invalid
    settings, before anything is written.
    """
    _check_setting_names(privacy_settings)
    if Application.objects.filter(slug=slug).exists():
        raise ApplicationExists(f"an application with slug '{slug}' already exists")
    token = new_ingest_token()
    application = Application(
        slug=slug,
        name=name,
        ingest_token_hash=hash_ingest_token(token),
        beacon_key=new_beacon_key(),
        **privacy_settings,
    )
    _full_clean(application)
    application.save()
    return application, token


@transaction.atomic
def application_configure(
    *, application: Application, actor: Actor, **privacy_settings: Any
) -> Application:
    """Change privacy settings, audited with the overrides before and after.

    The one way settings change (admin and ``configure_application``). A value
    sets the application's override; ``INHERIT`` (``None``) drops it, so the
    environment default applies again. Applies to data ingested from now on
    (``manage.py remask`` applies settings to stored data). The old values are
    read from the locked row, not from ``application`` (the admin's form has
    already written the new ones onto it). Settings given with their current
    override are no change: nothing is written or audited for them. In the
    audit record a ``null`` means "inherited".
    """
    _check_setting_names(privacy_settings)
    stored = Application.objects.select_for_update().get(pk=application.pk)
    fields = {name: _column(name) for name in privacy_settings}
    before = {name: getattr(stored, fields[name]) for name in privacy_settings}
    for name, value in privacy_settings.items():
        setattr(stored, fields[name], list(value) if isinstance(value, tuple) else value)
    _full_clean(stored)
    after = {name: getattr(stored, fields[name]) for name in privacy_settings}
    changed = [name for name in privacy_settings if before[name] != after[name]]
    if changed:
        stored.save(update_fields=[fields[name] for name in changed])
        audit_settings_change(
            actor=actor,
            application=stored.slug,
            before={name: before[name] for name in changed},
            after={name: after[name] for name in changed},
        )
    for name, value in after.items():
        setattr(application, fields[name], value)
    return application


def application_rotate_token(*, application: Application) -> str:
    """Replace the ingest token; the old one stops working immediately."""
    token = new_ingest_token()
    application.ingest_token_hash = hash_ingest_token(token)
    application.save(update_fields=["ingest_token_hash"])
    return token


@transaction.atomic
def application_rotate_beacon_key(*, application: Application, actor: Actor) -> str:
    """Replace the public beacon key; pages still using the old one are refused at once.

    Audited like a settings change, without the keys themselves: they are
    public, but an audit trail has no use for them.
    """
    key = new_beacon_key()
    application.beacon_key = key
    application.save(update_fields=["beacon_key"])
    audit_settings_change(
        actor=actor,
        application=application.slug,
        before={"beacon_key": "previous key"},
        after={"beacon_key": "new key"},
    )
    return key
