"""Oracle suite, issue 16: the help desk's new pages and shapes are no side door.

* An agent with a *partial* grant sees partial forms and nothing more, on every
  read path (API list, search, detail, CSV, browsable API, admin, dashboard
  rows, session page, result pages), and cannot use a partial value as a key.
* A lead on an application with ``reveal_requires_reason`` sees no value
  before revealing, and after revealing sees it only on that one session's
  own pages, never in a list, a search, an export or the admin changelist.
* The triage summary and the overview's error table never show an action
  field the principal cannot see, and a drill-down link is no key to one.
* The reveal endpoint answers a foreign session like a missing one and
  echoes nothing of its body; result-page ids are bound to their sign-in.

Every test here failed before issue 16 (no partial grants, no reveal, no
summary, no result pages: the endpoints and shapes did not exist).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import quote

import pytest
from django.contrib.auth.models import User
from django.test import Client

from access.services import api_token_create
from fieldsets.models import BUILTIN_SENSITIVE, Fieldset
from permissions.audit import Actor
from permissions.models import AuditRecord, RevealWindow
from permissions.services import grant_fieldset, grant_record_access
from sessions_app.applications import application_configure
from sessions_app.models import Application, UserSession
from tests.factories import make_application, stored_session

pytestmark = pytest.mark.django_db

JANE = "jane.doe@example.com"
JANE_IP = "81.2.69.0"
SECRET_MESSAGE = "order-secret-5521"  # an error message in a fieldset the agent lacks
PARTIAL_TAG = "j•••@example.com"
PARTIAL_IP = "81.2.•.•"
LIST = "/api/v1/sessions/"
SEARCH = "/api/v1/sessions/search/"
FIND = "/dashboard/"
OVERVIEW = "/dashboard/overview/"
CHANGELIST = "/admin/sessions_app/usersession/"
# Full values that must never reach a principal who may not see them.
# Coordinates as ingest stores them (one decimal); partial forms are whole degrees.
FULL_VALUES = (JANE, JANE_IP, "52.3", "13.7")  # (no SVG path of the admin has them)


@dataclass
class World:
    shop: Application
    foreign: Application
    jane: UserSession
    bob: UserSession
    foreign_session: UserSession
    agent: User
    lead: User

    def browser(self, user: User) -> Client:
        client = Client()
        client.force_login(user)
        return client

    def api(self, user: User) -> Client:
        return Client(headers={"Authorization": f"Token {api_token_create(user=user)[1]}"})


@pytest.fixture
def world() -> World:
    shop = make_application("shop")
    foreign = make_application("foreign")
    jane = stored_session(
        shop,
        user_tag=JANE,
        client_ip=JANE_IP,
        geo_latitude=52.3,
        geo_longitude=13.7,
        actions=[
            {
                "type": "xhr",
                "name": "POST /api/payment",
                "http_status": 502,
                "error": {"message": f"Payment failed {SECRET_MESSAGE}"},
            }
        ],
    )
    bob = stored_session(shop, user_tag="bob@example.org", client_ip="198.51.100.0")
    foreign_session = stored_session(foreign, user_tag=JANE)
    agent = User.objects.create_user("agent", password="pw", is_staff=True)
    lead = User.objects.create_user("lead", password="pw", is_staff=True)
    for user in (agent, lead):
        grant_record_access(user=user, application=shop)
    grant_fieldset(fieldset_name=BUILTIN_SENSITIVE, user=agent, application=shop, partial=True)
    grant_fieldset(fieldset_name=BUILTIN_SENSITIVE, user=lead, application=shop)
    return World(shop, foreign, jane, bob, foreign_session, agent, lead)


def gate(world: World) -> None:
    application_configure(
        application=world.shop,
        actor=Actor(username="ops", method="COMMAND", path="test"),
        reveal_requires_reason=True,
    )


def bodies(world: World, user: User) -> dict[str, str]:
    """Every read path's answer for ``user`` about the shop (each must be a 200)."""
    api, browser = world.api(user), world.browser(user)
    search = json.dumps({"user_tag": JANE})
    responses = {
        "api-list": api.get(LIST),
        "api-csv": api.get(f"{LIST}?format=csv"),
        "api-search": api.post(SEARCH, search, content_type="application/json"),
        "api-search-csv": api.post(f"{SEARCH}?format=csv", search, content_type="application/json"),
        "api-detail": api.get(f"{LIST}{world.jane.pk}/"),
        "browsable-list": browser.get(LIST, headers={"Accept": "text/html"}),
        "browsable-detail": browser.get(f"{LIST}{world.jane.pk}/", headers={"Accept": "text/html"}),
        "admin-changelist": browser.get(CHANGELIST),
        "admin-change": browser.get(f"{CHANGELIST}{world.jane.pk}/change/"),
        "dashboard-search": browser.post(FIND, {"email": JANE}),
        "dashboard-list": browser.get(FIND, {"application": "shop"}),
        "dashboard-session": browser.get(f"{FIND}sessions/{world.jane.pk}/"),
        "dashboard-overview": browser.get(OVERVIEW),
    }
    for name, response in responses.items():
        assert response.status_code == 200, name
    return {name: response.content.decode() for name, response in responses.items()}


# --- partial grants ---------------------------------------------------------------------


def test_a_partial_grant_shows_partial_forms_and_nothing_more_on_every_path(
    world: World,
) -> None:
    for name, body in bodies(world, world.agent).items():
        for value in FULL_VALUES:
            assert value not in body, f"{name} shows {value}"
        if name not in ("dashboard-overview",):
            assert PARTIAL_TAG in body, name


PARTIAL_PROBES = {
    "user_tag": "jane",
    "client_ip": "81.2",
    "geo_latitude": "52",
    "geo_longitude": "13",
}
SUFFIXES = ("", "__startswith", "__contains", "__regex", "__gt", "__in")


@pytest.mark.parametrize("field", PARTIAL_PROBES)
def test_partial_values_are_never_a_key_on_any_path(world: World, field: str) -> None:
    api, browser = world.api(world.agent), world.browser(world.agent)
    probe = PARTIAL_PROBES[field]
    for suffix in SUFFIXES:
        name = f"{field}{suffix}"
        # (user_tag itself in a search body is the one allowed, exact lookup.)
        in_body = (
            {"user_tag": JANE, name: probe} if name != "user_tag" else {"user_tag": "x", name: 1}
        )
        for response in (
            api.get(f"{LIST}?{name}={quote(probe)}"),
            api.get(f"{LIST}?{name}={quote(probe)}&format=csv"),
            api.post(SEARCH, in_body, content_type="application/json"),
            browser.get(f"{FIND}?{name}={quote(probe)}"),
            browser.post(FIND, {"email": JANE, name: probe}),
            browser.get(f"{CHANGELIST}?{name}={quote(probe)}"),
        ):
            assert response.status_code in (400, 403), f"{name}: {response.status_code}"
            for value in FULL_VALUES:
                assert value not in response.content.decode()
    for ordering in (field, f"-{field}"):
        assert api.get(f"{LIST}?ordering={ordering}").status_code in (400, 403)


# --- reveal with a reason -------------------------------------------------------------------


def test_with_the_setting_no_path_shows_a_value_before_a_reveal(world: World) -> None:
    gate(world)
    for name, body in bodies(world, world.lead).items():
        for value in FULL_VALUES:
            assert value not in body, f"{name} shows {value} without a reveal"
    assert not AuditRecord.objects.filter(kind="reveal").exists()


def test_a_reveal_shows_one_session_on_its_own_pages_only(world: World) -> None:
    gate(world)
    api = world.api(world.lead)
    revealed = api.post(
        f"{LIST}{world.jane.pk}/reveal/", {"reason": "HD-4711"}, content_type="application/json"
    )
    assert revealed.status_code == 201

    seen = bodies(world, world.lead)
    own_pages = {"api-detail", "browsable-detail", "admin-change", "dashboard-session"}
    for name, body in seen.items():
        if name in own_pages:
            assert JANE in body, name
        else:
            assert JANE not in body, f"{name} used the window"
    # Every page that showed it is on record with the reason.
    reasons = set(AuditRecord.objects.filter(kind="reveal").values_list("reason", flat=True))
    assert reasons == {"HD-4711"}


def test_the_reveal_endpoint_is_no_oracle(world: World) -> None:
    gate(world)
    api = world.api(world.lead)
    missing = UserSession.objects.order_by("-pk").first().pk + 100
    body = {"reason": f"HD-1 {JANE}"}
    foreign = api.post(f"{LIST}{world.foreign_session.pk}/reveal/", body, "application/json")
    absent = api.post(f"{LIST}{missing}/reveal/", body, "application/json")
    assert foreign.status_code == absent.status_code == 404
    assert foreign.content == absent.content
    for attempt in ({"reason": JANE * 30}, {JANE: "x"}, {"reason": "ok", "why": JANE}):
        refused = api.post(f"{LIST}{world.jane.pk}/reveal/", attempt, "application/json")
        assert refused.status_code == 400
        assert "jane" not in refused.content.decode().lower()
    assert not RevealWindow.objects.exists()
    # The agent holds the fieldset only partially: nothing a reveal would show.
    agent = world.api(world.agent).post(
        f"{LIST}{world.jane.pk}/reveal/", {"reason": "HD-1"}, "application/json"
    )
    assert agent.status_code == 403
    assert JANE not in agent.content.decode()


def test_a_reason_never_keeps_personal_data(world: World) -> None:
    gate(world)
    reason = f"HD-4711 {JANE} card 4111 1111 1111 1111 from {JANE_IP.replace('.0', '.42')}"
    response = world.api(world.lead).post(
        f"{LIST}{world.jane.pk}/reveal/", {"reason": reason}, "application/json"
    )
    assert response.status_code == 201
    stored = [*RevealWindow.objects.values_list("reason", flat=True)]
    stored += [*AuditRecord.objects.exclude(reason=None).values_list("reason", flat=True)]
    assert stored
    for text in stored:
        assert JANE not in text
        assert "4111" not in text
        assert "81.2.69" not in text


# --- summary and error groups -------------------------------------------------------------


def test_a_hidden_action_field_never_shows_in_a_summary_or_the_error_table(
    world: World,
) -> None:
    Fieldset.objects.create(name="messages", fields=["actions.error_message"])
    seen = bodies(world, world.agent)
    for name, body in seen.items():
        assert SECRET_MESSAGE not in body, name
    overview = seen["dashboard-overview"]
    # The error table leaves the application out; no link names the group.
    assert "error_group=" not in overview
    row = json.loads(seen["api-list"])["results"]
    jane = next(item for item in row if item["id"] == world.jane.pk)
    assert jane["summary"]["first_failure"]["message"] is None
    assert "summary.first_failure.message" in jane["masked_fields"]


def test_error_group_links_are_keyed_digests_not_texts(world: World) -> None:
    browser = world.browser(world.lead)
    day = world.jane.started_at.date().isoformat()
    overview = browser.get(OVERVIEW, {"since": day, "until": day}).content.decode()
    [link] = re.findall(r'href="([^"]*error_group=[^"]*)"', overview)
    assert SECRET_MESSAGE not in link
    assert "Payment" not in link
    # The message itself, or a plain hash of it, is no key.
    for guess in (SECRET_MESSAGE, "0" * 32, f"Payment failed {SECRET_MESSAGE}"):
        response = browser.get(FIND, {"since": day, "until": day, "error_group": guess})
        assert response.status_code == 400
        assert SECRET_MESSAGE not in response.content.decode()


@pytest.mark.parametrize(
    "name", ["summary", "summary__first_failure__message", "partial_fields", "reason"]
)
def test_new_names_are_no_filters(world: World, name: str) -> None:
    api = world.api(world.agent)
    assert api.get(f"{LIST}?{name}=Payment").status_code == 400
    assert (
        api.post(
            SEARCH, {"user_tag": JANE, name: "Payment"}, content_type="application/json"
        ).status_code
        == 400
    )


# --- result pages ---------------------------------------------------------------------------


def test_result_page_ids_are_bound_to_their_sign_in(world: World) -> None:
    for number in range(55):
        stored_session(world.shop, user_tag=JANE, started_at=world.jane.started_at
                       - timedelta(minutes=number + 1))  # fmt: skip
    agent = world.browser(world.agent)
    first = agent.post(FIND, {"email": JANE}).content.decode()
    [older] = re.findall(r'href="([^"]+)"[^>]*>Older sessions', first)
    older = older.replace("&amp;", "&")
    assert "jane" not in older.lower()
    assert agent.get(older).status_code == 200
    for other in (world.browser(world.lead), world.browser(world.agent)):
        # Another user, and the same user in another sign-in: refused.
        response = other.get(older)
        assert response.status_code == 400
        assert PARTIAL_TAG not in response.content.decode()
    # No API path takes it.
    results = re.search(r"results=([\w-]+)", older)[1]
    assert world.api(world.agent).get(f"{LIST}?results={results}").status_code == 400
