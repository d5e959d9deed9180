from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from sessions_app.applications import ApplicationExists, application_create
from sessions_app.management.commands._privacy_options import (
    add_privacy_arguments,
    describe_settings,
    describe_validation_error,
    privacy_settings_from,
)


class Command(BaseCommand):
    help = "Create a monitored application. The last line printed is its ingest token."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug")
        parser.add_argument("--name", required=True)
        add_privacy_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            application, token = application_create(
                slug=options["slug"], name=options["name"], **privacy_settings_from(options)
            )
        except ApplicationExists as error:
            raise CommandError(str(error)) from None
        except ValidationError as error:
            raise CommandError(describe_validation_error(error)) from None
        self.stdout.write(f"Created application '{application.slug}'.")
        self.stdout.write("Privacy settings (value, from):")
        self.stdout.write("\n".join(describe_settings(application)))
        # Public (it goes into the shop's pages); beacons need --allowed-origins too.
        self.stdout.write(f"Beacon key for the rum.js script tag: {application.beacon_key}")
        self.stdout.write("Ingest token (shown only this once; store it now):")
        self.stdout.write(token)
