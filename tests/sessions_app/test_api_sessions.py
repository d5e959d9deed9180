"""Masking by grant on every session endpoint: endpoints x principals.

The world (tests/permissions/principals.py) grants the sensitive fieldset by
user, by group, per application and globally; each endpoint must show exactly
the readable applications, reveal exactly where granted, and list in
``masked_fields`` only what had data.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest
from rest_framework.test import APIClient

from permissions import subjects
from permissions.models import CHANGE_KINDS, AuditRecord
from permissions.services import grant_fieldset, revoke_fieldset, revoke_record_access
from sessions_app import user_tags
from tests.permissions.principals import (
    BOB,
    JANE,
    PRINCIPALS,
    SENSITIVE,
    World,
    api_client,
    build_world,
)

pytestmark = pytest.mark.django_db

SENSITIVE_FIELDS = ["user_tag", "client_ip", "geo_latitude", "geo_longitude"]
SESSION_KEYS = [
    "id", "application", "session_id", "started_at", "ended_at", "duration_ms", "user_id",
    "user_tag", "client_ip", "geo_latitude", "geo_longitude", "country", "city", "browser", "os",
    "device", "properties", "action_count", "error_count", "converted", "revenue", "masked_fields",
]  # fmt: skip
ENDPOINTS = ["list", "search", "detail", "list-csv", "search-csv"]
SEARCH = "/api/v1/sessions/search/"


@pytest.fixture
def world() -> World:
    return build_world()


def _csv_rows(content: bytes) -> list[dict[str, Any]]:
    rows = []
    for row in csv.DictReader(io.StringIO(content.decode())):
        parsed: dict[str, Any] = {key: (value or None) for key, value in row.items()}
        parsed["id"] = int(row["id"])
        parsed["masked_fields"] = json.loads(row["masked_fields"])
        rows.append(parsed)
    return rows


def fetch(world: World, username: str, endpoint: str) -> list[dict[str, Any]]:
    """The sessions an endpoint returns to ``username`` (search: Jane's, in mixed case)."""
    client = api_client(world.users[username])
    search_body = {"user_tag": "  JANE.Doe@example.COM\t"}
    if endpoint == "detail":
        rows = []
        for session in world.sessions.values():
            response = client.get(f"/api/v1/sessions/{session.pk}/")
            assert response.status_code in (200, 404)
            if response.status_code == 200:
                rows.append(response.json())
        return rows
    if endpoint == "list":
        response = client.get("/api/v1/sessions/?page_size=500", HTTP_ACCEPT="application/json")
    elif endpoint == "search":
        response = client.post(f"{SEARCH}?page_size=500", search_body, format="json")
    elif endpoint == "list-csv":
        response = client.get("/api/v1/sessions/?format=csv&page_size=500")
    else:
        response = client.post(SEARCH, search_body, format="json", HTTP_ACCEPT="text/csv")
    assert response.status_code == 200, response.content
    if endpoint.endswith("csv"):
        assert response["Content-Type"].startswith("text/csv")
        return _csv_rows(response.content)
    return response.json()["results"]


def _expected_masked(world: World, key: str) -> list[str]:
    if key == "shop-anonymous":
        return []
    if key == "pseudo":  # the tag is not stored at all: missing, not masked
        return ["client_ip", "geo_latitude", "geo_longitude"]
    return SENSITIVE_FIELDS


@pytest.mark.parametrize("username", PRINCIPALS)
@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_each_endpoint_masks_by_grant(world: World, username: str, endpoint: str) -> None:
    rows = fetch(world, username, endpoint)
    by_id = {session.pk: key for key, session in world.sessions.items()}
    expected_keys = {
        key
        for key, session in world.sessions.items()
        if session.application.slug in world.readable(username)
        and (not endpoint.startswith("search") or key in world.apps)  # Jane's sessions
    }
    assert {by_id[row["id"]] for row in rows} == expected_keys
    for row in rows:
        key = by_id[row["id"]]
        assert list(row)[: len(SESSION_KEYS)] == SESSION_KEYS
        if row["application"] in world.revealed(username):
            assert row["masked_fields"] == []
            if key == "shop-anonymous":
                assert row["user_tag"] is None
                assert row["client_ip"] is None
                continue
            assert row["user_tag"] == (None if key == "pseudo" else (BOB if "bob" in key else JANE))
            assert row["client_ip"] == "203.0.113.0"
            assert float(row["geo_latitude"]) == 48.2
        else:
            assert row["masked_fields"] == _expected_masked(world, key)
            for field_name in SENSITIVE_FIELDS:
                assert row[field_name] is None
        # Fields in no fieldset are visible to every reader.
        assert row["country"] == "AT"
        assert row["user_id"] == (None if key == "shop-anonymous" else world.sessions[key].user_id)


@pytest.mark.parametrize("username", PRINCIPALS)
def test_sessions_of_unreadable_applications_are_404_like_missing_ids(
    world: World, username: str
) -> None:
    client = api_client(world.users[username])
    missing = client.get("/api/v1/sessions/999999/")
    assert missing.status_code == 404
    for session in world.sessions.values():
        response = client.get(f"/api/v1/sessions/{session.pk}/")
        if session.application.slug in world.readable(username):
            assert response.status_code == 200
        else:
            assert response.status_code == 404
            assert response.content == missing.content


def test_detail_has_actions_in_seq_order(world: World) -> None:
    session = world.sessions["shop"]
    body = api_client(world.users["agent"]).get(f"/api/v1/sessions/{session.pk}/").json()
    assert [action["seq"] for action in body["actions"]] == [0, 1]
    action = body["actions"][0]
    assert set(action) == {
        "seq", "type", "name", "url", "timestamp", "duration_ms", "http_status",
        "error_message", "error_stack", "headers", "request_attributes", "product",
        "trace_id", "masked_fields",
    }  # fmt: skip
    assert action["product"]["price"] == "9.90"
    assert body["actions"][1]["product"] is None


def test_anonymous_requests_get_401_everywhere(world: World) -> None:
    client = APIClient()
    session = world.sessions["shop"]
    for method, url in [
        ("get", "/api/v1/sessions/"),
        ("post", SEARCH),
        ("get", f"/api/v1/sessions/{session.pk}/"),
        ("get", "/api/v1/applications/"),
        ("get", "/api/v1/fieldsets/"),
        ("get", "/api/v1/me/"),
        ("get", "/api/v1/audit/"),
    ]:
        assert getattr(client, method)(url).status_code == 401, url


@pytest.mark.parametrize("endpoint", ["list", "search", "detail"])
def test_revocation_takes_effect_on_the_next_request(world: World, endpoint: str) -> None:
    lead, shop = world.users["lead"], world.apps["shop"]
    session_pk = world.sessions["shop"].pk

    def shop_session() -> dict[str, Any] | None:
        return next((r for r in fetch(world, "lead", endpoint) if r["id"] == session_pk), None)

    before = shop_session()
    assert before is not None
    assert before["user_tag"] == JANE

    revoke_fieldset(fieldset_name=SENSITIVE, user=lead, application=shop)
    after = shop_session()
    assert after is not None
    assert after["user_tag"] is None
    assert after["masked_fields"] == SENSITIVE_FIELDS

    revoke_record_access(user=lead, application=shop)
    assert shop_session() is None


def test_group_grants_follow_membership(world: World) -> None:
    member = world.users["member"]
    assert {row["application"] for row in fetch(world, "member", "list")} == {"shop"}
    member.groups.clear()
    assert fetch(world, "member", "list") == []


def test_global_fieldset_grant_covers_applications_created_later(world: World) -> None:
    from tests.factories import make_application, stored_session

    late = stored_session(make_application("late-app"), user_tag=JANE)
    rows = {row["id"]: row for row in fetch(world, "globe", "list")}
    assert rows[late.pk]["user_tag"] == JANE
    assert rows[late.pk]["masked_fields"] == []


def test_fieldset_grant_for_one_application_does_not_leak_to_another(world: World) -> None:
    agent = world.users["agent"]
    grant_fieldset(fieldset_name=SENSITIVE, user=agent, application=world.apps["vault"])
    rows = fetch(world, "agent", "list")
    revealed = {
        row["application"] for row in rows if row["masked_fields"] == [] and row["user_tag"]
    }
    assert revealed == {"vault"}


def _audit_text() -> str:
    return json.dumps(
        list(AuditRecord.objects.exclude(kind__in=CHANGE_KINDS).values()), default=str
    ).lower()


def test_audit_records_reveals_and_searches_and_never_stores_a_tag(world: World) -> None:
    assert AuditRecord.objects.exclude(kind__in=CHANGE_KINDS).count() == 0

    fetch(world, "agent", "list")  # nothing revealed: no record
    assert AuditRecord.objects.exclude(kind__in=CHANGE_KINDS).count() == 0

    fetch(world, "agent", "search")  # a search is always recorded, even fully masked
    search = AuditRecord.objects.exclude(kind__in=CHANGE_KINDS).get()
    assert search.kind == "search"
    assert search.username == "agent"
    assert search.method == "POST"
    assert search.path == SEARCH
    assert search.search_tag_hash == subjects.current_value(user_tags.normalise(JANE))
    assert search.fieldsets == []
    assert search.applications == ["pseudo", "shop", "vault"]
    assert sorted(search.session_ids) == sorted(
        world.sessions[slug].pk for slug in ("shop", "vault", "pseudo")
    )

    rows = fetch(world, "lead", "list")
    reveal = AuditRecord.objects.exclude(kind__in=CHANGE_KINDS).order_by("-id").first()
    assert reveal is not None
    assert reveal.kind == "reveal"
    assert reveal.path == "/api/v1/sessions/"
    assert reveal.applications == ["shop"]
    assert reveal.fieldsets == [SENSITIVE]
    # The anonymous shop session revealed nothing, so it is not in the record.
    assert sorted(reveal.session_ids) == sorted(
        world.sessions[key].pk for key in ("shop", "shop-bob")
    )
    assert {row["id"] for row in rows} >= set(reveal.session_ids)

    fetch(world, "lead", "list-csv")
    assert (
        AuditRecord.objects.exclude(kind__in=CHANGE_KINDS).order_by("-id").first().kind == "export"
    )  # type: ignore[union-attr]
    fetch(world, "root", "search-csv")
    export_search = AuditRecord.objects.exclude(kind__in=CHANGE_KINDS).order_by("-id").first()
    assert export_search is not None
    assert export_search.kind == "export"
    assert export_search.search_tag_hash == subjects.current_value(user_tags.normalise(JANE))

    fetch(world, "member", "detail")
    assert AuditRecord.objects.filter(username="member", kind="reveal").count() == 2

    text = _audit_text()
    for secret in (JANE, BOB, "jane.doe", "example.com", "203.0.113"):
        assert secret not in text


def test_export_is_the_same_rows_masked_the_same(world: World) -> None:
    for username in ("agent", "lead"):
        as_json = fetch(world, username, "list")
        as_csv = fetch(world, username, "list-csv")
        assert [row["id"] for row in as_csv] == [row["id"] for row in as_json]
        for json_row, csv_row in zip(as_json, as_csv, strict=True):
            assert csv_row["masked_fields"] == json_row["masked_fields"]
            assert csv_row["user_tag"] == json_row["user_tag"]
            assert csv_row["client_ip"] == json_row["client_ip"]


def test_csv_export_is_paged_with_a_link_header(world: World) -> None:
    client = api_client(world.users["root"])
    response = client.get("/api/v1/sessions/?format=csv&page_size=2")
    assert response.status_code == 200
    assert len(_csv_rows(response.content)) == 2
    assert 'rel="next"' in response["Link"]
    assert "attachment" in response["Content-Disposition"]
