"""Issue 9, item 5: without DEBUG, rumvault refuses to start on missing or public keys.

Through real processes, as an operator starts them: ``manage.py`` and gunicorn
with ``DEBUG`` unset. The message names every variable to set, never a value.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from config.keys import DEVELOPMENT_KEYRINGS, DEVELOPMENT_SECRET_KEY, KEY_VARIABLES, generate_keys

PROJECT = Path(__file__).resolve().parents[2]


@pytest.fixture
def bare_environment() -> Iterator[dict[str, str]]:
    """The test process's environment without DEBUG, keys and the test settings module."""
    dropped = {*KEY_VARIABLES, "DEBUG", "DJANGO_SETTINGS_MODULE", "DJANGO_READ_DOT_ENV_FILE"}
    with tempfile.TemporaryDirectory() as directory:
        environment = {k: v for k, v in os.environ.items() if k not in dropped}
        environment["DATABASE_URL"] = f"sqlite:///{directory}/db.sqlite3"
        yield environment


def manage_check(environment: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=PROJECT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_item5_production_refuses_to_start_without_keys(bare_environment) -> None:
    result = manage_check(bare_environment)
    assert result.returncode != 0
    assert "refuses to start with DEBUG off" in result.stderr
    for variable in KEY_VARIABLES:
        assert f"{variable} is not set" in result.stderr


def test_item5_production_refuses_development_keys(bare_environment) -> None:
    development = {"SECRET_KEY": DEVELOPMENT_SECRET_KEY, **dict(DEVELOPMENT_KEYRINGS)}
    result = manage_check({**bare_environment, **development})
    assert result.returncode != 0
    for variable in KEY_VARIABLES:
        assert variable in result.stderr
    for value in development.values():
        secret = value.partition(":")[2] or value
        assert secret not in result.stderr


def test_item5_one_development_key_among_real_ones_is_enough_to_refuse(bare_environment) -> None:
    name, development_value = DEVELOPMENT_KEYRINGS[-1]
    keys = {**generate_keys(), name: f"{development_value},2:{'n' * 40}"}
    result = manage_check({**bare_environment, **keys})
    assert result.returncode != 0
    assert f"{name} contains a public development key" in result.stderr
    assert [v for v in KEY_VARIABLES if v in result.stderr] == [name]


def test_item5_a_malformed_key_is_named_and_not_echoed(bare_environment) -> None:
    name = DEVELOPMENT_KEYRINGS[0][0]
    result = manage_check({**bare_environment, **generate_keys(), name: "1:too-short-secret"})
    assert result.returncode != 0
    assert f"{name} is malformed" in result.stderr
    assert "too-short-secret" not in result.stderr


def test_item5_production_starts_with_keys_of_its_own(bare_environment) -> None:
    result = manage_check({**bare_environment, **generate_keys()})
    assert result.returncode == 0, result.stderr


def test_item5_development_keys_need_debug_on_explicitly(bare_environment) -> None:
    result = manage_check({**bare_environment, "DEBUG": "true"})
    assert result.returncode == 0, result.stderr


def test_item5_gunicorn_does_not_serve_on_public_keys(bare_environment) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    environment = {**bare_environment, "BIND": f"127.0.0.1:{port}", "WEB_CONCURRENCY": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "gunicorn", "--config", "config/gunicorn.conf.py"],
        cwd=PROJECT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr
