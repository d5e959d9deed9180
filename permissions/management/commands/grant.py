from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from fieldsets.models import Fieldset
from fieldsets.registry import resolve
from permissions.audit import acting_as, command_actor
from permissions.management.commands._grants import add_grant_arguments, grant_target_from
from permissions.services import grant_fieldset, grant_record_access


class Command(BaseCommand):
    help = (
        "Grant record access (--application SLUG) or a fieldset (--fieldset NAME "
        "[--application SLUG]; without it: every application; --partial: its fields in "
        "partial forms) to a user or a group."
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
                fieldset_name=target.fieldset_name,
                application=target.application,
                partial=target.partial,
                **principal,
            )
        else:
            changed = grant_record_access(application=target.application, **principal)
        if target.partial and not _has_partial_forms(target.fieldset_name or ""):
            self.stderr.write(
                f"Note: no field of fieldset '{target.fieldset_name}' has a partial form; "
                "its fields stay masked under a partial grant."
            )
        if changed:
            self.stdout.write(f"Granted {target.what} to {target.principal}.")
        else:
            self.stdout.write(f"{target.principal.capitalize()} already holds {target.what}.")


def _has_partial_forms(fieldset_name: str) -> bool:
    fields = Fieldset.objects.filter(name=fieldset_name).values_list("fields", flat=True).first()
    paths = [resolve(path) for path in fields or []]
    return any(
        p is not None and p.field is not None and p.key is None and p.field.partial is not None
        for p in paths
    )
