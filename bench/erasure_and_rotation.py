"""Erasure, anonymisation and key rotation throughput among many sessions.

    DATABASE_URL=postgres://USER@HOST:PORT/DB .venv/bin/python bench/erasure_and_rotation.py \
        [--sessions 200000] [--actions 3] [--subject-sessions 2000]

Runs in a throwaway database (``rumvault_bench_dsr`` on the PostgreSQL server
of ``DATABASE_URL``, or a temporary SQLite file), seeded with ``bulk_create``
the way ingest stores rows: ``--sessions`` sessions over two applications (tags
stored raw and encrypted; blind index, pseudonym, ciphertext computed with the
real keys), ``--actions`` actions each. Two customers have
``--subject-sessions`` sessions each, among everyone else's. Then it times,
through the same services the API and ``rotate_keys`` use:

* erasing one of them (approved request, run to the end): rows deleted per second;
* anonymising the other: rows cleared per second;
* rotating the blind-index, pseudonym and encryption keyrings over every
  session: values re-keyed per second (a new key is added to each first).

Rows are sessions plus actions. Prints one line per figure.
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from throwaway_database import in_process_database

BENCH_DATABASE = "rumvault_bench_dsr"
ERASED = "erase-me@example.com"
ANONYMISED = "anonymise-me@example.com"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=200_000)
    parser.add_argument("--actions", type=int, default=3)
    parser.add_argument("--subject-sessions", type=int, default=2000)
    options = parser.parse_args()
    with in_process_database(BENCH_DATABASE) as postgres:
        print(f"database: {'PostgreSQL' if postgres else 'SQLite'}")
        run(options.sessions, options.actions, options.subject_sessions)


def seed(total: int, actions: int, subject_sessions: int) -> list[Any]:
    from privacy.user_tags import UserTagStorage
    from sessions_app import user_tags
    from sessions_app.applications import application_create
    from sessions_app.models import UserAction, UserSession

    apps = [
        application_create(slug="bench-shop", name="Shop")[0],
        application_create(slug="bench-vault", name="Vault",
                           user_tag_storage=UserTagStorage.ENCRYPTED)[0],
    ]  # fmt: skip
    start = datetime(2026, 1, 1, tzinfo=UTC)
    hashes: dict[tuple[str, int], tuple[str, str]] = {}
    batch: list[UserSession] = []
    # Spread the two subjects' sessions through the table.
    every = max(total // (2 * subject_sessions), 1)
    for number in range(total):
        app = apps[number % 2]
        if number % every == 0 and number // every < 2 * subject_sessions:
            tag = ERASED if (number // every) % 2 == 0 else ANONYMISED
        else:
            tag = f"customer-{number // 5:06d}@example.com"
        if (tag, app.pk) not in hashes:
            hashes[tag, app.pk] = (
                user_tags.blind_index_for(tag),
                user_tags.pseudonym_for(tag, application_id=app.pk),
            )
        blind, pseudonym = hashes[tag, app.pk]
        encrypted = app.user_tag_storage == UserTagStorage.ENCRYPTED
        started = start + timedelta(seconds=31 * number)
        batch.append(
            UserSession(
                application=app, session_id=f"s-{number:07d}", started_at=started,
                ended_at=started + timedelta(minutes=5), duration_ms=300_000,
                user_tag=None if encrypted else tag,
                user_tag_encrypted=(
                    user_tags.encrypt(tag, application_id=app.pk) if encrypted else None
                ),
                user_tag_blind_index=blind, user_id=pseudonym, client_ip="203.0.113.7",
                geo_latitude=48.2, geo_longitude=16.4, country="AT", city="Vienna",
                browser="Chrome 131", os="Android 15", device="mobile",
                properties={"loyalty_tier": "gold"}, action_count=actions,
                converted=number % 4 == 0,
                revenue=Decimal("79.90") if number % 4 == 0 else Decimal(0),
            )
        )  # fmt: skip
        if len(batch) == 5000:
            _insert(batch, actions, UserSession, UserAction)
            batch = []
    _insert(batch, actions, UserSession, UserAction)
    return apps


def _insert(batch: list[Any], actions: int, sessions: Any, action_model: Any) -> None:
    created = sessions.objects.bulk_create(batch)
    action_model.objects.bulk_create(
        action_model(session=session, application_id=session.application_id, seq=seq,
                     type="xhr", name=f"POST /api/{seq}",
                     url=f"https://shop.example.com/api/{seq}", timestamp=session.started_at,
                     duration_ms=100, http_status=200, error_message="",
                     request_attributes={"order_id": "<masked>"})
        for session in created
        for seq in range(actions)
    )  # fmt: skip


def analyze() -> None:
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
    else:
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")


def request(kind: str, tag: str) -> tuple[float, int]:
    from django.contrib.auth.models import Permission, User

    from data_subjects import services
    from permissions.audit import Actor

    officers = []
    for name in (f"{kind}-a", f"{kind}-b"):
        user = User.objects.create_user(name)
        user.user_permissions.add(
            *Permission.objects.filter(content_type__app_label="data_subjects")
        )
        officers.append(User.objects.get(pk=user.pk))
    services._run_later = lambda *args, **kwargs: None  # the run is timed below
    created = services.request_create(
        user=officers[0], actor=Actor(username=officers[0].username, method="POST", path="/"),
        new=services.parse_new_request({"user_tag": tag, "kind": kind, "reason": "bench",
                                        "ticket": "B-1"}),
    )  # fmt: skip
    services.request_approve(user=officers[1], actor=Actor(username=officers[1].username,
                             method="POST", path="/"), request_id=created.pk)  # fmt: skip
    started = time.perf_counter()
    done = services.request_run(request_id=created.pk)
    seconds = time.perf_counter() - started
    rows = sum(n for by_type in done.done.values() for n in by_type.values())
    return seconds, rows


def rotate(keyring: str, setting: str) -> tuple[float, int]:
    from django.conf import settings

    from maintenance import rotation
    from maintenance.models import Keyring
    from privacy.keyring import Keyring as KeyMaterial

    old: KeyMaterial = getattr(settings, setting)
    setattr(settings, setting, KeyMaterial({**old.keys, old.current_id + 1: b"k" * 48}))
    run = rotation.rotation_start(keyring=Keyring(keyring), started_by="bench")
    started = time.perf_counter()
    run = rotation.rotation_run(rotation_id=run.pk)
    seconds = time.perf_counter() - started
    return seconds, sum(v for v in run.rekeyed.values() if isinstance(v, int))


def run(total: int, actions: int, subject_sessions: int) -> None:
    from sessions_app.models import UserAction, UserSession

    started = time.perf_counter()
    seed(total, actions, subject_sessions)
    analyze()
    print(f"seeded {UserSession.objects.count()} sessions, {UserAction.objects.count()} actions "
          f"in {time.perf_counter() - started:.0f} s")  # fmt: skip
    for kind, tag in (("erase", ERASED), ("anonymise", ANONYMISED)):
        seconds, rows = request(kind, tag)
        print(f"{kind}: {rows} rows in {seconds:.2f} s = {rows / seconds:,.0f} rows/s")
    analyze()
    for keyring, setting in (
        ("blind-index", "RUMVAULT_BLIND_INDEX_KEYS"),
        ("pseudonym", "RUMVAULT_PSEUDONYM_KEYS"),
        ("encryption", "RUMVAULT_ENCRYPTION_KEYS"),
    ):
        seconds, values = rotate(keyring, setting)
        print(f"rotate {keyring}: {values} values in {seconds:.1f} s = {values / seconds:,.0f}/s")


if __name__ == "__main__":
    main()
