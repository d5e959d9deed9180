"""``create_application`` / ``configure_application`` commands."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from sessions_app.models import Application

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_prints_the_token_once_as_last_line_and_stores_only_its_hash() -> None:
    output = run("create_application", "fashion-store", "--name", "Fashion Store")
    token = output.strip().splitlines()[-1]
    application = Application.objects.get(slug="fashion-store")

    assert application.name == "Fashion Store"
    assert len(token) > 40
    assert output.count(token) == 1
    assert application.ingest_token_hash == hashlib.sha256(token.encode()).hexdigest()
    stored = Application.objects.filter(slug="fashion-store").values().get()
    assert token not in {str(value) for value in stored.values()}


def test_each_application_gets_a_different_token() -> None:
    first = run("create_application", "a", "--name", "A").strip().splitlines()[-1]
    second = run("create_application", "b", "--name", "B").strip().splitlines()[-1]
    assert first != second


def test_settings_options_are_applied() -> None:
    run(
        "create_application",
        "app",
        "--name",
        "App",
        "--ip-masking",
        "public",
        "--user-tag-storage",
        "encrypted",
        "--do-not-track",
        "disable",
        "--allowed-properties",
        "loyalty_tier, plan",
        "--uri-masking",
        "off",
        "--retention-days",
        "90",
    )
    application = Application.objects.get(slug="app")
    assert application.ip_masking == "public"
    assert application.user_tag_storage == "encrypted"
    assert application.do_not_track == "disable"
    assert application.allowed_properties == ["loyalty_tier", "plan"]
    assert application.mask_personal_data_in_uris is False
    assert application.retention_days == 90


def test_duplicate_slug_is_refused_with_a_clear_message() -> None:
    run("create_application", "shop", "--name", "Shop")
    with pytest.raises(CommandError, match="already exists"):
        run("create_application", "shop", "--name", "Shop again")
    assert Application.objects.get(slug="shop").name == "Shop"


def test_duplicate_slug_exits_with_status_1_from_the_shell(transactional_db: None) -> None:
    # Through a real process, as an operator runs it: exit code and stderr.
    # The subprocess cannot see the test database, so it uses a file of its own.
    import os
    import tempfile

    with tempfile.TemporaryDirectory() as directory:
        environment = {**os.environ, "DATABASE_URL": f"sqlite:///{directory}/db.sqlite3"}
        command = [sys.executable, "manage.py"]
        subprocess.run([*command, "migrate", "-v0"], env=environment, check=True)  # noqa: S603
        first = subprocess.run(  # noqa: S603
            [*command, "create_application", "shop", "--name", "Shop"],
            env=environment,
            capture_output=True,
            text=True,
        )
        second = subprocess.run(  # noqa: S603
            [*command, "create_application", "shop", "--name", "Shop"],
            env=environment,
            capture_output=True,
            text=True,
        )
    assert first.returncode == 0
    assert second.returncode == 1
    assert "already exists" in second.stderr
    assert second.stdout == ""


def test_invalid_retention_is_refused_and_nothing_is_created() -> None:
    with pytest.raises(CommandError, match="retention_days"):
        run("create_application", "shop", "--name", "Shop", "--retention-days", "0")
    assert not Application.objects.exists()


def test_configure_application_changes_only_the_given_settings() -> None:
    run("create_application", "shop", "--name", "Shop")
    run("configure_application", "shop", "--ip-masking", "off", "--retention-days", "7")
    application = Application.objects.get(slug="shop")
    assert application.ip_masking == "off"
    assert application.retention_days == 7
    assert application.user_tag_storage == "raw"


def test_configure_unknown_application_fails() -> None:
    with pytest.raises(CommandError, match="no application"):
        run("configure_application", "nope", "--ip-masking", "off")
