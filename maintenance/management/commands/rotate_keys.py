"""``python manage.py rotate_keys --keyring pseudonym|blind-index|encryption|audit``.

Add the new key to the keyring first (``2:<secret>`` next to ``1:...``), then
run this: it re-keys every stored value to the newest key in batches, while
ingest, reads and searches go on, prints its progress, and ends with what
still uses an older key and whether that key can be removed. Run it again to
resume after an interruption; it continues where it stopped.
"""

from __future__ import annotations

import json
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from jobs.models import Job
from jobs.services import job_start
from maintenance import rotation
from maintenance.jobs import KEY_ROTATION
from maintenance.models import Keyring, KeyRotation
from permissions.audit import operator


class Command(BaseCommand):
    help = "Re-key stored values to a keyring's newest key (online, resumable) and report."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--keyring", required=True, choices=Keyring.values)
        parser.add_argument("--batch-size", type=int, default=rotation.BATCH_SIZE)

    def handle(self, *args: Any, **options: Any) -> None:
        if options["batch_size"] < 1:
            raise CommandError("--batch-size must be at least 1")
        rotation.BATCH_SIZE = options["batch_size"]
        keyring = Keyring(options["keyring"])
        material = rotation.key_material(keyring)
        if len(material.keys) == 1:
            self.stdout.write(
                f"{rotation.SETTING[keyring]} holds one key (id {material.current_id}): add the "
                "new key with a higher id first; values will then be moved to it."
            )
        run = rotation.rotation_start(keyring=keyring, started_by=operator())
        self.stdout.write(
            f"Rotating {rotation.SETTING[keyring]} to key {run.target_key_id} "
            f"(rotation {run.pk}, {run.progress_total} values to look at)."
        )
        started = time.monotonic()
        last_print = [0.0]

        def progress(job: Job) -> None:
            now = time.monotonic()
            if now - last_print[0] >= 2 or job.done >= (job.total or 0):
                last_print[0] = now
                rate = job.done / max(now - started, 1e-6)
                step = job.cursor.get("step", "values") if isinstance(job.cursor, dict) else ""
                self.stdout.write(f"  {job.done}/{job.total} {step} ({rate:.0f}/s)")

        try:
            # A job run here, in this process: its record shows the progress in the admin.
            job_start(
                kind=KEY_ROTATION,
                params={"rotation": run.pk},
                user=operator(),
                run_now=True,
                on_report=progress,
            )
        except rotation.RotationRefused as refused:
            raise CommandError(str(refused)) from None
        run = KeyRotation.objects.get(pk=run.pk)
        seconds = time.monotonic() - started
        self.stdout.write(f"Re-keyed: {json.dumps(run.rekeyed)} in {seconds:.1f} s.")
        report = run.report
        for key_id, uses in report["older_keys"].items():
            verdict = "can be removed now" if uses["can_retire"] else "must stay for now"
            details = {k: v for k, v in uses.items() if k not in ("can_retire", "advice")}
            self.stdout.write(f"Key {key_id}: {verdict}. Still used by: {json.dumps(details)}.")
            if uses.get("advice"):
                self.stdout.write(f"  {uses['advice']}")
        if report["retirable"]:
            self.stdout.write(
                self.style.SUCCESS(
                    f"Remove key(s) {', '.join(report['retirable'])} from "
                    f"{rotation.SETTING[keyring]} and restart."
                )
            )
