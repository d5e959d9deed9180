"""``manage.py drf_create_token USER``: print a new API key for USER, once.

Same name and output as Django REST framework's command ("Generated token
<key> for user <name>"), so scripts keep working; the key is stored only as a
hash (django-rest-knox) and expires after ``RUMVAULT_API_TOKEN_TTL_DAYS``.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from access.services import api_token_create


class Command(BaseCommand):
    help = "Create an API token for a user and print it (shown once; stored hashed)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument(
            "-r",
            "--reset",
            action="store_true",
            help="Revoke every other token of the user first.",
        )

    def handle(self, *args: Any, username: str, reset: bool, **options: Any) -> None:
        user_model = get_user_model()
        try:
            user = user_model._default_manager.get_by_natural_key(username)
        except user_model.DoesNotExist:
            raise CommandError("No such user.") from None
        token, key = api_token_create(user=user, revoke_others=reset)
        expiry = token.expiry.isoformat(timespec="seconds") if token.expiry else "never"
        self.stdout.write(f"Generated token {key} for user {username}, expires {expiry}")
