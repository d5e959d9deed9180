from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from permissions.audit import COMMAND_METHOD, Actor
from sessions_app.applications import application_configure
from sessions_app.management.commands._privacy_options import (
    add_privacy_arguments,
    describe_settings,
    describe_validation_error,
    operator_name,
    privacy_settings_from,
)
from sessions_app.models import Application


class Command(BaseCommand):
    help = (
        "Change an application's privacy settings (applies to data ingested from now on; "
        "`manage.py remask` applies them to stored data). Without options: show them."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug")
        add_privacy_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            application = Application.objects.get(slug=options["slug"])
        except Application.DoesNotExist:
            raise CommandError(f"no application with slug '{options['slug']}'") from None
        privacy_settings = privacy_settings_from(options)
        if not privacy_settings:
            self.stdout.write(f"Privacy settings of '{application.slug}' (value, from):")
            self.stdout.write("\n".join(describe_settings(application)))
            return
        actor = Actor(
            username=operator_name(), method=COMMAND_METHOD, path="manage.py configure_application"
        )
        try:
            application_configure(application=application, actor=actor, **privacy_settings)
        except ValidationError as error:
            raise CommandError(describe_validation_error(error)) from None
        changed = ", ".join(
            f"{name}={'inherit' if value is None else repr(value)}"
            for name, value in privacy_settings.items()
        )
        self.stdout.write(f"Updated application '{application.slug}': {changed}.")
        self.stdout.write("Effective privacy settings (value, from):")
        self.stdout.write("\n".join(describe_settings(application)))
