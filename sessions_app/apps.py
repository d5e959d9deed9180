from django.apps import AppConfig


class SessionsAppConfig(AppConfig):
    name = "sessions_app"
    verbose_name = "RUM sessions"

    def ready(self) -> None:
        # Registers the deploy checks; imported here so they load exactly once.
        from config import checks  # noqa: F401
