"""``python manage.py remask [--application SLUG] [--dry-run]``: apply the current masking
rules and privacy settings to stored sessions and actions (``masking_rules.remask``).

Runs the ``remask`` job in this process, with a progress bar and the rate. Run it
again after an interruption: it resumes where the interrupted run stopped (once
that run has been silent for RUMVAULT_JOB_STALE_SECONDS). A run of the same
parameters still going elsewhere (started from the admin) is not started twice.
"""

from __future__ import annotations

import getpass
import sys
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from jobs.models import Job, JobState
from jobs.services import job_start
from masking_rules.remask import KIND, RemaskRefused
from sessions_app.models import Application

BAR_WIDTH = 30


class Command(BaseCommand):
    help = (
        "Apply the current masking rules and privacy settings to stored sessions and actions "
        "(never un-masks anything). Resumable; --dry-run only counts."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--application", metavar="SLUG", help="only this application")
        parser.add_argument(
            "--dry-run", action="store_true", help="count what would change, change nothing"
        )
        parser.add_argument(
            "--full",
            action="store_true",
            help="run the built-in masking over everything, also where it ran with the "
            "current settings (after an upgrade that improved the detectors)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        slug = options["application"]
        if slug is not None and not Application.objects.filter(slug=slug).exists():
            raise CommandError(f"no application with slug '{slug}'")
        params = {"application": slug, "dry_run": bool(options["dry_run"])}
        if options["full"]:
            params["full"] = True
        self._last_line = 0.0
        try:
            job = job_start(
                kind=KIND, params=params, user=_operator(), run_now=True, on_report=self._bar
            )
        except RemaskRefused as refused:
            raise CommandError(str(refused)) from None
        if job.state in (JobState.QUEUED, JobState.RUNNING):
            raise CommandError(
                f"a remask with these parameters is already running (job {job.pk}, started by "
                f"{job.started_by}); watch it in the admin (Background jobs)"
            )
        self._bar(job, final=True)
        self._summary(job)

    def _bar(self, job: Job, *, final: bool = False) -> None:
        now = time.monotonic()
        if now - self._last_line < 0.5 and not final:
            return
        self._last_line = now
        total = job.total or 0
        share = job.done / total if total else 1.0
        filled = int(BAR_WIDTH * min(share, 1.0))
        rate = f"{job.rate:,.0f} actions/s" if job.rate else "..."
        line = (
            f"[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {100 * min(share, 1.0):5.1f}% "
            f"{job.done:,}/{total:,} actions  {rate}"
        )
        ending = "\r" if sys.stdout.isatty() and not final else "\n"
        self.stdout.write(line, ending=ending)
        self.stdout.flush()

    def _summary(self, job: Job) -> None:
        counts = dict(job.counts)
        dry_run = counts.pop("dry_run", False)
        verb = "would change" if dry_run else "changed"
        rate = f", {job.rate:,.0f} actions/s" if job.rate else ""
        self.stdout.write(
            f"Re-masking {'(dry run) ' if dry_run else ''}done (job {job.pk}, "
            f"{job.runs} run(s){rate}): {counts.get('sessions', 0):,} sessions and "
            f"{counts.get('actions', 0):,} actions read; {verb} "
            f"{counts.get('sessions_changed', 0):,} sessions and "
            f"{counts.get('actions_changed', 0):,} actions."
        )
        details = {
            name: value
            for name, value in sorted(counts.items())
            if value and name not in ("sessions", "actions", "sessions_changed", "actions_changed")
        }
        for name, value in details.items():
            self.stdout.write(f"  {name}: {value:,} value(s) {verb}")


def _operator() -> str:
    """The operating-system account running the command: the job's and audit's "who"."""
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return "unknown"
