"""Load test: C ingest clients and R readers against gunicorn, then an exactly-once check.

    DATABASE_URL=postgres://... .venv/bin/python bench/load.py \
        --ingest-clients 8 --readers 4 --seconds 60 [--pooler postgres://HOST:PORT]

Starts gunicorn on a throwaway database (PostgreSQL when DATABASE_URL points
to one, SQLite otherwise), drives it for a bounded time, prints requests/s
and p50/p95/p99 latency per endpoint with status counts, and checks that
every acknowledged session and action is stored exactly once. The last line
is ``load: PASS`` or ``load: FAIL``.

With ``--pooler``, gunicorn reaches the database through that PgBouncer (in
transaction mode, in front of ``DATABASE_URL``'s server) and runs with
``DATABASE_TRANSACTION_POOLING=true``; migrations and the exactly-once check
connect directly.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
import urllib.parse
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import (
    Sent,
    Stats,
    exactly_once_check,
    gunicorn_server,
    prepare_database,
    production_environment,
    reader_client,
    start_ingest_clients,
)
from throwaway_database import is_postgresql, throwaway_database


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ingest-clients", type=int, default=8)
    parser.add_argument("--readers", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn worker processes")
    parser.add_argument("--pooler", metavar="URL", help="PgBouncer (transaction mode) for gunicorn")
    arguments = parser.parse_args()

    with throwaway_database("rumvault_load") as database_url:
        environment = production_environment(database_url)
        print(f"database: {'PostgreSQL' if is_postgresql(database_url) else 'SQLite'}")
        ingest_token, reader_token = prepare_database(environment)
        server = environment
        if arguments.pooler:
            print(f"gunicorn through PgBouncer at {urllib.parse.urlsplit(arguments.pooler).netloc}")
            server = {
                **environment,
                "DATABASE_URL": through(arguments.pooler, database_url),
                "DATABASE_TRANSACTION_POOLING": "true",
            }
        stats, sent, stop = Stats(), Sent(), threading.Event()
        with gunicorn_server(server, workers=arguments.workers) as port:
            started = time.monotonic()
            threads = start_ingest_clients(
                arguments.ingest_clients,
                port=port,
                token=ingest_token,
                stats=stats,
                sent=sent,
                stop=stop,
            )
            for number in range(arguments.readers):
                reader = threading.Thread(
                    target=reader_client,
                    args=(number,),
                    kwargs={"port": port, "token": reader_token, "stats": stats, "stop": stop},
                )
                reader.start()
                threads.append(reader)
            time.sleep(arguments.seconds)
            stop.set()
            for thread in threads:
                thread.join(timeout=60)
            elapsed = time.monotonic() - started
        print(
            f"{arguments.ingest_clients} ingest clients, {arguments.readers} readers, "
            f"{elapsed:.0f} s, {arguments.workers} gunicorn workers"
        )
        for line in stats.report(elapsed):
            print(line)
        passed, summary = exactly_once_check(sent, environment)
        print(summary)
        errors = sum(
            count
            for endpoint in stats.statuses.values()
            for status, count in endpoint.items()
            if status not in ("200", "503")
        )
        print(f"non-200 answers other than 503: {errors}; batches given up: {sent.gave_up}")
        from django.db import connections

        connections.close_all()
    ok = passed and errors == 0 and sent.gave_up == 0
    print(f"load: {'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


def through(pooler: str, database_url: str) -> str:
    """``database_url`` with the pooler's user, host and port: the same database, pooled."""
    return (
        urllib.parse.urlsplit(database_url)
        ._replace(netloc=urllib.parse.urlsplit(pooler).netloc)
        .geturl()
    )


if __name__ == "__main__":
    sys.exit(main())
