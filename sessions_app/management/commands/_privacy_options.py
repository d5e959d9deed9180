"""The SETTINGS options shared by create_application and configure_application.

Every option also takes ``inherit``: drop the application's override, so the
environment default (``RUMVAULT_DEFAULT_<NAME>``, ``privacy.defaults``) applies.
"""

from __future__ import annotations

import argparse
import getpass
from argparse import ArgumentParser, Namespace
from typing import Any

from django.core.exceptions import ValidationError

from privacy.do_not_track import DoNotTrack
from privacy.ip import IpMasking
from privacy.user_tags import UserTagStorage
from sessions_app.applications import INHERIT
from sessions_app.models import Application
from sessions_app.origins import InvalidOrigin, normalise_origin

INHERIT_WORD = "inherit"
# Browser-agent switches (on|off, per application, not layered): option -> model field.
_BROWSER_SWITCHES = {"mask_user_actions": "mask_user_actions", "opt_in": "opt_in_required"}


def _days(text: str) -> int | str:
    if text == INHERIT_WORD:
        return text
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError("give a whole number of days or 'inherit'") from None


def add_privacy_arguments(parser: ArgumentParser) -> None:
    parser.add_argument("--ip-masking", choices=[*IpMasking.values(), INHERIT_WORD])
    parser.add_argument("--user-tag-storage", choices=[*UserTagStorage.values(), INHERIT_WORD])
    parser.add_argument("--do-not-track", choices=[*DoNotTrack.values(), INHERIT_WORD])
    parser.add_argument(
        "--allowed-properties",
        metavar="KEY,KEY",
        help="session property keys to keep (or 'inherit')",
    )
    parser.add_argument("--uri-masking", choices=["on", "off", INHERIT_WORD])
    parser.add_argument("--retention-days", type=_days, metavar="N")
    parser.add_argument(
        "--phone-region", metavar="CC", help="region of national phone numbers, e.g. AT"
    )
    browser = parser.add_argument_group("browser agent (docs/browser-agent.md)")
    browser.add_argument(
        "--allowed-origins",
        metavar="ORIGIN,ORIGIN",
        help='origins whose pages may send beacons, e.g. "https://shop.example.com"; "" for none',
    )
    browser.add_argument(
        "--mask-user-actions",
        choices=["on", "off"],
        help='name clicks generically ("click on button") instead of by their label',
    )
    browser.add_argument(
        "--opt-in",
        choices=["on", "off"],
        help="collect and send nothing until the page calls rumvault.enable()",
    )
    parser.add_argument(
        "--reveal-requires-reason",
        choices=["on", "off"],
        help="fieldset values stay masked until a session is revealed with a reason",
    )


def privacy_settings_from(options: dict[str, Any] | Namespace) -> dict[str, Any]:
    """Only the options that were given, as setting values (``INHERIT`` for 'inherit')."""
    options = vars(options) if isinstance(options, Namespace) else options
    settings: dict[str, Any] = {}
    for option in ("ip_masking", "user_tag_storage", "do_not_track", "retention_days"):
        if options.get(option) is not None:
            settings[option] = options[option]
    if options.get("uri_masking") is not None:
        settings["mask_personal_data_in_uris"] = options["uri_masking"] == "on"
        if options["uri_masking"] == INHERIT_WORD:
            settings["mask_personal_data_in_uris"] = INHERIT
    if options.get("reveal_requires_reason") is not None:
        settings["reveal_requires_reason"] = options["reveal_requires_reason"] == "on"
    if options.get("allowed_properties") is not None:
        keys = [key.strip() for key in options["allowed_properties"].split(",")]
        settings["allowed_properties"] = [key for key in keys if key]
    if options.get("phone_region") is not None:
        settings["phone_region"] = options["phone_region"].strip().upper()
    for option, field_name in _BROWSER_SWITCHES.items():
        if options.get(option) is not None:
            settings[field_name] = options[option] == "on"
    if options.get("allowed_origins") is not None:
        origins = [item.strip() for item in options["allowed_origins"].split(",")]
        settings["allowed_origins"] = [_origin(item) for item in origins if item]
    return {
        name: INHERIT if value == INHERIT_WORD or value == [INHERIT_WORD] else value
        for name, value in settings.items()
    }


def _origin(text: str) -> str:
    """The origin as a browser sends it; a wrong one is left for the model's validator,
    whose message says what is wrong."""
    try:
        return normalise_origin(text)
    except InvalidOrigin:
        return text


def describe_settings(application: Application) -> list[str]:
    """One line per privacy setting: its effective value and where it comes from."""
    lines = []
    for name, value, source in application.effective_settings():
        if isinstance(value, bool):
            text = "on" if value else "off"
        elif isinstance(value, list):
            text = ",".join(value) or "(none)"
        else:
            text = str(value) if value != "" else "(none)"
        lines.append(f"  {name:<28} {text:<24} ({source})")
    return lines


def describe_validation_error(error: ValidationError) -> str:
    """One line naming each invalid setting, for a CommandError."""
    if hasattr(error, "message_dict"):
        return "; ".join(
            f"{field}: {' '.join(messages)}" for field, messages in error.message_dict.items()
        )
    return " ".join(error.messages)


def operator_name() -> str:
    """The operating-system account running a command: the audit record's "who"."""
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no login name and no passwd entry (some containers)
        return "unknown"
