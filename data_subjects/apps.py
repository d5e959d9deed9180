from __future__ import annotations

from django.apps import AppConfig


class DataSubjectsConfig(AppConfig):
    name = "data_subjects"
    verbose_name = "Data-subject requests"

    def ready(self) -> None:
        # Registers the "data_subject_request" job kind (jobs.kinds).
        from data_subjects import dispatch  # noqa: F401
