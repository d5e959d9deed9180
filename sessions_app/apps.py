from django.apps import AppConfig


class SessionsAppConfig(AppConfig):
    name = "sessions_app"
    verbose_name = "RUM sessions"

    def ready(self) -> None:
        # Imported here so they load exactly once: the deploy checks register
        # themselves; reads that ask for it run as prepared statements on PostgreSQL.
        from config import checks, prepared  # noqa: F401

        prepared.install()
