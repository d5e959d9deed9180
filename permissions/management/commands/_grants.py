"""Shared arguments and lookups of ``grant`` and ``revoke`` (docs/permissions.md "Granting")."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import CommandError, CommandParser

from fieldsets.models import Fieldset
from permissions.policy import FieldsetPolicy
from sessions_app.models import Application


@dataclass(frozen=True)
class GrantTarget:
    user: Any
    group: Group | None
    application: Application | None
    fieldset_name: str | None
    partial: bool = False

    @property
    def principal(self) -> str:
        return f"user '{self.user.get_username()}'" if self.user else f"group '{self.group}'"

    @property
    def what(self) -> str:
        where = f"'{self.application.slug}'" if self.application else "every application"
        if self.fieldset_name:
            kind = "the partial grant of fieldset" if self.partial else "fieldset"
            return f"{kind} '{self.fieldset_name}' on {where}"
        return f"record access to {where}"

    def still_effective(self) -> bool:
        """For a user: whether a group or global grant still gives what was revoked."""
        if self.user is None:
            return False
        policy = FieldsetPolicy(user=self.user)
        applications = (
            [self.application.pk] if self.application else list(policy.applications.keys())
        )
        if self.fieldset_name is None:
            return any(policy.can_read(app_id) for app_id in applications)
        holds = policy.holds_partially if self.partial else policy.holds
        return any(holds(self.fieldset_name, app_id) for app_id in applications)


def add_grant_arguments(parser: CommandParser) -> None:
    who = parser.add_mutually_exclusive_group(required=True)
    who.add_argument("--user", help="username")
    who.add_argument("--group", help="group name")
    parser.add_argument(
        "--application",
        help="application slug; with --fieldset optional (default: every application)",
    )
    parser.add_argument("--fieldset", help="fieldset name (without it: record access)")
    parser.add_argument(
        "--partial",
        action="store_true",
        help="with --fieldset: the partial grant (its fields in partial forms, e.g. "
        "j***@example.com) instead of the full one",
    )


def grant_target_from(options: dict[str, Any]) -> GrantTarget:
    """Resolve the options, or ``CommandError`` naming what does not exist."""
    if not options["application"] and not options["fieldset"]:
        raise CommandError("give --application SLUG (record access) and/or --fieldset NAME")
    if options.get("partial") and not options["fieldset"]:
        raise CommandError("--partial is a kind of fieldset grant: give --fieldset NAME")
    user = group = application = None
    if options["user"]:
        user_model = get_user_model()
        user = user_model.objects.filter(**{user_model.USERNAME_FIELD: options["user"]}).first()
        if user is None:
            raise CommandError(f"unknown user '{options['user']}'")
    else:
        group = Group.objects.filter(name=options["group"]).first()
        if group is None:
            raise CommandError(f"unknown group '{options['group']}'")
    if options["application"]:
        application = Application.objects.filter(slug=options["application"]).first()
        if application is None:
            raise CommandError(f"unknown application '{options['application']}'")
    if options["fieldset"] and not Fieldset.objects.filter(name=options["fieldset"]).exists():
        names = ", ".join(Fieldset.objects.values_list("name", flat=True))
        raise CommandError(f"unknown fieldset '{options['fieldset']}' (known: {names})")
    return GrantTarget(
        user=user,
        group=group,
        application=application,
        fieldset_name=options["fieldset"],
        partial=bool(options.get("partial")),
    )
