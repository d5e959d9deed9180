"""Grant, permission, membership and fieldset changes are audited, whichever door they use."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, Permission, User
from django.core.management import call_command
from django.test import Client

from fieldsets.models import Fieldset
from permissions.models import AuditRecord
from tests.factories import make_application

pytestmark = pytest.mark.django_db


def _changes(kind: str = "grant_change") -> list[dict[str, object]]:
    return [r.changes for r in AuditRecord.objects.filter(kind=kind).order_by("seq")]


def test_grant_and_revoke_commands_are_audited_with_the_operator() -> None:
    make_application("shop")
    User.objects.create_user("lead")
    assert _changes() == []  # creating a plain user is no grant change

    call_command("grant", "--user", "lead", "--application", "shop", stdout=None)
    call_command("revoke", "--user", "lead", "--application", "shop", stdout=None)

    records = list(AuditRecord.objects.filter(kind="grant_change").order_by("seq"))
    assert [r.changes["action"] for r in records] == ["grant", "revoke"]
    assert records[0].changes == {
        "action": "grant",
        "user": "lead",
        "permission": "sessions_app.read_sessions",
        "application": "shop",
    }
    assert (records[0].method, records[0].path) == ("COMMAND", "manage.py grant")
    assert records[1].path == "manage.py revoke"
    assert records[0].applications == ["shop"]


def test_admin_changes_of_permissions_and_memberships_name_the_admin() -> None:
    root = User.objects.create_superuser("root", password="pw-not-used-12345")
    group = Group.objects.create(name="help-desk")
    agent = User.objects.create_user("agent")
    audit = Permission.objects.get(codename="view_auditrecord")
    client = Client()
    client.force_login(root)

    response = client.post(
        f"/admin/auth/group/{group.pk}/change/",
        {"name": "help-desk", "permissions": [audit.pk]},
    )
    assert response.status_code == 302
    agent.groups.add(group)

    changes = _changes()
    assert {"action": "grant", "group": "help-desk", "permission": "permissions.view_auditrecord",
            "application": None} in changes  # fmt: skip
    assert {
        "action": "grant",
        "user": "agent",
        "group": "help-desk",
        "application": None,
    } in changes
    admin_record = AuditRecord.objects.filter(kind="grant_change", path__startswith="/admin/").get()
    assert (admin_record.username, admin_record.method) == ("root", "POST")


def test_superuser_flags_and_fieldsets_are_recorded_before_and_after() -> None:
    user = User.objects.create_user("someone")
    user.is_superuser = True
    user.save()
    fieldset = Fieldset.objects.create(name="loyalty", fields=["properties.loyalty_tier"])
    fieldset.fields = ["properties.loyalty_tier", "city"]
    fieldset.save()
    fieldset.delete()

    assert {"action": "flags", "user": "someone", "before": {"is_superuser": False},
            "after": {"is_superuser": True}} in _changes()  # fmt: skip
    actions = [(c["action"], c["after"]) for c in _changes("fieldset_change")]
    assert actions == [
        ("create", {"fields": ["properties.loyalty_tier"], "description": ""}),
        ("change", {"fields": ["properties.loyalty_tier", "city"], "description": ""}),
        ("delete", None),
    ]
