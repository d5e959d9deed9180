"""``check --deploy`` fails loudly while development keys or DEBUG are in use."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from config.keys import DEVELOPMENT_KEYRINGS, DEVELOPMENT_SECRET_KEY
from privacy.keyring import parse_keyring

KEYRING_NAMES = [name for name, _ in DEVELOPMENT_KEYRINGS]


def deploy_check_errors() -> str:
    try:
        call_command("check", "--deploy", "--fail-level", "ERROR")
    except SystemCheckError as error:
        return str(error)
    return ""


def test_the_suite_runs_on_production_keys() -> None:
    # tests/settings.py makes throwaway keys: the suite runs as production would.
    assert "rumvault." not in deploy_check_errors()


def test_every_development_key_fails_the_deploy_check(settings) -> None:
    settings.SECRET_KEY = DEVELOPMENT_SECRET_KEY
    for name, development_value in DEVELOPMENT_KEYRINGS:
        setattr(settings, name, parse_keyring(development_value))
    errors = deploy_check_errors()
    assert "rumvault.E001" in errors
    for name in KEYRING_NAMES:
        assert f"{name} contains a public development key" in errors


@pytest.mark.parametrize(("name", "development_value"), DEVELOPMENT_KEYRINGS)
def test_each_development_keyring_alone_fails_the_check(
    settings, name: str, development_value: str
) -> None:
    setattr(settings, name, parse_keyring(development_value))
    errors = deploy_check_errors()
    assert "rumvault.E002" in errors
    assert name in errors
    assert [other for other in KEYRING_NAMES if other in errors] == [name]


def test_the_development_secret_key_alone_fails_the_check(settings) -> None:
    settings.SECRET_KEY = DEVELOPMENT_SECRET_KEY
    assert "rumvault.E001" in deploy_check_errors()


def test_an_old_development_key_left_in_the_keyring_still_fails(settings) -> None:
    name, development_value = DEVELOPMENT_KEYRINGS[0]
    setattr(settings, name, parse_keyring(development_value + ",2:" + "n" * 40))
    assert name in deploy_check_errors()


def test_debug_on_fails_the_deploy_check(settings) -> None:
    settings.DEBUG = True
    assert "rumvault.E005" in deploy_check_errors()
