"""Reading log records: the API list (filters, pages, CSV), a session's logs, the dashboard
timeline and the admin, each masked per fieldset and audited like sessions."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.test import Client

from access.services import api_token_create
from fieldsets.models import Fieldset
from permissions.models import CHANGE_KINDS, AuditRecord
from permissions.services import grant_fieldset, grant_record_access
from sessions_app.models import UserAction
from tests.factories import make_application, stored_log, stored_session

pytestmark = pytest.mark.django_db

LOG_DETAILS = "log-details"


class World:
    def __init__(self) -> None:
        self.shop = make_application("shop")
        self.other = make_application("other")
        Fieldset.objects.create(
            name=LOG_DETAILS, description="", fields=["logs.body", "logs.attributes.customer"]
        )
        self.session = stored_session(self.shop, session_id="s-jane", actions=2)
        UserAction.objects.filter(session=self.session, seq=1).update(
            trace_id="5b8efff798038103d269b633813fc60c"
        )
        self.by_ref = stored_log(
            self.shop,
            session_ref="s-jane",
            time=self.session.started_at + timedelta(milliseconds=500),  # between the actions
            body="Payment gateway timeout",
            attributes={"customer": "c-77", "order_id": "A-1"},
        )
        self.by_trace = stored_log(
            self.shop,
            trace_id="5b8efff798038103d269b633813fc60c",
            severity_number=9,
            severity_text="INFO",
            service_name="gateway",
            body="retry scheduled",
        )
        self.unlinked = stored_log(self.shop, severity_number=13, severity_text="WARN")
        self.foreign = stored_log(self.other, body="foreign body")
        self.agent = User.objects.create_user("agent", password="pw", is_staff=True)
        grant_record_access(user=self.agent, application=self.shop)
        self.lead = User.objects.create_user("lead", password="pw", is_staff=True)
        grant_record_access(user=self.lead, application=self.shop)
        grant_fieldset(fieldset_name=LOG_DETAILS, user=self.lead, application=self.shop)

    def api(self, user: User) -> Client:
        return Client(headers={"Authorization": f"Token {api_token_create(user=user)[1]}"})

    def browser(self, user: User) -> Client:
        client = Client()
        client.force_login(user)
        return client


@pytest.fixture
def world() -> World:
    return World()


def _ids(response) -> list[int]:
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


def test_the_list_is_newest_first_masked_and_of_readable_applications_only(world: World) -> None:
    response = world.api(world.agent).get("/api/v1/logs/")

    rows = response.json()["results"]
    assert [row["id"] for row in rows] == [world.unlinked.pk, world.by_trace.pk, world.by_ref.pk]
    by_ref = rows[2]
    assert by_ref["body"] is None
    assert by_ref["attributes"] == {"customer": None, "order_id": "A-1"}
    assert by_ref["masked_fields"] == ["body", "attributes.customer"]
    assert by_ref["session"] == world.session.pk
    assert rows[1]["session"] == world.session.pk  # by the trace id of action 1
    assert rows[0]["session"] is None
    assert "foreign body" not in response.content.decode()
    assert not AuditRecord.objects.exclude(kind__in=CHANGE_KINDS).exists()


def test_a_granted_fieldset_reveals_and_is_audited_with_log_ids(world: World) -> None:
    rows = world.api(world.lead).get("/api/v1/logs/").json()["results"]

    assert rows[2]["body"] == "Payment gateway timeout"
    assert rows[2]["masked_fields"] == []
    record = AuditRecord.objects.exclude(kind__in=CHANGE_KINDS).get()
    assert record.username == "lead"
    assert record.fieldsets == [LOG_DETAILS]
    assert sorted(record.log_ids) == sorted([world.by_ref.pk, world.by_trace.pk, world.unlinked.pk])
    assert record.session_ids == [world.session.pk]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("severity=error", ["by_ref"]),
        ("severity=warn", ["unlinked", "by_ref"]),
        ("service=GATEWAY", ["by_trace"]),
        ("host=web-1", ["unlinked", "by_trace", "by_ref"]),
        ("application=shop", ["unlinked", "by_trace", "by_ref"]),
        ("since=2026-11-28T10:00:00Z&until=2026-11-28T10:00:01Z", []),
    ],
)
def test_filters(world: World, query: str, expected: list[str]) -> None:
    ids = _ids(world.api(world.agent).get(f"/api/v1/logs/?{query}"))

    assert ids == [getattr(world, name).pk for name in expected]


def test_the_session_filter_finds_records_linked_either_way(world: World) -> None:
    api = world.api(world.agent)

    assert set(_ids(api.get(f"/api/v1/logs/?session={world.session.pk}"))) == {
        world.by_ref.pk,
        world.by_trace.pk,
    }
    foreign = stored_session(world.other, session_id="s-jane")
    assert _ids(api.get(f"/api/v1/logs/?session={foreign.pk}")) == []


@pytest.mark.parametrize(
    "query", ["body=Payment", "body__contains=x", "attributes__customer=c-77", "BODY=x"]
)
def test_lookups_on_hidden_log_fields_are_403_naming_them(world: World, query: str) -> None:
    response = world.api(world.agent).get(f"/api/v1/logs/?{query}")

    assert response.status_code == 403
    assert response.json()["field"].startswith("logs.")


def test_unknown_parameters_and_bad_values_are_400(world: World) -> None:
    api = world.api(world.agent)
    for query in (
        "colour=red",
        "severity=loud",
        "since=yesterday",
        "session=abc",
        "session=1.5",
        f"session={'9' * 20}",  # past a 64-bit id
        "ordering=time",
    ):
        response = api.get(f"/api/v1/logs/?{query}")
        assert response.status_code == 400, query
    assert api.get("/api/v1/logs/?application=other").status_code == 400


def test_cursor_pages_and_csv(world: World) -> None:
    api = world.api(world.agent)
    first = api.get("/api/v1/logs/?page_size=2").json()
    second = api.get(first["next"]).json()
    export = api.get("/api/v1/logs/?format=csv")

    assert [r["id"] for r in first["results"] + second["results"]] == _ids(api.get("/api/v1/logs/"))
    rows = list(csv.DictReader(io.StringIO(export.content.decode())))
    assert export["Content-Disposition"] == 'attachment; filename="logs.csv"'
    assert [int(row["id"]) for row in rows] == _ids(api.get("/api/v1/logs/"))
    assert all(row["body"] == "" for row in rows if row["id"] == str(world.by_ref.pk))


def test_a_hidden_logs_collection_leaves_the_application_out(world: World) -> None:
    Fieldset.objects.create(name="all-logs", description="", fields=["logs"])
    api = world.api(world.agent)

    assert _ids(api.get("/api/v1/logs/")) == []
    refused = api.get("/api/v1/logs/?application=shop")
    assert refused.status_code == 403
    assert refused.json()["field"] == "logs"
    detail = api.get(f"/api/v1/sessions/{world.session.pk}/").json()
    assert detail["logs"] is None
    assert "logs" in detail["masked_fields"]


def test_the_session_detail_lists_its_logs_oldest_first(world: World) -> None:
    detail = world.api(world.agent).get(f"/api/v1/sessions/{world.session.pk}/").json()

    assert [log["id"] for log in detail["logs"]] == [world.by_ref.pk, world.by_trace.pk]
    assert detail["logs"][0]["body"] is None
    assert "logs" not in detail["masked_fields"]


def test_the_dashboard_interleaves_log_lines_with_actions(world: World) -> None:
    page = world.browser(world.lead).get(f"/dashboard/sessions/{world.session.pk}/")
    html = page.content.decode()

    assert page.status_code == 200
    assert "2 actions, 2 log lines" in html
    assert "Payment gateway timeout" in html
    rows = [chunk.split('"', 1)[0] for chunk in html.split('<tr class="')[1:]]
    assert rows == [
        "action action-page_view",
        "log log-error is-failure",
        "action action-page_view",
        "log log-info",
    ]
    assert "1 backend log line at level error or fatal" in html
    masked = world.browser(world.agent).get(f"/dashboard/sessions/{world.session.pk}/")
    assert "Payment gateway timeout" not in masked.content.decode()


def test_the_admin_shows_logs_masked_and_refuses_lookups(world: World) -> None:
    admin = world.browser(world.agent)
    changelist = admin.get("/admin/logs/logrecord/")
    change = admin.get(f"/admin/logs/logrecord/{world.by_ref.pk}/change/")
    foreign = admin.get(f"/admin/logs/logrecord/{world.foreign.pk}/change/")

    assert changelist.status_code == change.status_code == 200
    for body in (changelist.content.decode(), change.content.decode()):
        assert "Payment gateway timeout" not in body
        assert "foreign body" not in body
    assert "masked" in change.content.decode()
    assert foreign.status_code in (302, 404)
    assert admin.get("/admin/logs/logrecord/?body=Payment").status_code == 400
    lead = world.browser(world.lead).get(f"/admin/logs/logrecord/{world.by_ref.pk}/change/")
    assert "Payment gateway timeout" in lead.content.decode()


def test_the_log_list_queries_do_not_grow_with_the_page(
    world: World, django_assert_max_num_queries
) -> None:
    for _ in range(40):
        stored_log(world.shop, session_ref="s-jane", attributes={"customer": "c"})
    api = world.api(world.lead)
    # Token, policy, the page (one query, session links as subqueries), the audit
    # record appended to the hash chain (head locked, record inserted, head moved: 4).
    with django_assert_max_num_queries(8):
        response = api.get("/api/v1/logs/?page_size=500")
    assert len(response.json()["results"]) == 43


def test_a_record_naming_another_session_is_that_sessions_even_with_a_shared_trace_id(
    world: World,
) -> None:
    # Its session_id attribute names s-other; its trace id is also on an action of s-jane.
    other = stored_session(world.shop, session_id="s-other", actions=1)
    named = stored_log(
        world.shop, session_ref="s-other", trace_id="5b8efff798038103d269b633813fc60c"
    )
    api = world.api(world.agent)

    jane_detail = api.get(f"/api/v1/sessions/{world.session.pk}/").json()["logs"]
    other_detail = api.get(f"/api/v1/sessions/{other.pk}/").json()["logs"]
    jane_list = _ids(api.get(f"/api/v1/logs/?session={world.session.pk}"))
    other_list = _ids(api.get(f"/api/v1/logs/?session={other.pk}"))

    assert named.pk not in [log["id"] for log in jane_detail]
    assert named.pk not in jane_list
    assert [log["id"] for log in other_detail] == [named.pk] == other_list
    assert {log["id"] for log in jane_detail} == {world.by_ref.pk, world.by_trace.pk}


def test_a_session_without_trace_ids_shows_the_records_that_name_it(world: World) -> None:
    UserAction.objects.filter(session=world.session).update(trace_id=None)

    logs = world.api(world.agent).get(f"/api/v1/sessions/{world.session.pk}/").json()["logs"]

    assert [(log["id"], log["session"]) for log in logs] == [(world.by_ref.pk, world.session.pk)]
