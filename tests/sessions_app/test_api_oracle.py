"""Oracle-proofing: no filter, ordering, search or error message leaks a hidden field.

Rules (docs/permissions.md): a parameter touching a fieldset field the caller
cannot see in any requested application is a 403 naming the field; otherwise
an unknown parameter is a 400 listing the allowed ones; a user tag in a URL is
a 400 pointing to the search endpoint. The exact search is the one allowed
lookup on the user tag.
"""

from __future__ import annotations

import logging

import pytest

from fieldsets.models import Fieldset
from fieldsets.registry import closure
from permissions.services import grant_fieldset
from tests.permissions.principals import JANE, World, api_client, build_world

pytestmark = pytest.mark.django_db

LIST = "/api/v1/sessions/"
SEARCH = "/api/v1/sessions/search/"
# A tag that appears nowhere in the data, so finding it in a response means echo.
MARKER = "Secret.Person@Example.org"


@pytest.fixture
def world() -> World:
    return build_world()


def get(world: World, username: str, query: str, path: str = LIST) -> tuple[int, dict]:
    response = api_client(world.users[username]).get(
        f"{path}?{query}", HTTP_ACCEPT="application/json"
    )
    assert MARKER.lower() not in response.content.decode().lower()
    return response.status_code, response.json()


def search(world: World, username: str, body: object, query: str = "") -> tuple[int, dict]:
    response = api_client(world.users[username]).post(f"{SEARCH}?{query}", body, format="json")
    assert MARKER.lower() not in response.content.decode().lower()
    return response.status_code, response.json()


@pytest.mark.parametrize(
    ("query", "field_name"),
    [
        ("ordering=user_tag", "user_tag"),
        ("ordering=-client_ip", "client_ip"),
        ("client_ip=203.0.113.0", "client_ip"),
        ("client_ip__startswith=203", "client_ip"),
        ("geo_latitude__gt=40", "geo_latitude"),
        ("geo_longitude=16.4", "geo_longitude"),
    ],
)
def test_lookups_on_hidden_fields_are_403_naming_the_field(
    world: World, query: str, field_name: str
) -> None:
    status, body = get(world, "agent", query)
    assert status == 403
    assert body["field"] == field_name
    assert field_name in body["detail"]


@pytest.mark.parametrize(
    "query",
    [
        "user_tag=jane.doe%40example.com",
        "user_tag__startswith=jane",
        "user_tag__iexact=jane.doe%40example.com",
        f"user_tag={MARKER}",
    ],
)
@pytest.mark.parametrize("username", ["agent", "root"])
def test_a_user_tag_in_the_url_is_400_pointing_to_search(
    world: World, username: str, query: str
) -> None:
    status, body = get(world, username, query)
    assert status == 400
    assert body["search"] == SEARCH
    assert "POST /api/v1/sessions/search/" in body["detail"]


@pytest.mark.parametrize("path", ["/api/v1/sessions/search/", "detail"])
def test_a_user_tag_in_the_url_of_search_or_detail_is_400_too(world: World, path: str) -> None:
    if path == "detail":
        path = f"/api/v1/sessions/{world.sessions['shop'].pk}/"
        status, body = get(world, "root", f"user_tag={MARKER}", path)
    else:
        status, body = search(world, "root", {"user_tag": JANE}, query=f"user_tag={MARKER}")
    assert status == 400
    assert body["search"] == SEARCH


@pytest.mark.parametrize("username", ["agent", "root"])
@pytest.mark.parametrize("query", ["search=jane", "q=jane", "name=x", "id=1", "ordering_x=1"])
def test_unknown_parameters_are_400_listing_the_allowed_ones(
    world: World, username: str, query: str
) -> None:
    status, body = get(world, username, query)
    assert status == 400
    assert "application" in body["allowed"]
    assert "page_size" in body["allowed"]
    assert "user_tag" not in body["allowed"]


def test_a_visible_field_that_is_no_filter_is_merely_unknown(world: World) -> None:
    assert get(world, "root", "client_ip=203.0.113.0")[0] == 400
    assert get(world, "root", "ordering=user_tag")[0] == 400
    assert get(world, "agent", "ordering=city")[0] == 400


def test_a_field_hidden_in_one_requested_application_refuses_the_whole_lookup(
    world: World,
) -> None:
    # lead sees client_ip in shop but not in vault: across both it is a 403, never
    # an answer computed from shop alone.
    assert get(world, "lead", "client_ip=1")[0] == 403
    assert get(world, "lead", "application=shop&client_ip=1")[0] == 400
    assert get(world, "lead", "application=vault&client_ip=1")[0] == 403


@pytest.fixture
def device_fieldset() -> Fieldset:
    return Fieldset.objects.create(
        name="device-details",
        fields=sorted(
            closure(["device", "duration_ms", "error_count", "converted", "properties.tier"])
        ),
    )


@pytest.mark.parametrize(
    ("query", "field_name"),
    [
        ("device=mobile", "device"),
        ("ordering=-duration_ms", "duration_ms"),
        ("ordering=error_count", "error_count"),
        ("has_errors=true", "error_count"),
        ("converted=false", "converted"),
        ("properties__tier=gold", "properties.tier"),
    ],
)
def test_filters_and_orderings_on_custom_fieldset_fields_are_refused(
    world: World, device_fieldset: Fieldset, query: str, field_name: str
) -> None:
    status, body = get(world, "agent", query)
    assert status == 403
    assert body["field"] == field_name
    grant_fieldset(fieldset_name="device-details", user=world.users["agent"])
    assert get(world, "agent", query)[0] in (200, 400)  # allowed now (400: properties is no filter)


def test_search_body_follows_the_same_rules(world: World) -> None:
    assert search(world, "agent", {"user_tag": JANE})[0] == 200
    status, body = search(world, "agent", {"user_tag": JANE, "user_tag__startswith": "ja"})
    assert (status, body["field"]) == (403, "user_tag")
    status, body = search(world, "agent", {"user_tag": JANE, "client_ip": "203.0.113.0"})
    assert (status, body["field"]) == (403, "client_ip")
    status, body = search(world, "agent", {"user_tag": JANE, "ordering": "user_tag"})
    assert (status, body["field"]) == (403, "user_tag")
    status, body = search(world, "root", {"user_tag": JANE, "user_tag__startswith": "ja"})
    assert status == 400
    assert "user_tag" not in body["allowed"]
    status, body = search(world, "agent", {"user_tag": JANE, "bogus": 1})
    assert status == 400
    assert "application" in body["allowed"]


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"application": "shop"},
        {"user_tag": ""},
        {"user_tag": "   "},
        {"user_tag": 42},
        {"user_tag": [MARKER]},
        {"user_tag": MARKER * 20},
        [MARKER],
        {"user_tag": MARKER, "application": [MARKER]},
        {"user_tag": MARKER, "since": MARKER},
        {"user_tag": MARKER, "has_errors": MARKER},
        {"user_tag": MARKER, "application": MARKER},
    ],
)
def test_invalid_searches_are_400_and_never_echo_the_tag(world: World, body: object) -> None:
    status, _ = search(world, "root", body)
    assert status == 400


@pytest.mark.parametrize(
    "query",
    [
        f"since={MARKER}",
        f"until={MARKER}",
        f"application={MARKER}",
        f"has_errors={MARKER}",
        f"page_size={MARKER}",
        f"cursor={MARKER}",
        f"ordering={MARKER}",
        f"{MARKER}=1",
        f"country={MARKER}&country=AT",
    ],
)
def test_error_messages_and_logs_never_echo_what_was_sent(
    world: World, query: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        status, _ = get(world, "root", query.replace("@", "%40"))
    assert status == 400
    assert MARKER.lower() not in caplog.text.lower()


def test_searching_is_allowed_without_seeing_the_tag_and_matches_exactly(world: World) -> None:
    for tag in ("JANE.DOE@EXAMPLE.COM", "  jane.doe@example.com\n", "Jane.Doe@Example.Com"):
        status, body = search(world, "agent", {"user_tag": tag})
        assert status == 200
        assert {row["application"] for row in body["results"]} == {"shop", "vault", "pseudo"}
        assert all(row["user_tag"] is None for row in body["results"])
    for near_miss in (
        "jane.doe@example.co",
        "jane",
        "ane.doe@example.com",
        "jane.doe@example.com.",
    ):
        status, body = search(world, "agent", {"user_tag": near_miss})
        assert status == 200
        assert body["results"] == []


def test_foreign_and_missing_applications_are_the_same_error(world: World) -> None:
    foreign = get(world, "agent", "application=secret")
    missing = get(world, "agent", "application=no-such-app")
    assert foreign == missing
    assert foreign[0] == 400
    assert search(world, "agent", {"user_tag": JANE, "application": "secret"}) == search(
        world, "agent", {"user_tag": JANE, "application": "no-such-app"}
    )


@pytest.mark.parametrize(
    "path", ["/api/v1/me/", "/api/v1/applications/", "/api/v1/fieldsets/", "/api/v1/audit/"]
)
def test_other_endpoints_reject_unknown_parameters_too(world: World, path: str) -> None:
    assert get(world, "root", "bogus=1", path)[0] == 400
    assert get(world, "agent", "client_ip=1", path)[0] == 403
