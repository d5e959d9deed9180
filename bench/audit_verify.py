"""How long ``manage.py verify_audit`` takes for a large audit trail.

    DATABASE_URL=postgres://USER@HOST:PORT/DB .venv/bin/python bench/audit_verify.py \
        [--records 1000000]

Runs in a throwaway database (``rumvault_bench_audit`` on the PostgreSQL server
of ``DATABASE_URL``, or a temporary SQLite file). Appends ``--records`` audit
records through the chain (``permissions.chain.chain_append_many``, in batches
of 10,000: hashed and sealed exactly as single writes are) shaped like the
trail's common records (reveals of a page of sessions, searches), then times
``verify_audit`` twice and prints records/s.
"""

from __future__ import annotations

import argparse
import io
import time
from datetime import UTC, datetime, timedelta

from throwaway_database import in_process_database

BENCH_DATABASE = "rumvault_bench_audit"
BATCH = 10_000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    options = parser.parse_args()
    with in_process_database(BENCH_DATABASE) as postgres:
        print(f"database: {'PostgreSQL' if postgres else 'SQLite'}")
        run(options.records)


def run(total: int) -> None:
    from django.core.management import call_command
    from django.db import connection

    from permissions.chain import chain_append_many
    from permissions.models import AuditRecord

    start = datetime(2026, 1, 1, tzinfo=UTC)
    started = time.perf_counter()
    for first in range(0, total, BATCH):
        batch = []
        for number in range(first, min(first + BATCH, total)):
            search = number % 5 == 0
            batch.append(
                AuditRecord(
                    created_at=start + timedelta(seconds=number),
                    username=f"agent{number % 40}",
                    kind="search" if search else "reveal",
                    method="POST" if search else "GET",
                    path="/api/v1/sessions/search/" if search else "/api/v1/sessions/",
                    applications=["fashion-store", "fashion-store-app"],
                    session_ids=list(range(number, number + (5 if search else 50))),
                    fieldsets=[] if search else ["builtin-sensitive-user-events-and-sessions"],
                    search_tag_hash=f"as_{number:064x}" if search else None,
                )
            )
        chain_append_many(batch)
    print(f"appended {total} records in {time.perf_counter() - started:.0f} s")
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE permissions_auditrecord")
    for attempt in (1, 2):
        out = io.StringIO()
        started = time.perf_counter()
        call_command("verify_audit", stdout=out)
        seconds = time.perf_counter() - started
        print(f"verify_audit #{attempt}: {seconds:.1f} s = {total / seconds:,.0f} records/s; "
              f"{out.getvalue().strip()}")  # fmt: skip


if __name__ == "__main__":
    main()
