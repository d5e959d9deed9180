"""Fault test: PostgreSQL goes away under ingest load, then comes back.

    .venv/bin/python bench/fault.py [--clients 4] [--outage 10]

Starts its own throwaway PostgreSQL cluster (``.ci/postgres.sh``, on a port
of its own), gunicorn on it, and C ingest clients that retry on 503 and on
dropped connections. After a warm-up it stops PostgreSQL for ``--outage``
seconds, then starts it again and lets the clients finish. Checks:

* during the outage ingest answers ``503`` with ``Retry-After``, each answer
  within a few seconds (no hang), and never a ``500``;
* afterwards the retried beacons land: every acknowledged session and action
  is stored exactly once.

The last line is ``fault: PASS`` or ``fault: FAIL``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import (
    PROJECT,
    Sent,
    Stats,
    exactly_once_check,
    free_port,
    gunicorn_server,
    prepare_database,
    production_environment,
    start_ingest_clients,
)

MAX_OUTAGE_ANSWER_MS = 5000


def cluster(action: str, environment: dict[str, str]) -> None:
    subprocess.run(
        ["bash", "-c", f"source .ci/postgres.sh && {action}"],
        cwd=PROJECT,
        env=environment,
        check=True,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--warm-up", type=float, default=5)
    parser.add_argument("--outage", type=float, default=10)
    parser.add_argument("--recovery", type=float, default=10)
    arguments = parser.parse_args()

    port = free_port()
    directory = tempfile.mkdtemp(prefix="rumvault-fault-")
    cluster_environment = {**os.environ, "POSTGRES_DIR": directory, "POSTGRES_PORT": str(port)}
    cluster("postgres_start", cluster_environment)
    try:
        environment = production_environment(f"postgres://rumvault@127.0.0.1:{port}/rumvault")
        ingest_token, _ = prepare_database(environment)
        stats, sent, stop = Stats(), Sent(), threading.Event()
        with gunicorn_server(environment, workers=2) as server_port:
            threads = start_ingest_clients(
                arguments.clients,
                port=server_port,
                token=ingest_token,
                stats=stats,
                sent=sent,
                stop=stop,
            )
            time.sleep(arguments.warm_up)
            print(f"stopping PostgreSQL for {arguments.outage:.0f} s")
            outage_started = time.monotonic()
            cluster("postgres_pause", cluster_environment)
            time.sleep(arguments.outage)
            cluster("postgres_resume", cluster_environment)
            outage_ended = time.monotonic()
            print("PostgreSQL is back")
            time.sleep(arguments.recovery)
            stop.set()
            for thread in threads:
                thread.join(timeout=120)
        during = [event for event in stats.events if outage_started <= event[0] <= outage_ended]
        unavailable = [event for event in during if event[2] == "503"]
        server_errors = [
            event for event in stats.events if event[2].startswith("5") and event[2] != "503"
        ]
        slowest = max((event[3] for event in during), default=0.0)
        without_retry_after = [event for event in unavailable if not event[4]]
        print(
            f"during the outage: {len(during)} answers, {len(unavailable)} x 503, "
            f"slowest {slowest:.0f} ms, {len(without_retry_after)} without Retry-After"
        )
        print(f"5xx other than 503 over the whole run: {len(server_errors)}")
        for line in stats.report(time.monotonic() - outage_started + arguments.warm_up):
            print(line)
        passed, summary = exactly_once_check(sent, environment)
        print(summary)
        from django.db import connections

        connections.close_all()
    finally:
        cluster("postgres_stop", cluster_environment)
    ok = (
        passed
        and unavailable
        and not without_retry_after
        and not server_errors
        and slowest <= MAX_OUTAGE_ANSWER_MS
        and sent.gave_up == 0
    )
    print(f"fault: {'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
