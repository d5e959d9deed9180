"""The privacy settings of an application, each declared once, with its environment default.

Layering: every setting has an *environment default*, read from one variable
(``RUMVAULT_DEFAULT_<NAME>``) at start-up, falling back to the documented
value below; an application inherits each default unless it *overrides* it.
``sessions_app.models.Application`` stores only the overrides (``NULL``:
inherited) and answers the effective value and where it comes from.

Everything that lists privacy settings (the model's properties, the admin,
``create_application``/``configure_application``, the audit of a change, the
README's configuration table) reads this tuple.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from privacy.do_not_track import DoNotTrack
from privacy.ip import IpMasking
from privacy.phones import is_region
from privacy.user_tags import UserTagStorage

MIN_RETENTION_DAYS = 1
MAX_RETENTION_DAYS = 3657

ENVIRONMENT = "environment"
APPLICATION = "application"


def _on_off(text: str) -> bool:
    value = text.strip().lower()
    if value in ("on", "true", "1", "yes"):
        return True
    if value in ("off", "false", "0", "no"):
        return False
    raise ValueError("must be on or off")


def _retention(text: str) -> int:
    try:
        days = int(text)
    except ValueError:
        raise ValueError("must be a whole number of days") from None
    if not MIN_RETENTION_DAYS <= days <= MAX_RETENTION_DAYS:
        raise ValueError(f"must be between {MIN_RETENTION_DAYS} and {MAX_RETENTION_DAYS}")
    return days


def _property_names(text: str) -> tuple[str, ...]:
    names = tuple(name.strip() for name in text.split(",") if name.strip())
    if len(set(names)) != len(names):
        raise ValueError("names must be distinct")
    return names


def _region(text: str) -> str:
    code = text.strip().upper()
    if code and not is_region(code):
        raise ValueError("must be a two-letter region code libphonenumber knows, or empty")
    return code


def _choice(choices: type[IpMasking | DoNotTrack | UserTagStorage]) -> Callable[[str], str]:
    def parse(text: str) -> str:
        try:
            return str(choices(text.strip()))
        except ValueError:
            raise ValueError(f"must be one of {', '.join(choices.values())}") from None

    return parse


@dataclass(frozen=True)
class PrivacySetting:
    name: str  # the Application property, the audit key, the admin field (+ "_override")
    variable: str  # the environment variable of the default
    default: Any  # used when the variable is not set
    parse: Callable[[str], Any]  # the variable's text -> value; ValueError says why
    help: str

    @property
    def override_field(self) -> str:
        return f"{self.name}_override"


PRIVACY_SETTINGS: tuple[PrivacySetting, ...] = (
    PrivacySetting(
        "ip_masking", "RUMVAULT_DEFAULT_IP_MASKING", IpMasking.ALL.value, _choice(IpMasking),
        "all, public or off: how much of the client IP is kept",
    ),
    PrivacySetting(
        "mask_personal_data_in_uris", "RUMVAULT_DEFAULT_URI_MASKING", True, _on_off,
        "on or off: emails, IPs, UUIDs, query values and digit runs in URLs (cards, IBANs "
        "and credentials are masked either way)",
    ),
    PrivacySetting(
        "do_not_track", "RUMVAULT_DEFAULT_DO_NOT_TRACK", DoNotTrack.ANONYMOUS.value,
        _choice(DoNotTrack), "anonymous, disable or ignore: sessions that ask not to be tracked",
    ),
    PrivacySetting(
        "allowed_properties", "RUMVAULT_DEFAULT_ALLOWED_PROPERTIES", (), _property_names,
        "comma-separated session property keys to keep (others are dropped)",
    ),
    PrivacySetting(
        "user_tag_storage", "RUMVAULT_DEFAULT_USER_TAG_STORAGE", UserTagStorage.RAW.value,
        _choice(UserTagStorage), "raw, encrypted or pseudonym_only",
    ),
    PrivacySetting(
        "retention_days", "RUMVAULT_DEFAULT_RETENTION_DAYS", 35, _retention,
        f"days sessions are kept ({MIN_RETENTION_DAYS}-{MAX_RETENTION_DAYS})",
    ),
    PrivacySetting(
        "phone_region", "RUMVAULT_DEFAULT_PHONE_REGION", "", _region,
        "region a national phone number is read in by the phone detector (e.g. AT); empty: "
        "only numbers written with +",
    ),
)  # fmt: skip

SETTINGS_BY_NAME: dict[str, PrivacySetting] = {s.name: s for s in PRIVACY_SETTINGS}


def defaults_from_environment(environ: Mapping[str, str]) -> dict[str, Any]:
    """The environment default of every privacy setting; ``ValueError`` names every bad one."""
    defaults: dict[str, Any] = {}
    problems: list[str] = []
    for setting in PRIVACY_SETTINGS:
        text = environ.get(setting.variable)
        if text is None or text == "":
            defaults[setting.name] = setting.default
            continue
        try:
            defaults[setting.name] = setting.parse(text)
        except ValueError as error:  # the message names the variable, never its value
            problems.append(f"{setting.variable} {error}")
    if problems:
        raise ValueError("; ".join(problems))
    return defaults
