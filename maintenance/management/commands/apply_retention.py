"""``python manage.py apply_retention [--dry-run]``: one retention run (run it daily).

Drops whole months of actions and log records past every application's
retention (PostgreSQL), deletes sessions past their application's retention
(and log records), audit records past
``RUMVAULT_AUDIT_RETENTION_DAYS`` (behind a sealed checkpoint: the trail still
verifies), forgotten audit subjects and expired data-subject exports, and
records the run (``maintenance.RetentionRun``, an audit record).
"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from maintenance.retention import retention_run
from permissions.audit import operator


class Command(BaseCommand):
    help = "Delete data past its retention (sessions, audit records, exports) and record it."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="only count")

    def handle(self, *args: Any, **options: Any) -> None:
        run = retention_run(started_by=operator(), dry_run=options["dry_run"])
        verb = "would delete" if options["dry_run"] else "deleted"
        for slug, count in run.deleted["sessions"].items():
            self.stdout.write(f"{slug}: {verb} {count} expired session(s)")
        for name in run.deleted["partitions"]:
            self.stdout.write(f"{verb} partition {name}")
        for name in ("audit_records", "audit_subjects", "exports"):
            self.stdout.write(f"{name}: {verb} {run.deleted[name]}")
        self.stdout.write(f"Run {run.pk}: {json.dumps(run.deleted)}")
