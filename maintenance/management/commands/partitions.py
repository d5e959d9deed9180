"""``python manage.py partitions [--months-ahead N]``: the monthly partitions (PostgreSQL).

Creates the partitions of actions and log records from the current month to N
months ahead (default ``RUMVAULT_PARTITION_MONTHS_AHEAD``), gives rows that
fell into a table's default partition a month of their own if an application
still keeps them, and lists each table's months and what its default partition
holds. A daily schedule does the same (``maintenance.partitions.partitions_daily``).
On SQLite the tables are plain: it says so and does nothing.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import connection

from maintenance.partitions import TABLES, default_rows, partitions, partitions_ahead


class Command(BaseCommand):
    help = "Create the monthly partitions of actions and log records ahead, and list them."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--months-ahead", type=int, default=None, metavar="N")

    def handle(self, *args: Any, **options: Any) -> None:
        created = partitions_ahead(months_ahead=options["months_ahead"])
        for spec in TABLES:
            months = [p for p in partitions(connection, spec) if p.start is not None]
            if not months:
                self.stdout.write(f"{spec.table}: not partitioned")
                continue
            for name in created[spec.label]:
                self.stdout.write(f"{spec.table}: created {name}")
            first, last = months[0].start, months[-1].start
            self.stdout.write(
                f"{spec.table}: {len(months)} month(s), {first:%Y-%m} to {last:%Y-%m};"
                f" {default_rows(connection, spec)} row(s) in the default partition"
            )
