"""The SETTINGS options shared by create_application and configure_application."""

from __future__ import annotations

from argparse import ArgumentParser, Namespace
from typing import Any

from django.core.exceptions import ValidationError

from privacy.do_not_track import DoNotTrack
from privacy.ip import IpMasking
from privacy.user_tags import UserTagStorage


def add_privacy_arguments(parser: ArgumentParser) -> None:
    parser.add_argument("--ip-masking", choices=IpMasking.values())
    parser.add_argument("--user-tag-storage", choices=UserTagStorage.values())
    parser.add_argument("--do-not-track", choices=DoNotTrack.values())
    parser.add_argument(
        "--allowed-properties", metavar="KEY,KEY", help="session property keys to keep"
    )
    parser.add_argument("--uri-masking", choices=["on", "off"])
    parser.add_argument("--retention-days", type=int, metavar="N")
    parser.add_argument(
        "--reveal-requires-reason",
        choices=["on", "off"],
        help="fieldset values stay masked until a session is revealed with a reason",
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
    if options.get("uri_masking") is not None:
        settings["mask_personal_data_in_uris"] = options["uri_masking"] == "on"
    if options.get("reveal_requires_reason") is not None:
        settings["reveal_requires_reason"] = options["reveal_requires_reason"] == "on"
    if options.get("allowed_properties") is not None:
        keys = [key.strip() for key in options["allowed_properties"].split(",")]
        settings["allowed_properties"] = [key for key in keys if key]
    return settings


def describe_validation_error(error: ValidationError) -> str:
    """One line naming each invalid setting, for a CommandError."""
    if hasattr(error, "message_dict"):
        return "; ".join(
            f"{field}: {' '.join(messages)}" for field, messages in error.message_dict.items()
        )
    return " ".join(error.messages)
