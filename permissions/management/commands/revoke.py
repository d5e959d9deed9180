from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from permissions.audit import acting_as, command_actor
from permissions.management.commands._grants import add_grant_arguments, grant_target_from
from permissions.services import revoke_fieldset, revoke_record_access


class Command(BaseCommand):
    help = (
        "Revoke what grant gave (same arguments). Without --application a fieldset is "
        "revoked everywhere: the global grant and every per-application grant."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        add_grant_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        # The grant_change audit record names the operating-system user and this command.
        with acting_as(command_actor("revoke")):
            self._handle(options)

    def _handle(self, options: dict[str, Any]) -> None:
        target = grant_target_from(options)
        principal = {"user": target.user, "group": target.group}
        if target.fieldset_name:
            changed = revoke_fieldset(
                fieldset_name=target.fieldset_name,
                application=target.application,
                partial=target.partial,
                **principal,
            )
        else:
            changed = revoke_record_access(application=target.application, **principal)
        if changed:
            self.stdout.write(f"Revoked {target.what} from {target.principal}.")
        else:
            self.stdout.write(f"Nothing to revoke: {target.principal} did not hold {target.what}.")
        if target.still_effective():
            # Revocation is per grant; say so rather than let the operator assume.
            self.stderr.write(
                f"Note: {target.principal} still has {target.what} through a group or a "
                "global grant."
            )
