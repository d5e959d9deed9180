"""Deploy-time system checks: refuse to run production on development keys.

``python manage.py check --deploy`` exits non-zero when any of these fire, so
a deployment pipeline that runs it cannot ship the public development keys.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, Tags, register

from privacy.keyring import parse_keyring

_DEVELOPMENT_KEYS = (
    ("RUMVAULT_PSEUDONYM_KEYS", "DEVELOPMENT_PSEUDONYM_KEYS", "rumvault.E002"),
    ("RUMVAULT_BLIND_INDEX_KEYS", "DEVELOPMENT_BLIND_INDEX_KEYS", "rumvault.E003"),
    ("RUMVAULT_ENCRYPTION_KEYS", "DEVELOPMENT_ENCRYPTION_KEYS", "rumvault.E004"),
    ("RUMVAULT_SESSION_ID_KEYS", "DEVELOPMENT_SESSION_ID_KEYS", "rumvault.E006"),
    ("RUMVAULT_AUDIT_KEYS", "DEVELOPMENT_AUDIT_KEYS", "rumvault.E006"),
)


@register(Tags.security, deploy=True)
def development_keys_check(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    errors: list[Error] = []
    if settings.SECRET_KEY == settings.DEVELOPMENT_SECRET_KEY:
        errors.append(
            Error(
                "SECRET_KEY is the public development key.",
                hint="Set the SECRET_KEY environment variable to a long random value.",
                id="rumvault.E001",
            )
        )
    for setting_name, development_name, check_id in _DEVELOPMENT_KEYS:
        development_keys = parse_keyring(getattr(settings, development_name)).keys.values()
        in_use = getattr(settings, setting_name).keys.values()
        if set(development_keys) & set(in_use):
            errors.append(
                Error(
                    f"{setting_name} contains the public development key.",
                    hint=f"Set {setting_name} to '1:<random secret of 32+ characters>'.",
                    id=check_id,
                )
            )
    if settings.DEBUG:
        errors.append(
            Error(
                "DEBUG is on.",
                hint="Set DEBUG=false in production; debug pages can show personal data.",
                id="rumvault.E005",
            )
        )
    return errors
