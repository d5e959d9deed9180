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


# --- the replica tests (tests/config/test_replica.py) ---------------------------------
# They read a real streaming replica, which only TEST_DATABASE_REPLICA_URL provides
# (tests/settings.py). Without one they are deselected, never skipped, and the run says
# so at its end; asking for them (-m replica) without one is an error. `.ci/run`
# starts a replica and gives its URL to the PostgreSQL run, and a test of the
# ordinary suite holds `.ci/run` to that, so CI cannot lose them quietly.
REPLICA_MARKER = "replica"


def replica_configured() -> bool:
    return REPLICA_MARKER in settings.DATABASES


# Tests of one database's own machinery (PostgreSQL's partitions, say) are
# deselected on the other, like the replica tests: CI runs the suite on both.
DATABASE_MARKERS = {"postgres": True, "sqlite": False}  # marker -> runs on PostgreSQL


def _deselect_other_database(config: pytest.Config, items: list[pytest.Item]) -> None:
    on_postgresql = database_is_postgresql()
    other = [
        item
        for item in items
        for marker, postgresql in DATABASE_MARKERS.items()
        if item.get_closest_marker(marker) and postgresql != on_postgresql
    ]
    if other:
        config.hook.pytest_deselected(items=other)
        items[:] = [item for item in items if item not in other]
        config.stash[_OTHER_DATABASE_DESELECTED] = len(other)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    _deselect_other_database(config, items)
    if replica_configured():
        return
    needing = [item for item in items if item.get_closest_marker(REPLICA_MARKER)]
    if not needing:
        return
    if REPLICA_MARKER in (config.option.markexpr or ""):
        raise pytest.UsageError(
            "-m replica needs DATABASE_URL on PostgreSQL and TEST_DATABASE_REPLICA_URL: "
            "a streaming replica of its cluster (.ci/replica.sh starts one)"
        )
    config.hook.pytest_deselected(items=needing)
    items[:] = [item for item in items if not item.get_closest_marker(REPLICA_MARKER)]
    config.stash[_REPLICA_DESELECTED] = len(needing)


_REPLICA_DESELECTED = pytest.StashKey[int]()
_OTHER_DATABASE_DESELECTED = pytest.StashKey[int]()


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    other = config.stash.get(_OTHER_DATABASE_DESELECTED, 0)
    if other:
        engine = "PostgreSQL" if database_is_postgresql() else "SQLite"
        terminalreporter.write_line(
            f"{other} tests of the other database's machinery not run on {engine} "
            "(markers postgres / sqlite; .ci/run runs both databases)"
        )
    deselected = config.stash.get(_REPLICA_DESELECTED, 0)
    if deselected:
        terminalreporter.write_line(
            f"{deselected} replica tests not run: they need TEST_DATABASE_REPLICA_URL and "
            "DATABASE_URL on PostgreSQL (.ci/run starts a streaming replica and runs them)"
        )
