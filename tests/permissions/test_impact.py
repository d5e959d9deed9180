"""Impact preview of fieldset changes, and the audited services that make them."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from django.core.exceptions import ValidationError

from fieldsets.models import BUILTIN_FIELDSETS, Fieldset, ReadOnlyFieldset
from permissions.audit import Actor
from permissions.impact import FieldsetImpact, fieldset_impact
from permissions.models import AuditKind, AuditRecord
from permissions.policy import FieldsetPolicy
from permissions.selectors import Principal
from permissions.services import (
    FieldsetExists,
    fieldset_create,
    fieldset_delete,
    fieldset_update,
    grant_fieldset,
    grant_record_access,
)
from tests.factories import make_application
from tests.permissions.principals import SENSITIVE, World, build_world, make_user

pytestmark = pytest.mark.django_db

ACTOR = Actor(username="officer", method="POST", path="/api/v1/fieldsets/")


@pytest.fixture
def world() -> World:
    return build_world()


def _by_principal(rows: list[FieldsetImpact]) -> dict[tuple[str, str], dict[str | None, Any]]:
    table: dict[tuple[str, str], dict[str | None, Any]] = {}
    for row in rows:
        table.setdefault((row.principal.kind, row.principal.name), {})[row.application] = (
            row.lost,
            row.gained,
        )
    return table


def test_a_new_fieldset_hides_its_fields_from_everyone_but_superusers(world: World) -> None:
    # The privacy officer holds every fieldset there is, everywhere: not the new one.
    officer = make_user("officer")
    grant_record_access(user=officer)
    for name in BUILTIN_FIELDSETS:
        grant_fieldset(fieldset_name=name, user=officer)
    city = (("city",), ())
    assert _by_principal(fieldset_impact(name="geo", fields=["city"])) == {
        ("user", "agent"): {"pseudo": city, "shop": city, "vault": city},
        ("user", "globe"): {None: city},  # reads every application, alike in each
        ("user", "lead"): {"pseudo": city, "shop": city, "vault": city},
        ("user", "member"): {"shop": city},  # through the group
        ("user", "officer"): {None: city},
        ("group", "helpdesk"): {"shop": city},
    }  # root, a superuser, is not listed: nothing changes for it
    assert not Fieldset.objects.filter(name="geo").exists()  # a preview stores nothing


def test_the_preview_is_what_the_policy_does_once_saved(world: World) -> None:
    rows = fieldset_impact(name="geo", fields=["city", "country"])
    before = {u: FieldsetPolicy(user=world.users[u]).hidden_fields for u in ("agent", "lead")}
    hidden_before = {u: {a: before[u](world.apps[a].pk) for a in ("shop", "vault")} for u in before}
    Fieldset.objects.create(name="geo", fields=["city", "country"])
    for row in rows:
        if row.principal.kind != "user" or row.principal.name not in before:
            continue
        assert row.application is not None
        after = FieldsetPolicy(user=world.users[row.principal.name]).hidden_fields(
            world.apps[row.application].pk
        )
        old = hidden_before[row.principal.name].get(row.application)
        if old is not None:
            assert set(row.lost) == after - old
            assert set(row.gained) == old - after


def test_changing_a_fieldset_names_only_what_changes_for_each(world: World) -> None:
    Fieldset.objects.create(name="geo", fields=["city"])
    grant_fieldset(fieldset_name="geo", user=world.users["lead"], application=world.apps["shop"])
    table = _by_principal(fieldset_impact(name="geo", fields=["city", "country"]))
    country = (("country",), ())
    # lead holds geo on shop: there it sees country still; elsewhere it loses it.
    assert table[("user", "lead")] == {"pseudo": country, "vault": country}
    assert table[("user", "agent")] == {"pseudo": country, "shop": country, "vault": country}
    assert table[("user", "globe")] == {None: country}


def test_removing_a_field_or_the_fieldset_reveals_it_unless_another_hides_it(
    world: World,
) -> None:
    Fieldset.objects.create(name="geo", fields=["city", "country", "client_ip"])
    removed = _by_principal(fieldset_impact(name="geo", fields=["city"]))
    # client_ip stays hidden by the built-in fieldset from whoever lacks it there.
    assert removed[("user", "agent")]["shop"] == ((), ("country",))
    assert removed[("user", "lead")]["shop"] == ((), ("client_ip", "country"))
    deleted = _by_principal(fieldset_impact(name="geo", fields=None))
    assert deleted[("user", "agent")]["shop"] == ((), ("city", "country"))
    assert deleted[("user", "globe")] == {None: ((), ("city", "client_ip", "country"))}


def test_derived_fields_drag_their_sources_along(world: World) -> None:
    fields = [
        "revenue",
        "actions.product.event",
        "actions.product.price",
        "actions.product.quantity",
    ]
    table = _by_principal(fieldset_impact(name="shopping", fields=fields))
    assert table[("user", "globe")] == {None: (tuple(sorted(fields)), ())}


def test_no_change_no_impact(world: World) -> None:
    assert fieldset_impact(name=SENSITIVE, fields=list(BUILTIN_FIELDSETS[SENSITIVE][1])) == []
    Fieldset.objects.create(name="geo", fields=["city"])
    assert fieldset_impact(name="geo", fields=["city"]) == []


def test_principals_without_record_access_or_inactive_are_not_listed(world: World) -> None:
    make_user("nobody")  # no grant at all
    idle = make_user("idle")
    grant_record_access(user=idle)
    idle.is_active = False
    idle.save()
    names = {row.principal for row in fieldset_impact(name="geo", fields=["city"])}
    assert Principal("user", "nobody") not in names
    assert Principal("user", "idle") not in names


def test_queries_do_not_grow_with_principals(django_assert_num_queries: Any) -> None:
    shop = make_application("shop")
    for number in range(3):
        group = Group.objects.create(name=f"team-{number}")
        grant_record_access(group=group, application=shop)
    groups = list(Group.objects.all())

    def add_users(count: int, start: int) -> None:
        for number in range(start, start + count):
            user = User.objects.create_user(f"user-{number}")
            user.groups.add(groups[number % 3])
            grant_fieldset(fieldset_name=SENSITIVE, user=user, application=shop)

    add_users(3, 0)
    with django_assert_num_queries(8) as few:
        assert len(fieldset_impact(name="geo", fields=["city"])) == 6
    add_users(30, 3)
    with django_assert_num_queries(len(few.captured_queries)):
        assert len(fieldset_impact(name="geo", fields=["city"])) == 36


# --- services ------------------------------------------------------------------------


def test_create_update_delete_are_audited_with_before_and_after() -> None:
    fieldset_create(actor=ACTOR, name="geo", fields=["city"], description="Where")
    fieldset_update(actor=ACTOR, name="geo", fields=["city", "country"])
    fieldset_update(actor=ACTOR, name="geo", fields=["city", "country"])  # no change, no record
    fieldset_delete(actor=ACTOR, name="geo")
    records = AuditRecord.objects.filter(kind=AuditKind.FIELDSET_CHANGE).order_by("id")
    where = {"fields": ["city"], "description": "Where"}
    wider = {"fields": ["city", "country"], "description": "Where"}
    assert [(r.fieldsets, r.changes) for r in records] == [
        (["geo"], {"action": "create", "fieldset": "geo", "before": None, "after": where}),
        (["geo"], {"action": "change", "fieldset": "geo", "before": where, "after": wider}),
        (["geo"], {"action": "delete", "fieldset": "geo", "before": wider, "after": None}),
    ]
    assert {(r.username, r.method, r.path) for r in records} == {
        ("officer", "POST", "/api/v1/fieldsets/")
    }
    assert not Fieldset.objects.filter(name="geo").exists()


def test_services_refuse_what_the_model_refuses() -> None:
    fieldset_create(actor=ACTOR, name="geo", fields=["city"])
    with pytest.raises(FieldsetExists):
        fieldset_create(actor=ACTOR, name="geo", fields=["country"])
    with pytest.raises(ValidationError):
        fieldset_create(actor=ACTOR, name="outcome", fields=["revenue"])  # sources missing
    with pytest.raises(ReadOnlyFieldset):
        fieldset_update(actor=ACTOR, name=SENSITIVE, fields=["city"])
    with pytest.raises(ReadOnlyFieldset):
        fieldset_delete(actor=ACTOR, name=SENSITIVE)
    assert AuditRecord.objects.filter(kind=AuditKind.FIELDSET_CHANGE).count() == 1
