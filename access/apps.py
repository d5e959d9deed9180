from django.apps import AppConfig


class AccessConfig(AppConfig):
    """Who gets in, and how often: hashed API tokens and rate limits."""

    name = "access"
    verbose_name = "API tokens and rate limits"
