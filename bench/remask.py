"""Re-masking throughput: ``manage.py remask`` over stored shop traffic, in actions per second.

    .venv/bin/python bench/remask.py [--sessions N]
    DATABASE_URL=postgres://USER@HOST:PORT/DB .venv/bin/python bench/remask.py

Runs in a throwaway database (see ``throwaway_database.py``). Ingests N
sessions x 10 actions of the ingest benchmark's traffic (with delivery
addresses and phone numbers in some error messages) through ``session_ingest``,
then tightens what an operator would: two new masking rules (an RE2 pattern
for delivery addresses, the phone detector over every action string), URI
masking was off and is switched on, and user tags go from raw to encrypted.
Then it times the ``remask`` job (the command's code path: batches, locks,
masking, writes, progress reports), and a second run, in which nothing is
left to change. Target: >= 5,000 actions/s on PostgreSQL.
"""

from __future__ import annotations

import argparse
import json
import random
import time

from ingest import make_batch
from throwaway_database import in_process_database

BENCH_DATABASE = "rumvault_bench_remask"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=3000, help="stored sessions [3000]")
    parser.add_argument("--seed", type=int, default=1)
    options = parser.parse_args()
    with in_process_database(BENCH_DATABASE) as postgres:
        run(sessions=options.sessions, seed=options.seed, postgres=postgres)


def run(*, sessions: int, seed: int, postgres: bool) -> None:
    from jobs.services import job_start
    from masking_rules.models import MaskingRule
    from permissions.audit import COMMAND_METHOD, Actor
    from sessions_app.applications import application_configure, application_create
    from sessions_app.models import UserAction
    from sessions_app.services import session_ingest

    rng = random.Random(seed)
    application, _ = application_create(
        slug="bench-remask", name="Remask", mask_personal_data_in_uris=False, phone_region="AT"
    )
    batches = max(1, sessions // 100)
    for number in range(batches):
        payload = json.loads(json.dumps(make_batch(rng, number, addresses=True)))
        session_ingest(application=application, payload=payload)
    actions = UserAction.objects.count()

    MaskingRule.objects.create(
        application=application,
        name="delivery address",
        order=1,
        selector="actions.error_message",
        method="replace",
        pattern=r"deliver to (?P<mask>[^(]+?) for",
        replacement="[address]",
    )
    MaskingRule.objects.create(
        application=application,
        name="phones",
        order=2,
        selector="actions.*",
        method="mask",
        detector="phone",
    )
    application_configure(
        application=application,
        actor=Actor(username="bench", method=COMMAND_METHOD, path="bench/remask.py"),
        mask_personal_data_in_uris=True,
        user_tag_storage="encrypted",
    )

    results = []
    for label in ("remask (changes)", "remask again (nothing left)"):
        started = time.perf_counter()
        job = job_start(
            kind="remask",
            params={"application": None, "dry_run": False, "run": label},
            user="bench",
            run_now=True,
        )
        elapsed = time.perf_counter() - started
        results.append((label, job, elapsed))

    print(f"database: {'PostgreSQL' if postgres else 'SQLite (file)'}")
    print(f"stored:   {batches * 100} sessions, {actions} actions")
    for label, job, elapsed in results:
        counts = job.counts
        print(
            f"{label:<28} {actions / elapsed:8.0f} actions/s  ({elapsed:.2f} s; "
            f"{counts.get('actions_changed', 0)} actions and {counts.get('sessions_changed', 0)} "
            "sessions changed)"
        )
    print("target: >= 5000 actions/s on PostgreSQL")


if __name__ == "__main__":
    main()
