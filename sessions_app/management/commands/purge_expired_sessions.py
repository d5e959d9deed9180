from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from logs.retention import logs_purge_expired
from maintenance.partitions import drop_expired_partitions
from sessions_app.retention import sessions_purge_expired


class Command(BaseCommand):
    help = "Delete sessions and log records older than their application's retention_days."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--dry-run", action="store_true", help="only count what would be deleted"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        verb = "would delete" if options["dry_run"] else "deleted"
        # PostgreSQL: whole months of actions and log records first (maintenance.partitions).
        dropped = drop_expired_partitions(now=timezone.now(), dry_run=options["dry_run"])
        for months in dropped.values():
            for partition in months:
                rows = ", ".join(f"{slug} {n}" for slug, n in sorted(partition.rows.items()))
                self.stdout.write(
                    f"{verb} partition {partition.name}" + (f" ({rows})" if rows else "")
                )
        counts = sessions_purge_expired(dry_run=options["dry_run"])
        for slug, count in counts.items():
            self.stdout.write(f"{slug}: {verb} {count} expired session(s)")
        for slug, count in logs_purge_expired(dry_run=options["dry_run"]).items():
            self.stdout.write(f"{slug}: {verb} {count} expired log record(s)")
