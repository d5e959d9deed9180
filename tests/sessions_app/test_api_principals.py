"""/me/, /applications/ and /fieldsets/: who am I and what do I hold, per application."""

from __future__ import annotations

import pytest

from fieldsets.models import Fieldset
from permissions.services import grant_fieldset
from tests.permissions.principals import (
    PRINCIPALS,
    REQUEST_DETAILS,
    REQUEST_DETAILS_FIELDS,
    SENSITIVE,
    World,
    api_client,
    build_world,
)

pytestmark = pytest.mark.django_db

SENSITIVE_FIELDS = {"user_tag", "client_ip", "geo_latitude", "geo_longitude"}

# What revenue and conversion are computed from (a fieldset must hide them too).
PURCHASE_SOURCES = ["actions.product.event", "actions.product.price", "actions.product.quantity"]


@pytest.fixture
def world() -> World:
    return build_world()


@pytest.mark.parametrize("username", PRINCIPALS)
def test_applications_lists_the_readable_ones_with_their_hidden_fields(
    world: World, username: str
) -> None:
    body = api_client(world.users[username]).get("/api/v1/applications/").json()
    assert {app["slug"] for app in body} == world.readable(username)
    for app in body:
        expected = set() if app["slug"] in world.revealed(username) else SENSITIVE_FIELDS
        # Nobody but the superuser holds the request-details fieldset here.
        if username != "root":
            expected |= REQUEST_DETAILS_FIELDS
        assert set(app["hidden_fields"]) == expected


@pytest.mark.parametrize("username", PRINCIPALS)
def test_fieldsets_say_whether_the_caller_holds_each_per_application(
    world: World, username: str
) -> None:
    Fieldset.objects.create(name="shopping", fields=["revenue", "converted", *PURCHASE_SOURCES])
    body = api_client(world.users[username]).get("/api/v1/fieldsets/").json()
    by_name = {fieldset["name"]: fieldset for fieldset in body}
    assert set(by_name) == {SENSITIVE, REQUEST_DETAILS, "shopping"}
    sensitive = by_name[SENSITIVE]
    assert sensitive["builtin"] is True
    assert sensitive["fields"] == ["user_tag", "client_ip", "geo_latitude", "geo_longitude"]
    assert set(sensitive["applications"]) == world.readable(username)
    assert {slug for slug, held in sensitive["applications"].items() if held} == (
        world.revealed(username)
    )
    assert sensitive["all_applications"] is (username in ("globe", "root"))
    assert by_name["shopping"]["applications"] == {
        slug: username == "root" for slug in world.readable(username)
    }


def test_me_reports_grants_united_over_groups_and_global(world: World) -> None:
    member = world.users["member"]
    grant_fieldset(fieldset_name=SENSITIVE, user=member, application=world.apps["vault"])
    me = api_client(member).get("/api/v1/me/").json()
    assert me["username"] == "member"
    assert me["is_superuser"] is False
    assert me["can_view_audit"] is False
    assert me["record_access"] == {"all_applications": False, "applications": ["shop"]}
    # The vault grant is useless without record access to vault: not listed.
    no_partial = {"partial_all_applications": False, "partial_applications": []}
    assert me["fieldsets"] == [
        {"name": REQUEST_DETAILS, "all_applications": False, "applications": [], **no_partial},
        {"name": SENSITIVE, "all_applications": False, "applications": ["shop"], **no_partial},
    ]

    globe = api_client(world.users["globe"]).get("/api/v1/me/").json()
    assert globe["record_access"]["all_applications"] is True
    held = {grant["name"]: grant["all_applications"] for grant in globe["fieldsets"]}
    assert held == {SENSITIVE: True, REQUEST_DETAILS: False}

    root = api_client(world.users["root"]).get("/api/v1/me/").json()
    assert root["is_superuser"] is True
    assert root["can_view_audit"] is True
    assert root["record_access"]["applications"] == ["pseudo", "secret", "shop", "vault"]
