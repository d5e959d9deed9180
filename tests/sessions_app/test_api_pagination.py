"""Cursor pagination and a bounded number of queries per request, whatever the page size."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from permissions.services import grant_fieldset, grant_record_access
from sessions_app.models import UserSession
from tests.factories import (
    BASE_TIME,
    make_application,
    stored_log,
    stored_session,
    stored_sessions,
)
from tests.permissions.principals import SENSITIVE, api_client, make_user, reader

pytestmark = pytest.mark.django_db

# Token auth; the policy (fieldsets, applications, grants: one UNION ALL, none
# when they are cached at the generation the token's query read); the page
# (detail: the session and its actions); the triage summary (one query over the
# page's actions where the rows do not carry them); the audit record appended
# to the hash chain (head locked, record inserted, head moved).
MAX_QUERIES = 9


@pytest.fixture
def crowd() -> dict[str, Any]:
    """210 sessions over two applications, seen by principals with different grants."""
    shop = make_application("shop")
    vault = make_application("vault", user_tag_storage="encrypted")
    specs: dict[Any, list[dict[str, Any]]] = {shop: [], vault: []}
    for number in range(210):
        unknown_duration = number % 5 == 0  # no end and no actions: ingest knows no duration
        specs[shop if number % 2 else vault].append(
            {
                # Interleaved: every page holds sessions of both applications.
                "started_at": BASE_TIME + timedelta(minutes=number),
                "user_tag": "jane.doe@example.com" if number % 3 else f"user{number}@example.com",
                "error_count": 0 if unknown_duration else number % 4,
                "duration_ms": None if unknown_duration else 1000 + number % 7,
            }
        )
    for application, sessions in specs.items():
        stored_sessions(application, sessions)
    group = make_user("group-holder").groups.create(name="g")
    member = make_user("member", groups=(group,))
    grant_record_access(group=group, application=shop)
    grant_record_access(group=group, application=vault)
    grant_fieldset(fieldset_name=SENSITIVE, group=group, application=vault)
    return {
        "agent": reader("agent", applications=(shop, vault)),
        "lead": reader("lead", applications=(shop, vault), fieldset_on=(shop,)),
        "member": member,
        "root": make_user("root", superuser=True),
    }


def _queries(client: Any, method: str, url: str, **kwargs: Any) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = getattr(client, method)(url, **kwargs)
    assert response.status_code == 200, response.content
    return len(captured)


@pytest.mark.parametrize("username", ["agent", "lead", "member", "root"])
@pytest.mark.parametrize("endpoint", ["list", "search", "csv"])
def test_queries_per_list_request_do_not_grow_with_the_page_size(
    crowd: dict[str, Any], username: str, endpoint: str, django_assert_max_num_queries: Any
) -> None:
    client = api_client(crowd[username])
    counts = []
    # The first search of a customer ever also makes their audit key (once): the
    # second and third request compare page sizes.
    for page_size in (10, 10, 200):
        if endpoint == "search":
            url = f"/api/v1/sessions/search/?page_size={page_size}"
            kwargs: dict[str, Any] = {
                "data": {"user_tag": "JANE.doe@example.com"},
                "format": "json",
            }
            method = "post"
        else:
            fmt = "&format=csv" if endpoint == "csv" else ""
            url, kwargs, method = f"/api/v1/sessions/?page_size={page_size}{fmt}", {}, "get"
        # A search also counts against the user's rate limit (one upsert) and names
        # its customer in the audit record by a per-subject key (found, or made: 4).
        budget = MAX_QUERIES + (5 if endpoint == "search" else 0)
        with django_assert_max_num_queries(budget):
            counts.append(_queries(client, method, url, **kwargs))
    assert counts[1] == counts[2]


def test_detail_queries_do_not_grow_with_the_number_of_actions_or_logs(
    django_assert_max_num_queries: Any,
) -> None:
    shop = make_application("shop")
    few = stored_session(shop, user_tag="a@example.com", actions=2)
    many = stored_session(shop, user_tag="b@example.com", actions=60)
    stored_log(shop, session_ref=few.session_id)
    for _ in range(30):
        stored_log(shop, session_ref=many.session_id)
    quiet = stored_session(shop, actions=60)  # no log record names it
    client = api_client(reader("lead", applications=(shop,), fieldset_on=(shop,)))
    client.get(f"/api/v1/sessions/{few.pk}/")  # the principal's first request reads its grants
    counts = []
    for session in (few, many):
        # Two more than a page: the session's actions and its log records.
        with django_assert_max_num_queries(MAX_QUERIES + 2):
            counts.append(_queries(client, "get", f"/api/v1/sessions/{session.pk}/"))
    assert counts[0] == counts[1]
    # Whether any log record names the session is read with the session: none, no query.
    assert _queries(client, "get", f"/api/v1/sessions/{quiet.pk}/") == counts[0] - 1


def _walk(client: Any, url: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    while url:
        body = client.get(url, HTTP_ACCEPT="application/json").json()
        rows.extend(body["results"])
        url = body["next"]
    return rows


@pytest.mark.parametrize(
    "ordering", ["-started_at", "started_at", "error_count", "-error_count", "-duration_ms"]
)
def test_walking_every_page_yields_each_session_once_in_order(
    crowd: dict[str, Any], ordering: str
) -> None:
    client = api_client(crowd["root"])
    rows = _walk(client, f"/api/v1/sessions/?page_size=17&ordering={ordering}")
    assert len(rows) == UserSession.objects.count()
    assert len({row["id"] for row in rows}) == len(rows)
    name = ordering.lstrip("-")
    keys = [(-1 if row[name] is None else row[name], row["id"]) for row in rows]
    assert keys == sorted(keys, reverse=ordering.startswith("-"))


def test_previous_links_walk_back_to_the_first_page(crowd: dict[str, Any]) -> None:
    client = api_client(crowd["root"])
    first = client.get("/api/v1/sessions/?page_size=25&ordering=error_count").json()
    assert first["previous"] is None
    second = client.get(first["next"]).json()
    third = client.get(second["next"]).json()
    back = client.get(third["previous"]).json()
    assert [row["id"] for row in back["results"]] == [row["id"] for row in second["results"]]
    back_again = client.get(back["previous"]).json()
    assert [row["id"] for row in back_again["results"]] == [r["id"] for r in first["results"]]
    assert back_again["previous"] is None


def test_default_page_is_50_newest_first(crowd: dict[str, Any]) -> None:
    body = api_client(crowd["root"]).get("/api/v1/sessions/").json()
    assert len(body["results"]) == 50
    started = [row["started_at"] for row in body["results"]]
    assert started == sorted(started, reverse=True)


@pytest.mark.parametrize("page_size", ["0", "501", "-1", "ten", "1.5"])
def test_page_size_outside_1_to_500_is_400(crowd: dict[str, Any], page_size: str) -> None:
    response = api_client(crowd["root"]).get(f"/api/v1/sessions/?page_size={page_size}")
    assert response.status_code == 400


def test_page_size_500_is_allowed(crowd: dict[str, Any]) -> None:
    response = api_client(crowd["root"]).get("/api/v1/sessions/?page_size=500")
    assert len(response.json()["results"]) == 210


def test_tampered_or_foreign_cursors_are_400(crowd: dict[str, Any]) -> None:
    client = api_client(crowd["root"])
    by_errors = client.get("/api/v1/sessions/?page_size=5&ordering=error_count").json()["next"]
    cursor = by_errors.split("cursor=")[1].split("&")[0]
    assert client.get(f"/api/v1/sessions/?cursor={cursor}").status_code == 400
    for bad in ("abc", "eyJ4IjogMX0=", "%%%"):
        assert client.get(f"/api/v1/sessions/?cursor={bad}").status_code == 400


def test_a_cursor_with_a_value_of_the_wrong_type_is_400(crowd: dict[str, Any]) -> None:
    import base64
    import json

    client = api_client(crowd["root"])
    for value in ("not a date", 12):
        raw = {"o": "-started_at", "r": False, "v": value, "i": 1}
        cursor = base64.urlsafe_b64encode(json.dumps(raw).encode()).decode()
        assert client.get(f"/api/v1/sessions/?cursor={cursor}").status_code == 400


def test_since_and_until_bound_started_at(crowd: dict[str, Any]) -> None:
    client = api_client(crowd["root"])
    first = UserSession.objects.order_by("started_at").first()
    assert first is not None
    since = (first.started_at + timedelta(minutes=10)).isoformat().replace("+00:00", "Z")
    until = (BASE_TIME + timedelta(days=365)).isoformat().replace("+00:00", "Z")
    rows = _walk(client, f"/api/v1/sessions/?page_size=500&since={since}&until={until}")
    assert len(rows) == UserSession.objects.filter(started_at__gte=since).count()
