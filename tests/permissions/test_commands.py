"""python manage.py grant / revoke, exactly as README.md and docs/permissions.md write them."""

from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.auth.models import Group, User
from django.core.management import call_command
from django.core.management.base import CommandError

from permissions.policy import FieldsetPolicy
from sessions_app.models import Application
from tests.factories import make_application
from tests.permissions.principals import SENSITIVE, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop() -> Application:
    make_user("agent")
    Group.objects.create(name="helpdesk")
    return make_application("fashion-store")


def run(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def policy(username: str = "agent") -> FieldsetPolicy:
    return FieldsetPolicy(user=User.objects.get(username=username))


def test_grant_and_revoke_record_access(shop: Application) -> None:
    out, _ = run("grant", "--user", "agent", "--application", "fashion-store")
    assert "Granted record access to 'fashion-store' to user 'agent'" in out
    assert policy().can_read(shop.pk)
    out, _ = run("grant", "--user", "agent", "--application", "fashion-store")
    assert "already holds" in out
    out, _ = run("revoke", "--user", "agent", "--application", "fashion-store")
    assert "Revoked" in out
    assert not policy().can_read(shop.pk)
    out, _ = run("revoke", "--user", "agent", "--application", "fashion-store")
    assert "Nothing to revoke" in out


def test_grant_fieldset_for_one_application_and_for_all(shop: Application) -> None:
    other = make_application("other")
    run("grant", "--user", "agent", "--application", "fashion-store")
    run("grant", "--user", "agent", "--application", "other")
    run("grant", "--user", "agent", "--fieldset", SENSITIVE, "--application", "fashion-store")
    assert policy().holds(SENSITIVE, shop.pk)
    assert not policy().holds(SENSITIVE, other.pk)
    out, _ = run("grant", "--user", "agent", "--fieldset", SENSITIVE)
    assert "every application" in out
    assert policy().holds(SENSITIVE, other.pk)
    run("revoke", "--user", "agent", "--fieldset", SENSITIVE)
    assert not policy().holds(SENSITIVE, shop.pk)
    assert not policy().holds(SENSITIVE, other.pk)


def test_group_grants_and_a_note_when_access_remains(shop: Application) -> None:
    User.objects.get(username="agent").groups.add(Group.objects.get(name="helpdesk"))
    run("grant", "--group", "helpdesk", "--application", "fashion-store")
    run("grant", "--user", "agent", "--application", "fashion-store")
    _, err = run("revoke", "--user", "agent", "--application", "fashion-store")
    assert "still has record access" in err
    assert policy().can_read(shop.pk)
    run("revoke", "--group", "helpdesk", "--application", "fashion-store")
    assert not policy().can_read(shop.pk)


@pytest.mark.parametrize("command", ["grant", "revoke"])
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--user", "nobody", "--application", "fashion-store"], "unknown user 'nobody'"),
        (["--group", "nobody", "--application", "fashion-store"], "unknown group 'nobody'"),
        (["--user", "agent", "--application", "nope"], "unknown application 'nope'"),
        (["--user", "agent", "--fieldset", "nope"], "unknown fieldset 'nope'"),
        (["--user", "agent"], "--application"),
    ],
)
def test_clear_errors(shop: Application, command: str, args: list[str], message: str) -> None:
    with pytest.raises(CommandError, match=message):
        run(command, *args)


@pytest.mark.parametrize("command", ["grant", "revoke"])
def test_exactly_one_of_user_or_group(shop: Application, command: str) -> None:
    with pytest.raises(CommandError):
        run(command, "--user", "agent", "--group", "helpdesk", "--application", "fashion-store")
    with pytest.raises(CommandError):
        run(command, "--application", "fashion-store")
