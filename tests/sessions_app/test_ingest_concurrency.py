"""Concurrent beacons for one session: no duplicate rows, no lost actions, right counters.

On PostgreSQL the beacons really race in threads (each with its own
connection and transaction), which exercises the row lock and the insert-race
retry. SQLite serialises writers anyway, so there the same scenario runs one
beacon after another and the same assertions must hold.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection

from sessions_app.models import Application, UserAction, UserSession
from sessions_app.services import IngestResult, session_ingest
from tests.conftest import database_is_postgresql
from tests.sessions_app.ingest_support import action, new_application, session

pytestmark = pytest.mark.django_db(transaction=True)

PURCHASE = {"sku": "D-1", "price": "1.00", "quantity": 1, "event": "purchase"}


def run_concurrently(calls: list[Callable[[], list[IngestResult]]]) -> list[IngestResult]:
    if not database_is_postgresql():
        return [result for call in calls for result in call()]
    barrier = threading.Barrier(len(calls))
    results: list[IngestResult] = []
    failures: list[BaseException] = []

    def worker(call: Callable[[], list[IngestResult]]) -> None:
        try:
            barrier.wait()
            results.extend(call())
        except BaseException as error:  # re-raised in the main thread below
            failures.append(error)
        finally:
            connection.close()  # each thread has its own; the test database must be droppable

    threads = [threading.Thread(target=worker, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    if failures:
        raise failures[0]
    return results


def ingest_later(
    application: Application, *sessions: dict[str, Any]
) -> Callable[[], list[IngestResult]]:
    return lambda: session_ingest(application=application, payload={"sessions": list(sessions)})


def test_overlapping_beacons_for_one_new_session_store_each_action_once() -> None:
    application = new_application()[0]
    # Four beacons, seqs 0-9, 5-14, 10-19, 15-24: every seq is sent twice but one.
    beacons = [
        ingest_later(
            application,
            session(actions=[action(seq, product=PURCHASE) for seq in range(start, start + 10)]),
        )
        for start in (0, 5, 10, 15)
    ]

    results = run_concurrently(beacons)

    assert sorted(result.status for result in results) == [
        "created",
        "updated",
        "updated",
        "updated",
    ]
    assert sum(result.actions_added for result in results) == 25
    stored = UserSession.objects.get()
    assert sorted(UserAction.objects.values_list("seq", flat=True)) == list(range(25))
    assert stored.action_count == 25
    assert stored.revenue == Decimal("25.00")
    assert stored.converted is True


def test_batches_sharing_sessions_in_opposite_order_neither_deadlock_nor_duplicate() -> None:
    application = new_application()[0]
    a = session(session_id="a", actions=[action(0)])
    b = session(session_id="b", actions=[action(1)])
    a2 = session(session_id="a", actions=[action(2)])
    b2 = session(session_id="b", actions=[action(3)])

    run_concurrently([ingest_later(application, a, b), ingest_later(application, b2, a2)] * 2)

    assert UserSession.objects.count() == 2
    for session_id, seqs in (("a", [0, 2]), ("b", [1, 3])):
        stored = UserSession.objects.get(session_id=session_id)
        assert sorted(stored.actions.values_list("seq", flat=True)) == seqs
        assert stored.action_count == 2


def test_a_session_inserted_between_the_lock_and_the_insert_is_merged_not_duplicated(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The insert-race retry, made deterministic: the first look for stored sessions
    misses one that another transaction committed meanwhile, so the insert (COPY on
    PostgreSQL) hits the unique constraint as Django's IntegrityError, and the next
    round locks and merges it."""
    import sessions_app.services as services

    application = new_application()[0]
    session_ingest(application=application, payload={"sessions": [session(actions=[action(0)])]})
    looks: list[int] = []
    original = services._lock_existing

    def first_look_misses(*args: Any, **kwargs: Any) -> dict[str, UserSession]:
        looks.append(1)
        return {} if len(looks) == 1 else original(*args, **kwargs)

    monkeypatch.setattr(services, "_lock_existing", first_look_misses)
    [result] = session_ingest(
        application=application, payload={"sessions": [session(actions=[action(0), action(1)])]}
    )

    assert len(looks) == 2
    assert (result.status, result.actions_added) == ("updated", 1)
    stored = UserSession.objects.get(application=application)
    assert stored.action_count == 2
    assert sorted(UserAction.objects.values_list("seq", flat=True)) == [0, 1]
