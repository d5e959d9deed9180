"""Oracle suite: no read path lets a caller learn a field it cannot see.

For a principal without the fieldsets, every read path x every fieldset field
x every lookup form is either refused (400/403, documented) or has no effect
on which rows come back; no response body ever contains a hidden value. The
cross-application join probe checks that ``user_id`` (visible to everyone)
cannot carry what one application reveals onto another that masks it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import quote

import pytest
from django.contrib.auth.models import User
from django.test import Client

from access.services import api_token_create
from fieldsets.models import BUILTIN_SENSITIVE, Fieldset
from permissions.models import AuditRecord
from permissions.services import grant_fieldset, grant_record_access
from sessions_app.models import Application, UserSession
from tests.factories import make_application, stored_session, stored_sessions
from tests.leaks import assert_none_in

pytestmark = pytest.mark.django_db

JANE = "jane.doe@example.com"
MAX = "max.muster@example.com"
JANE_IP = "203.0.113.0"
MAX_IP = "198.51.100.0"
CUSTOM_FIELDSET = "loyalty-and-city"

# Every field of a fieldset the agent does not hold, with a probe that matches
# the stored data partially. Probes are never a whole secret: the browsable API
# shows the caller its own request URL, and that echo is no leak.
HIDDEN_FIELDS: dict[str, str] = {
    "user_tag": "jane",
    "client_ip": "203.0.113",
    "geo_latitude": "48",
    "geo_longitude": "16",
    "city": "Vien",
    "properties.loyalty_tier": "gol",
}
# Values that must never appear in a body served to the agent.
SECRETS = (JANE, MAX, JANE_IP, MAX_IP, "Vienna", "Graz", "gold", "silver", "48.21", "16.37")

LOOKUP_SUFFIXES = ("", "__iexact", "__contains", "__startswith", "__regex", "__gt", "__in")


def url_lookups(field: str, value: str) -> list[str]:
    """Query strings trying ``field`` in every lookup form, ordering and search."""
    name = field.replace(".", "__")
    forms = [f"{name}{suffix}={quote(value)}" for suffix in LOOKUP_SUFFIXES]
    if field.startswith("properties."):
        forms.append(f"{field}={quote(value)}")
    return [
        *forms,
        f"ordering={name}",
        f"ordering=-{name}",
        f"search={quote(value)}",
    ]


def body_lookups(field: str, value: str) -> list[dict[str, object]]:
    """The same attempts as JSON bodies of the search endpoint."""
    name = field.replace(".", "__")
    bodies: list[dict[str, object]] = [
        {f"{name}{suffix}": value} for suffix in LOOKUP_SUFFIXES if f"{name}{suffix}" != "user_tag"
    ]
    return [
        *bodies,
        {"ordering": name},
        {"ordering": f"-{name}"},
        {"search": value},
    ]


@dataclass
class World:
    shop: Application
    foreign: Application
    jane: UserSession
    max: UserSession
    foreign_session: UserSession
    agent: Client
    agent_token: Client


@pytest.fixture
def world() -> World:
    # Coordinates kept at full precision (no IP masking), so "48.21" is a real secret.
    shop = make_application("shop", allowed_properties=["loyalty_tier"], ip_masking="off")
    foreign = make_application("foreign")
    Fieldset.objects.create(
        name=CUSTOM_FIELDSET,
        description="Loyalty tier and city",
        fields=["properties.loyalty_tier", "city"],
    )
    jane = stored_session(
        shop,
        user_tag=JANE,
        client_ip=JANE_IP,
        geo_latitude=48.21,
        geo_longitude=16.37,
        city="Vienna",
        properties={"loyalty_tier": "gold"},
        actions=2,
    )
    max_session = stored_session(
        shop,
        user_tag=MAX,
        client_ip=MAX_IP,
        geo_latitude=47.07,
        geo_longitude=15.44,
        city="Graz",
        properties={"loyalty_tier": "silver"},
    )
    foreign_session = stored_session(foreign, user_tag="foreign@example.com")

    agent = User.objects.create_user("agent", password="pw", is_staff=True)
    grant_record_access(user=agent, application=shop)
    session_client = Client()
    session_client.force_login(agent)
    token_client = Client(headers={"Authorization": f"Token {api_token_create(user=agent)[1]}"})
    return World(
        shop=shop,
        foreign=foreign,
        jane=jane,
        max=max_session,
        foreign_session=foreign_session,
        agent=session_client,
        agent_token=token_client,
    )


def assert_no_secret(body: str) -> None:
    assert_none_in(body, SECRETS)


def session_ids_in(response) -> list[int]:
    data = response.json()
    return sorted(row["id"] for row in data["results"])


# --- API list, CSV export and browsable API: URL lookups --------------------------

URL_PATHS: dict[str, Callable[[str], tuple[str, dict[str, str]]]] = {
    "api-list": lambda query: (f"/api/v1/sessions/?{query}", {}),
    "api-csv": lambda query: (f"/api/v1/sessions/?{query}&format=csv", {}),
    "api-csv-accept": lambda query: (f"/api/v1/sessions/?{query}", {"Accept": "text/csv"}),
    "browsable-api": lambda query: (f"/api/v1/sessions/?{query}", {"Accept": "text/html"}),
}


@pytest.mark.parametrize("path_name", URL_PATHS)
@pytest.mark.parametrize("field", HIDDEN_FIELDS)
def test_url_lookups_on_hidden_fields_are_refused_and_leak_nothing(
    world: World, path_name: str, field: str
) -> None:
    client = world.agent_token if path_name != "browsable-api" else world.agent
    for query in url_lookups(field, HIDDEN_FIELDS[field]):
        url, headers = URL_PATHS[path_name](query)
        response = client.get(url, headers=headers)
        body = response.content.decode()
        assert response.status_code in (400, 403), f"{path_name} {query}: {response.status_code}"
        assert_no_secret(body)


@pytest.mark.parametrize("field", [name for name in HIDDEN_FIELDS if name != "user_tag"])
def test_filtering_a_hidden_field_names_it_in_the_403(world: World, field: str) -> None:
    # (user_tag in a URL is a 400 pointing to search whoever asks; tested below.)
    name = field.replace(".", "__")
    response = world.agent_token.get(f"/api/v1/sessions/?{name}=x")
    assert response.status_code == 403
    assert field.split(".")[0] in response.json()["field"]


@pytest.mark.parametrize("field", HIDDEN_FIELDS)
def test_search_body_lookups_on_hidden_fields_are_refused(world: World, field: str) -> None:
    for extra in body_lookups(field, HIDDEN_FIELDS[field]):
        response = world.agent_token.post(
            "/api/v1/sessions/search/",
            data=json.dumps({"user_tag": JANE, **extra}),
            content_type="application/json",
        )
        assert response.status_code in (400, 403), f"{extra}: {response.status_code}"
        assert_no_secret(response.content.decode())


def test_user_tag_in_a_url_is_a_400_pointing_to_search(world: World) -> None:
    for query in (f"user_tag={JANE}", f"user_tag__iexact={JANE}", f"User_Tag={JANE}"):
        response = world.agent_token.get(f"/api/v1/sessions/?{query}")
        assert response.status_code in (400, 403)
        assert JANE not in response.content.decode()
    response = world.agent_token.get(f"/api/v1/sessions/?user_tag={quote(JANE)}")
    assert response.status_code == 400
    assert "/api/v1/sessions/search/" in response.content.decode()


def test_list_and_export_without_lookups_mask_every_hidden_value(world: World) -> None:
    for url, headers in (
        ("/api/v1/sessions/", {}),
        ("/api/v1/sessions/?format=csv", {}),
        ("/api/v1/sessions/", {"Accept": "text/html"}),
        (f"/api/v1/sessions/{world.jane.pk}/", {}),
    ):
        client = world.agent if headers.get("Accept") == "text/html" else world.agent_token
        response = client.get(url, headers=headers)
        assert response.status_code == 200, url
        assert_no_secret(response.content.decode())


# --- admin --------------------------------------------------------------------------

ADMIN_CHANGELIST = "/admin/sessions_app/usersession/"


@pytest.mark.parametrize("field", HIDDEN_FIELDS)
def test_admin_url_lookups_never_filter_and_leak_nothing(world: World, field: str) -> None:
    baseline = world.agent.get(ADMIN_CHANGELIST).content.decode()
    assert world.jane.user_id in baseline
    assert world.max.user_id in baseline
    for query in [*url_lookups(field, HIDDEN_FIELDS[field]), f"q={quote(JANE)}"]:
        response = world.agent.get(f"{ADMIN_CHANGELIST}?{query}")
        body = response.content.decode()
        assert_no_secret(body)
        if response.status_code == 200:
            # Accepted only if it did not change which rows come back.
            assert (world.jane.user_id in body, world.max.user_id in body) == (True, True), query
        else:
            assert response.status_code in (400, 403), f"{query}: {response.status_code}"


def test_admin_pages_mask_every_hidden_value(world: World) -> None:
    for url in (
        ADMIN_CHANGELIST,
        f"{ADMIN_CHANGELIST}{world.jane.pk}/change/",
        f"{ADMIN_CHANGELIST}{world.jane.pk}/history/",
        "/admin/sessions_app/useraction/",
    ):
        response = world.agent.get(url)
        assert response.status_code == 200, url
        assert_no_secret(response.content.decode())


# --- help-desk dashboard ------------------------------------------------------------

DASHBOARD = "/dashboard/"


@pytest.mark.parametrize("field", HIDDEN_FIELDS)
def test_dashboard_lookups_on_hidden_fields_are_refused_and_leak_nothing(
    world: World, field: str
) -> None:
    for query in url_lookups(field, HIDDEN_FIELDS[field]):
        response = world.agent.get(f"{DASHBOARD}?{query}")
        assert response.status_code in (400, 403), f"GET {query}: {response.status_code}"
        assert_no_secret(response.content.decode())
        name, _, value = query.partition("=")
        posted = world.agent.post(DASHBOARD, {"email": JANE, name: value})
        assert posted.status_code in (400, 403), f"POST {query}: {posted.status_code}"
        assert_no_secret(posted.content.decode())


def test_dashboard_pages_mask_every_hidden_value(world: World) -> None:
    for method, url, data in (
        ("get", DASHBOARD, None),
        ("post", DASHBOARD, {"email": JANE}),
        ("get", f"{DASHBOARD}?user_id={world.jane.user_id}", None),
        ("get", f"{DASHBOARD}sessions/{world.jane.pk}/", None),
        ("get", f"{DASHBOARD}overview/", None),
    ):
        response = getattr(world.agent, method)(url, data)
        assert response.status_code == 200, url
        assert_no_secret(response.content.decode())


def test_dashboard_email_search_differs_only_in_rows(world: World) -> None:
    found = world.agent.post(DASHBOARD, {"email": "Jane.Doe@Example.com"})
    unknown = world.agent.post(DASHBOARD, {"email": "nobody@example.com"})
    assert found.status_code == unknown.status_code == 200
    assert world.jane.user_id in found.content.decode()
    assert world.jane.user_id not in unknown.content.decode()
    assert_no_secret(found.content.decode())


# --- foreign applications: 404 everywhere, like a missing id ------------------------


def test_foreign_session_is_indistinguishable_from_a_missing_id(world: World) -> None:
    missing = UserSession.objects.order_by("-pk").first().pk + 1000
    for template in ("/api/v1/sessions/{pk}/", "/api/v1/sessions/{pk}/?format=csv"):
        foreign = world.agent_token.get(template.format(pk=world.foreign_session.pk))
        absent = world.agent_token.get(template.format(pk=missing))
        assert foreign.status_code == absent.status_code == 404
        assert foreign.content == absent.content
    foreign_page = world.agent.get(f"/dashboard/sessions/{world.foreign_session.pk}/")
    absent_page = world.agent.get(f"/dashboard/sessions/{missing}/")
    assert foreign_page.status_code == absent_page.status_code == 404
    assert foreign_page.content == absent_page.content
    foreign_admin = world.agent.get(f"{ADMIN_CHANGELIST}{world.foreign_session.pk}/change/")
    absent_admin = world.agent.get(f"{ADMIN_CHANGELIST}{missing}/change/")
    assert foreign_admin.status_code == absent_admin.status_code


def test_foreign_sessions_never_appear_in_lists_or_searches(world: World) -> None:
    listed = world.agent_token.get("/api/v1/sessions/")
    assert world.foreign_session.pk not in session_ids_in(listed)
    searched = world.agent_token.post(
        "/api/v1/sessions/search/",
        data={"user_tag": "foreign@example.com"},
        content_type="application/json",
    )
    assert searched.status_code == 200
    assert session_ids_in(searched) == []
    by_slug = world.agent_token.get("/api/v1/sessions/?application=foreign")
    assert by_slug.status_code in (200, 400, 404)
    if by_slug.status_code == 200:
        assert session_ids_in(by_slug) == []


# --- search responses do not reveal whether an email exists ------------------------


def test_search_for_existing_and_unknown_email_differ_only_in_rows(world: World) -> None:
    def search(tag: str):
        return world.agent_token.post(
            "/api/v1/sessions/search/", data={"user_tag": tag}, content_type="application/json"
        )

    found, unknown = search("Jane.Doe@Example.com"), search("nobody@example.com")
    assert found.status_code == unknown.status_code == 200
    ignored = {"Content-Length", "X-Request-ID"}
    assert {k for k in found.headers if k not in ignored} == {
        k for k in unknown.headers if k not in ignored
    }
    found_body, unknown_body = found.json(), unknown.json()
    assert set(found_body) == set(unknown_body)
    assert session_ids_in(found) == [world.jane.pk]
    assert unknown_body["results"] == []
    assert found_body["results"][0]["user_tag"] is None
    assert "user_tag" in found_body["results"][0]["masked_fields"]
    assert_no_secret(found.content.decode())


# --- error messages never echo a user tag -------------------------------------------


@pytest.mark.parametrize(
    "attempt",
    [
        {"user_tag": 42},
        {"user_tag": ""},
        {"user_tag": "x" * 300 + JANE},
        {"user_tag": JANE, "since": JANE},
        {"user_tag": JANE, "unknown": JANE},
        {"user_tag": JANE, "page_size": JANE},
        {"user_tag": JANE, "has_errors": JANE},
        {"user_tag": [JANE]},
    ],
)
def test_search_errors_never_echo_the_user_tag(world: World, attempt: dict[str, object]) -> None:
    response = world.agent_token.post(
        "/api/v1/sessions/search/", data=json.dumps(attempt), content_type="application/json"
    )
    assert 400 <= response.status_code < 500
    assert "jane" not in response.content.decode().lower()


@pytest.mark.parametrize(
    "query",
    [
        f"since={JANE}",
        f"until={JANE}",
        f"country={JANE}",
        f"{JANE}=1",
        f"ordering={JANE}",
        f"page_size={JANE}",
        f"cursor={JANE}",
        f"has_errors={JANE}",
    ],
)
def test_list_errors_never_echo_a_submitted_email(world: World, query: str) -> None:
    response = world.agent_token.get(f"/api/v1/sessions/?{query}")
    assert response.status_code in (200, 400, 403, 404)
    assert "jane" not in response.content.decode().lower()


def test_anonymous_requests_are_401_on_every_api_path(world: World) -> None:
    anonymous = Client()
    for path in (
        "/api/v1/sessions/",
        f"/api/v1/sessions/{world.jane.pk}/",
        "/api/v1/applications/",
        "/api/v1/fieldsets/",
        "/api/v1/me/",
        "/api/v1/audit/",
    ):
        assert anonymous.get(path).status_code == 401, path
    assert (
        anonymous.post(
            "/api/v1/sessions/search/", data={"user_tag": JANE}, content_type="application/json"
        ).status_code
        == 401
    )


def test_builtin_fieldset_is_the_one_under_test() -> None:
    # Guards the suite itself: the four built-in fields are in HIDDEN_FIELDS.
    builtin = Fieldset.objects.get(name=BUILTIN_SENSITIVE)
    assert set(builtin.fields) <= set(HIDDEN_FIELDS)


# --- cross-application join probe ---------------------------------------------------
#
# One person with sessions in two applications; a reader who sees tags in one
# ("web") and not in the other ("mobile"). user_id is visible to every reader,
# so it must not be a join key: the only way across applications is the
# audited user-tag search.

PSEUDONYM = re.compile(r"u\d+_[0-9a-f]{32}")


@dataclass
class JoinWorld:
    web: Application
    mobile: Application
    web_sessions: dict[str, list[int]]  # tag -> session ids
    mobile_sessions: dict[str, list[int]]
    api: Client
    browser: Client


@pytest.fixture
def join_world() -> JoinWorld:
    web = make_application("web")
    mobile = make_application("mobile", user_tag_storage="encrypted")
    customers = (JANE, MAX)
    web_sessions, mobile_sessions = (
        {
            tag: [session.pk for session in stored_sessions(application, [{"user_tag": tag}] * 2)]
            for tag in customers
        }
        for application in (web, mobile)
    )
    reader = User.objects.create_user("reader", password="pw", is_staff=True)
    grant_record_access(user=reader, application=web)
    grant_record_access(user=reader, application=mobile)
    grant_fieldset(fieldset_name=BUILTIN_SENSITIVE, user=reader, application=web)
    browser = Client()
    browser.force_login(reader)
    api = Client(headers={"Authorization": f"Token {api_token_create(user=reader)[1]}"})
    return JoinWorld(web, mobile, web_sessions, mobile_sessions, api, browser)


def _api_rows(world: JoinWorld, **params: str) -> list[dict[str, object]]:
    response = world.api.get("/api/v1/sessions/", {"page_size": "500", **params})
    assert response.status_code == 200
    return response.json()["results"]


def _dashboard_ids(html: str) -> set[int]:
    return {int(pk) for pk in re.findall(r'href="/dashboard/sessions/(\d+)/"', html)}


def test_cross_application_join_probe(join_world: JoinWorld) -> None:
    world = join_world
    web_ids = {pk for pks in world.web_sessions.values() for pk in pks}
    mobile_ids = {pk for pks in world.mobile_sessions.values() for pk in pks}
    revealed = {row["user_id"]: row["user_tag"] for row in _api_rows(world, application="web")}
    masked_rows = _api_rows(world, application="mobile")
    assert set(revealed.values()) == {JANE, MAX}
    assert all(row["user_tag"] is None for row in masked_rows)

    # 1. No user_id of the masked application is a user_id of the revealed one,
    #    in the API or on the admin changelist.
    assert not set(revealed) & {row["user_id"] for row in masked_rows}
    admin_web = world.browser.get(f"{ADMIN_CHANGELIST}?application=web").content.decode()
    admin_mobile = world.browser.get(f"{ADMIN_CHANGELIST}?application=mobile").content.decode()
    assert not set(PSEUDONYM.findall(admin_web)) & set(PSEUDONYM.findall(admin_mobile))

    for user_id, tag in revealed.items():
        # 2. API list filter: only the revealed application's sessions, also as CSV.
        assert {row["id"] for row in _api_rows(world, user_id=user_id)} == set(
            world.web_sessions[tag]
        )
        assert _api_rows(world, user_id=user_id, application="mobile") == []
        csv = world.api.get("/api/v1/sessions/", {"user_id": user_id, "format": "csv"})
        assert csv.status_code == 200
        csv_ids = {int(line.split(",")[0]) for line in csv.content.decode().splitlines()[1:]}
        assert csv_ids == set(world.web_sessions[tag])
        # 3. Dashboard: the user_id filter and "Other sessions of this customer".
        listed = world.browser.get(DASHBOARD, {"user_id": user_id}).content.decode()
        assert _dashboard_ids(listed) == set(world.web_sessions[tag])
        page = world.browser.get(f"{DASHBOARD}sessions/{world.web_sessions[tag][0]}/")
        link = re.search(r'href="([^"]*)"[^>]*>Other sessions of this customer', page.text)
        assert link is not None
        others = world.browser.get(link[1].replace("&amp;", "&")).content.decode()
        assert _dashboard_ids(others) == set(world.web_sessions[tag])
        # 4. Admin: no URL lookup by user_id at all.
        assert world.browser.get(f"{ADMIN_CHANGELIST}?user_id={user_id}").status_code == 400

    # From the masked side the other way round: never a revealed session or tag.
    for row in masked_rows:
        joined = _api_rows(world, user_id=str(row["user_id"]))
        assert {found["id"] for found in joined} <= mobile_ids
        assert all(found["user_tag"] is None for found in joined)
    assert web_ids.isdisjoint(mobile_ids)

    # 5. Crossing applications: only through the user-tag search, and audited.
    before = AuditRecord.objects.filter(kind="search").count()
    searched = world.api.post(
        "/api/v1/sessions/search/", data={"user_tag": JANE}, content_type="application/json"
    )
    assert set(session_ids_in(searched)) == set(
        world.web_sessions[JANE] + world.mobile_sessions[JANE]
    )
    assert AuditRecord.objects.filter(kind="search").count() == before + 1
