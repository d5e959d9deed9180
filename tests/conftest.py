"""Project-wide fixtures: users, applications and an API client."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

import pytest
from django.conf import settings
from django.core.servers.basehttp import ThreadedWSGIServer
from django.test.testcases import LiveServerThread
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings

# Hypothesis: bounded, deterministic enough for CI on two cores.
hypothesis_settings.register_profile(
    "ci",
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
hypothesis_settings.load_profile("ci")

T = TypeVar("T")

#: Held by the live server for each whole request, and by test code while it reads what
#: the server wrote. On SQLite the live server's threads and the test share one
#: in-memory connection, where a read during a write fails at once ("database table is
#: locked") instead of waiting: the write answers 503 and a beacon sent while a page is
#: left is never sent again (CI, stop 18). Taking turns makes that impossible rather
#: than unlikely; on PostgreSQL it only costs the parallelism no test measures.
LIVE_DATABASE = threading.RLock()


def in_turn(read: Callable[[], T]) -> T:
    """Run ``read`` (test code reading the database) while no live-server request runs."""
    with LIVE_DATABASE:
        return read()


class _OneRequestAtATime(ThreadedWSGIServer):
    def set_app(self, application: Callable[..., Iterable[bytes]]) -> None:
        def in_turn_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
            with LIVE_DATABASE:
                response = application(environ, start_response)
                try:
                    # A streamed body (a CSV export) reads the database while it is sent.
                    return [b"".join(response)]
                finally:
                    close = getattr(response, "close", None)
                    if close is not None:
                        close()

        super().set_app(in_turn_app)


@pytest.fixture(scope="session", autouse=True)
def _live_server_takes_turns() -> Iterator[None]:
    # Session scope and autouse: in place before pytest-django starts its (session) server.
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(LiveServerThread, "server_class", _OneRequestAtATime)
        yield


@pytest.fixture(autouse=True)
def _sessions_numbered_per_test() -> None:
    # Each test's factory sessions start at BASE_TIME, whatever ran before it.
    # (Imported here: the factories import models, which need Django set up.)
    from tests.factories import restart_numbering

    restart_numbering()


@pytest.fixture(autouse=True)
def _fast_password_hashing() -> None:
    # Real hashers make every login in a test cost ~100 ms; security is not under test there.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def database_is_postgresql() -> bool:
    return settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"
