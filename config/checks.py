"""Deploy-time system checks: refuse to run production on development keys or DEBUG.

Without DEBUG the settings already refuse development keys at start-up
(``config/keys.py``); ``python manage.py check --deploy`` (which ``make serve``
runs first) also catches DEBUG left on, together with the development keys it
lets through, so a pipeline that runs it cannot ship either.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, Tags, register

from config.keys import (
    DEVELOPMENT_KEYRINGS,
    SECRET_KEY_VARIABLE,
    is_development_keyring,
    is_development_secret_key,
)


@register(Tags.security, deploy=True)
def development_keys_check(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    errors: list[Error] = []
    if is_development_secret_key(settings.SECRET_KEY):
        errors.append(
            Error(
                f"{SECRET_KEY_VARIABLE} is the public development key.",
                hint=f"Set the {SECRET_KEY_VARIABLE} environment variable to a long random value.",
                id="rumvault.E001",
            )
        )
    for setting_name, _ in DEVELOPMENT_KEYRINGS:
        if is_development_keyring(getattr(settings, setting_name)):
            errors.append(
                Error(
                    f"{setting_name} contains a public development key.",
                    hint=f"Set {setting_name} to '1:<random secret of 32+ characters>'.",
                    id="rumvault.E002",
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
