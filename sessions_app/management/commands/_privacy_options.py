"""The SETTINGS options shared by create_application and configure_application."""

from __future__ import annotations

import getpass
from argparse import ArgumentParser, Namespace
from typing import Any

from django.core.exceptions import ValidationError

from sessions_app.models import DoNotTrack, IpMasking, UserTagStorage
from sessions_app.origins import InvalidOrigin, normalise_origin

_SWITCHES = {
    # option: model field, for the on|off settings
    "uri_masking": "mask_personal_data_in_uris",
    "mask_user_actions": "mask_user_actions",
    "opt_in": "opt_in_required",
}


def add_privacy_arguments(parser: ArgumentParser) -> None:
    parser.add_argument("--ip-masking", choices=IpMasking.values)
    parser.add_argument("--user-tag-storage", choices=UserTagStorage.values)
    parser.add_argument("--do-not-track", choices=DoNotTrack.values)
    parser.add_argument(
        "--allowed-properties", metavar="KEY,KEY", help="session property keys to keep"
    )
    parser.add_argument("--uri-masking", choices=["on", "off"])
    parser.add_argument("--retention-days", type=int, metavar="N")
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


def privacy_settings_from(options: dict[str, Any] | Namespace) -> dict[str, Any]:
    """Only the options that were given, as model field values."""
    options = vars(options) if isinstance(options, Namespace) else options
    settings: dict[str, Any] = {}
    for option, field_name in (
        ("ip_masking", "ip_masking"),
        ("user_tag_storage", "user_tag_storage"),
        ("do_not_track", "do_not_track"),
        ("retention_days", "retention_days"),
    ):
        if options.get(option) is not None:
            settings[field_name] = options[option]
    for option, field_name in _SWITCHES.items():
        if options.get(option) is not None:
            settings[field_name] = options[option] == "on"
    if options.get("allowed_properties") is not None:
        keys = [key.strip() for key in options["allowed_properties"].split(",")]
        settings["allowed_properties"] = [key for key in keys if key]
    if options.get("allowed_origins") is not None:
        origins = [item.strip() for item in options["allowed_origins"].split(",")]
        settings["allowed_origins"] = [_origin(item) for item in origins if item]
    return settings


def _origin(text: str) -> str:
    """The origin as a browser sends it; a wrong one is left for the model's validator,
    whose message says what is wrong."""
    try:
        return normalise_origin(text)
    except InvalidOrigin:
        return text


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
