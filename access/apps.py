from django.apps import AppConfig


class AccessConfig(AppConfig):
    """Who gets in, and how often: hashed API tokens and rate limits."""

    name = "access"
    verbose_name = "API tokens and rate limits"

    def ready(self) -> None:
        from access import schema  # noqa: F401 (registers the OpenAPI extension)
