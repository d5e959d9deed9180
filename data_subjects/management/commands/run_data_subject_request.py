"""``python manage.py run_data_subject_request ID``: run or resume an approved request here.

What a worker does with a request (``data_subjects.services.request_run``),
from a shell: it continues from the last committed batch of a request that
failed or whose runner stopped (stalled), and prints its progress.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from data_subjects.models import DataSubjectRequest
from data_subjects.services import NotRunnable, request_run
from permissions.audit import operator


class Command(BaseCommand):
    help = "Run (or resume) an approved data-subject request in this process."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("request_id", type=int)

    def handle(self, *args: Any, **options: Any) -> None:
        def progress(*, done: int, total: int, step: str) -> None:
            self.stdout.write(f"  {done}/{total} {step}")

        try:
            request = request_run(
                request_id=options["request_id"], progress=progress, run_by=operator()
            )
        except DataSubjectRequest.DoesNotExist:
            raise CommandError(f"no request {options['request_id']}") from None
        except NotRunnable as refused:
            raise CommandError(str(refused)) from None
        self.stdout.write(f"Request {request.pk}: {request.status}; done {request.done}")
