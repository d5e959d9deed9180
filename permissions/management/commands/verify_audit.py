"""``python manage.py verify_audit``: prove the audit trail unchanged, or say where it breaks.

Exit status 0 when the chain holds, 1 when it does not (each problem is
printed with its position). Also prints the head (position and hash):
writing it down elsewhere from time to time lets you prove later that no
records were rolled back past it.
"""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from permissions.chain import chain_verify


class Command(BaseCommand):
    help = "Verify the audit trail's hash chain, seals, checkpoints and head (exit 1 if broken)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--progress", action="store_true", help="print a line every 5,000 records"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.monotonic()

        def progress(done: int) -> None:
            self.stdout.write(f"... {done} records")

        report = chain_verify(progress=progress if options["progress"] else None)
        seconds = time.monotonic() - started
        span = f"seq {report.first_seq}..{report.last_seq}" if report.records else "no records"
        summary = (
            f"{report.records} records ({span}), head {report.head_hash[:16]}…, {seconds:.1f} s"
        )
        if report.retired_seals:
            summary += f"; {report.retired_seals} sealed with retired keys, anchored by newer seals"
        if report.holds:
            self.stdout.write(self.style.SUCCESS(f"Audit chain holds: {summary}."))
            return
        for problem in report.problems:
            self.stderr.write(f"BROKEN {problem}")
        self.stderr.write(f"Audit chain does NOT hold: {summary}.")
        raise SystemExit(1)
