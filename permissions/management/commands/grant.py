from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from permissions.audit import acting_as, command_actor
from permissions.management.commands._grants import add_grant_arguments, grant_target_from
from permissions.services import grant_fieldset, grant_record_access


class Command(BaseCommand):
    help = (
        "Grant record access (--application SLUG) or a fieldset (--fieldset NAME "
        "[--application SLUG]; without it: every application) to a user or a group."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        add_grant_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        # The grant_change audit record names the operating-system user and this command.
        with acting_as(command_actor("grant")):
            self._handle(options)

    def _handle(self, options: dict[str, Any]) -> None:
        target = grant_target_from(options)
        principal = {"user": target.user, "group": target.group}
        if target.fieldset_name:
            changed = grant_fieldset(
                fieldset_name=target.fieldset_name, application=target.application, **principal
            )
        else:
            changed = grant_record_access(application=target.application, **principal)
        if changed:
            self.stdout.write(f"Granted {target.what} to {target.principal}.")
        else:
            self.stdout.write(f"{target.principal.capitalize()} already holds {target.what}.")
