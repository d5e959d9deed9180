"""``python manage.py beacon_key SLUG [--rotate] [--base-url URL]``: the browser agent's key.

Prints the application's public beacon key and the two tags that load the
agent with it: the loader (recommended: the agent comes after the page's load)
and the agent's own deferred tag; ``--rotate`` replaces the key first (pages still carrying
the old key are refused from then on). The key is public by design, so
printing it again is fine, unlike the ingest token.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from browser_agent.agent import LOADER_HASH, loader_tag, script_tag
from permissions.audit import COMMAND_METHOD, Actor
from sessions_app.applications import application_rotate_beacon_key
from sessions_app.management.commands._privacy_options import operator_name
from sessions_app.models import Application


class Command(BaseCommand):
    help = "Print (or with --rotate, replace) an application's public beacon key."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug")
        parser.add_argument(
            "--rotate", action="store_true", help="replace the key; the old one stops working"
        )
        parser.add_argument(
            "--base-url",
            default="http://127.0.0.1:8000",
            help="where browsers reach rumvault, for the script tag",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            application = Application.objects.get(slug=options["slug"])
        except Application.DoesNotExist:
            raise CommandError(f"no application with slug '{options['slug']}'") from None
        if options["rotate"]:
            actor = Actor(
                username=operator_name(), method=COMMAND_METHOD, path="manage.py beacon_key"
            )
            application_rotate_beacon_key(application=application, actor=actor)
            self.stdout.write(f"Rotated the beacon key of '{application.slug}'.")
        if not application.allowed_origins:
            self.stdout.write(
                "No allowed origins yet: beacons are refused until "
                f"`configure_application {application.slug} --allowed-origins ORIGIN` lists one."
            )
        base_url, key = options["base_url"], application.beacon_key
        self.stdout.write(
            "Loader tag (recommended: the agent is added after the page's load event; "
            f"a Content-Security-Policy allows it with script-src '{LOADER_HASH}'):"
        )
        self.stdout.write(loader_tag(base_url=base_url, key=key))
        self.stdout.write("Or the agent's own tag (also captures requests made before the load):")
        self.stdout.write(script_tag(base_url=base_url, key=key))
        self.stdout.write(key)
