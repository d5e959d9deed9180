"""``check --deploy`` fails loudly while development keys are in use."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from privacy.keyring import parse_keyring

PRODUCTION_ENVIRONMENT = {
    "SECRET_KEY": "x" * 60,
    "DEBUG": False,
    "RUMVAULT_PSEUDONYM_KEYS": parse_keyring("1:" + "p" * 40),
    "RUMVAULT_BLIND_INDEX_KEYS": parse_keyring("1:" + "b" * 40),
    "RUMVAULT_ENCRYPTION_KEYS": parse_keyring("1:" + "e" * 40),
    "RUMVAULT_SESSION_ID_KEYS": parse_keyring("1:" + "s" * 40),
    "RUMVAULT_AUDIT_KEYS": parse_keyring("1:" + "a" * 40),
}


def deploy_check_errors() -> str:
    try:
        call_command("check", "--deploy", "--fail-level", "ERROR")
    except SystemCheckError as error:
        return str(error)
    return ""


def test_development_keys_fail_the_deploy_check() -> None:
    errors = deploy_check_errors()
    for check_id in (
        "rumvault.E001",
        "rumvault.E002",
        "rumvault.E003",
        "rumvault.E004",
        "rumvault.E006",
    ):
        assert check_id in errors


@pytest.mark.parametrize(
    ("setting", "check_id"),
    [
        ("SECRET_KEY", "rumvault.E001"),
        ("RUMVAULT_PSEUDONYM_KEYS", "rumvault.E002"),
        ("RUMVAULT_BLIND_INDEX_KEYS", "rumvault.E003"),
        ("RUMVAULT_ENCRYPTION_KEYS", "rumvault.E004"),
        ("RUMVAULT_SESSION_ID_KEYS", "rumvault.E006"),
        ("RUMVAULT_AUDIT_KEYS", "rumvault.E006"),
    ],
)
def test_each_development_key_alone_fails_the_check(settings, setting: str, check_id: str) -> None:
    for name, value in PRODUCTION_ENVIRONMENT.items():
        setattr(settings, name, value)
    assert "rumvault." not in deploy_check_errors()

    development_value = getattr(settings, "DEVELOPMENT_" + setting.removeprefix("RUMVAULT_"))
    if setting != "SECRET_KEY":
        development_value = parse_keyring(development_value)
    setattr(settings, setting, development_value)
    assert check_id in deploy_check_errors()


def test_an_old_development_key_left_in_the_keyring_still_fails(settings) -> None:
    for name, value in PRODUCTION_ENVIRONMENT.items():
        setattr(settings, name, value)
    settings.RUMVAULT_PSEUDONYM_KEYS = parse_keyring(
        settings.DEVELOPMENT_PSEUDONYM_KEYS + ",2:" + "n" * 40
    )
    assert "rumvault.E002" in deploy_check_errors()


def test_debug_on_fails_the_deploy_check(settings) -> None:
    for name, value in PRODUCTION_ENVIRONMENT.items():
        setattr(settings, name, value)
    settings.DEBUG = True
    assert "rumvault.E005" in deploy_check_errors()
