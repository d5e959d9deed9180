"""Cached principal snapshots: true while the policy generation stands, and only then.

Every write to a table the snapshot reads starts a new generation, whoever
writes (these tests write with raw SQL, past the ORM's signals), so a
revocation still takes effect on the next request.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group, Permission, User
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from fieldsets.models import BUILTIN_SENSITIVE, Fieldset, reveal_permission
from permissions import generation
from permissions.models import (
    ApplicationGroupObjectPermission,
    ApplicationUserObjectPermission,
    PolicyGeneration,
    RevealWindow,
)
from permissions.policy import FieldsetPolicy
from permissions.selectors import _snapshot_sql, principal_snapshot, snapshot_tables
from permissions.services import grant_fieldset, grant_record_access
from sessions_app.models import Application
from tests.factories import make_application, stored_session
from tests.permissions.principals import api_client, make_user, reader

pytestmark = pytest.mark.django_db

HELD_TABLE = Fieldset._meta.db_table  # read only when the snapshot is read whole


def _value() -> int:
    return PolicyGeneration.objects.get(pk=1).value


def _raw(sql: str, params: list[object] | None = None) -> None:
    # Raw SQL: no ORM signal tells this process; only the triggers can. The
    # statements name tables from the models' _meta.
    with connection.cursor() as cursor:
        cursor.execute(sql, params or [])


def _read_whole(queries: CaptureQueriesContext) -> bool:
    return any(HELD_TABLE in query["sql"] for query in queries.captured_queries)


@pytest.fixture
def broken_trigger() -> Iterator[str]:
    """One watched table without its trigger, as after a SQLite table rebuild."""
    table = Application._meta.db_table
    if connection.vendor == "postgresql":
        _raw(f'DROP TRIGGER {generation.TRIGGER} ON "{table}"')
    else:
        _raw(f'DROP TRIGGER "{generation.TRIGGER}_{table}_update"')
    generation.forget(connection)
    yield table
    generation.install(connection, snapshot_tables())


def test_every_table_the_snapshot_reads_is_watched() -> None:
    sql = _snapshot_sql(with_grants=True, with_windows=False)
    named = set(re.findall(r'(?:FROM|JOIN) "?(\w+)"?', sql))
    assert named == {*snapshot_tables(), PolicyGeneration._meta.db_table}
    assert generation.installed(connection, snapshot_tables())


@pytest.mark.parametrize(
    "model",
    [
        Fieldset,
        Application,
        Permission,
        ApplicationUserObjectPermission,
        ApplicationGroupObjectPermission,
        Group.permissions.through,
        User.user_permissions.through,
        User.groups.through,
    ],
    ids=lambda model: model._meta.db_table,
)
def test_a_raw_write_to_a_watched_table_starts_a_new_generation(model: type) -> None:
    shop = make_application("shop")
    group = Group.objects.create(name="team")
    grant_record_access(group=group, application=shop)
    ann = make_user("ann", groups=(group,))
    grant_record_access(user=ann, application=shop)
    group.permissions.add(Permission.objects.first())
    ann.user_permissions.add(Permission.objects.first())
    table = model._meta.db_table
    assert model.objects.exists(), table
    before = _value()
    _raw(f'UPDATE "{table}" SET id = id')  # noqa: S608
    assert _value() != before


def test_a_raw_revocation_takes_effect_on_the_next_request() -> None:
    shop = make_application("shop")
    stored_session(shop)
    ann = reader("ann", applications=(shop,))
    client = api_client(ann)
    assert len(client.get("/api/v1/sessions/").json()["results"]) == 1
    with CaptureQueriesContext(connection) as queries:
        assert len(client.get("/api/v1/sessions/").json()["results"]) == 1
    assert not _read_whole(queries), "the second request uses the cached snapshot"

    _raw(f'DELETE FROM "{ApplicationUserObjectPermission._meta.db_table}"')  # noqa: S608

    with CaptureQueriesContext(connection) as queries:
        assert client.get("/api/v1/sessions/").json()["results"] == []
    assert _read_whole(queries), "a new generation: the snapshot is read again"


def test_a_raw_fieldset_revocation_masks_the_field_on_the_next_request() -> None:
    # Masking plans are kept with the cached snapshot: they go with it.
    shop = make_application("shop")
    stored_session(shop, user_tag="jane@example.com")
    lead = reader("lead", applications=(shop,))
    grant_fieldset(fieldset_name=BUILTIN_SENSITIVE, user=lead, application=shop)
    client = api_client(lead)
    for _ in range(2):  # the second request masks with what the first one planned
        assert client.get("/api/v1/sessions/").json()["results"][0]["user_tag"] == (
            "jane@example.com"
        )

    _raw(
        f'DELETE FROM "{ApplicationUserObjectPermission._meta.db_table}"'  # noqa: S608
        " WHERE permission_id = %s",
        [reveal_permission(BUILTIN_SENSITIVE).pk],
    )

    row = client.get("/api/v1/sessions/").json()["results"][0]
    assert row["user_tag"] is None
    assert "user_tag" in row["masked_fields"]


def test_a_grant_made_in_a_rolled_back_transaction_never_comes_back() -> None:
    shop = make_application("shop")
    ann = make_user("ann")
    assert not FieldsetPolicy(user=ann).can_read(shop.pk)

    def grant_and_roll_back() -> None:
        with transaction.atomic():
            grant_record_access(user=ann, application=shop)
            assert FieldsetPolicy(user=ann).can_read(shop.pk)  # cached inside the transaction
            raise RuntimeError("rolled back")

    with pytest.raises(RuntimeError):
        grant_and_roll_back()
    assert not FieldsetPolicy(user=ann).can_read(shop.pk)
    # Unrelated changes afterwards do not bring the rolled-back state back either.
    _raw(f'UPDATE "{Application._meta.db_table}" SET name = name')  # noqa: S608
    assert not FieldsetPolicy(user=ann).can_read(shop.pk)


def test_reveal_windows_are_read_on_every_request() -> None:
    shop = make_application("shop", reveal_requires_reason=True)
    session = stored_session(shop)
    lead = reader("lead", applications=(shop,))
    grant_fieldset(fieldset_name=BUILTIN_SENSITIVE, user=lead, application=shop)
    assert principal_snapshot(user=lead).windows == {}
    window = RevealWindow.objects.create(
        user=lead,
        application=shop,
        session_pk=session.pk,
        reason="ticket 4711",
        expires_at=timezone.now() + timedelta(minutes=5),
    )
    assert principal_snapshot(user=lead).windows == {session.pk: (shop.pk, "ticket 4711")}
    _raw(
        f'UPDATE "{RevealWindow._meta.db_table}" SET expires_at = %s WHERE id = %s',  # noqa: S608
        [timezone.now() - timedelta(seconds=1), window.pk],
    )
    assert principal_snapshot(user=lead).windows == {}


def test_without_every_trigger_nothing_is_cached(broken_trigger: str) -> None:
    shop = make_application("shop")
    ann = reader("ann", applications=(shop,))
    assert not generation.ready(connection, snapshot_tables())
    for _ in range(2):
        with CaptureQueriesContext(connection) as queries:
            assert FieldsetPolicy(user=ann).can_read(shop.pk)
        assert _read_whole(queries)
    # The unwatched write that a cache would have missed is seen.
    _raw(f'DELETE FROM "{ApplicationUserObjectPermission._meta.db_table}"')  # noqa: S608
    assert not FieldsetPolicy(user=ann).can_read(shop.pk)


def test_migrate_puts_missing_triggers_back(broken_trigger: str) -> None:
    from django.core.management import call_command

    assert not generation.installed(connection, snapshot_tables())
    call_command("migrate", "permissions", verbosity=0)
    assert generation.installed(connection, snapshot_tables())
    assert generation.ready(connection, snapshot_tables())
