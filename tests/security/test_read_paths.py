"""Issue 9, items 10, 13, 14 and 15: read paths that echoed, crashed or disagreed.

Each test is named after its item and failed on the code before the fix.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from django.contrib.auth.models import Group, Permission, User
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction
from django.test import Client

from access.services import api_token_create
from fieldsets.models import BUILTIN_SENSITIVE, reveal_codename
from fieldsets.registry import ACTION
from permissions.audit import Actor, audit_reveal
from permissions.models import CHANGE_KINDS, AuditKind, AuditRecord
from permissions.policy import Disclosure, FieldsetPolicy
from permissions.services import grant_fieldset, grant_record_access
from sessions_app.admin import column_name
from sessions_app.filters import FILTER_FIELDS
from sessions_app.models import Application, UserAction
from tests.factories import make_application, stored_session

pytestmark = pytest.mark.django_db

JANE = "jane.doe@example.com"
# Planted free text: no spaces, so no URL encoding could hide an echo of it.
FREE_TEXT = "zebra-plan-7731"
STACK = "Traceback: stack-frame-secret-4242"
SEARCH = "/api/v1/sessions/search/"
FIND = "/dashboard/"
OVERVIEW = "/dashboard/overview/"
CHANGELIST = "/admin/sessions_app/usersession/"


class Shops:
    def __init__(self) -> None:
        self.shop = make_application("shop")
        self.foreign = make_application("foreign")
        failed_payment = {
            "type": "xhr",
            "error": {"message": "Payment failed", "stack": STACK},
            "product": {"sku": "DRESS-42", "price": "79.90", "event": "add_to_cart"},
        }
        self.jane = stored_session(self.shop, user_tag=JANE, country="AT", actions=[failed_payment])
        self.bob = stored_session(self.shop, user_tag="bob@example.org", country="DE")
        self.agent = User.objects.create_user("agent", password="pw", is_staff=True)
        grant_record_access(user=self.agent, application=self.shop)
        self._agent_key: str | None = None

    def browser(self, user: User | None = None) -> Client:
        client = Client()
        client.force_login(user or self.agent)
        return client

    def api(self, user: User | None = None) -> Client:
        if user is None and self._agent_key is None:
            self._agent_key = api_token_create(user=self.agent)[1]
        key = self._agent_key if user is None else api_token_create(user=user)[1]
        return Client(headers={"Authorization": f"Token {key}"})


@pytest.fixture
def shops() -> Shops:
    return Shops()


def body_of(response: Any) -> str:
    return response.content.decode()


def assert_not_echoed(response: Any, *planted: str) -> None:
    body = body_of(response)
    for value in planted:
        assert value not in body, f"{value!r} echoed with status {response.status_code}"


# --- item 10 -------------------------------------------------------------------------


DASHBOARD_POSTS: list[dict[str, str]] = [
    {"email": JANE, "since": "not-a-date"},
    {"email": JANE, "until": FREE_TEXT},
    {"email": JANE, "application": FREE_TEXT},
    {"email": JANE, "converted": FREE_TEXT},
    {"email": JANE, "client_ip": FREE_TEXT},  # refused (hidden field), 403
    {"email": JANE, FREE_TEXT: "1"},  # refused (unknown name)
    {"user_id": FREE_TEXT, "since": "not-a-date"},
    {"session": FREE_TEXT, "application": "not-an-application"},
    {"user_id": JANE},
    {"session": JANE},
]
DASHBOARD_GETS = [
    f"{FIND}?application={FREE_TEXT}",
    f"{FIND}?since={FREE_TEXT}",
    f"{FIND}?user_id={FREE_TEXT}&until=not-a-date",
    f"{FIND}?session={FREE_TEXT}&converted=maybe",
    f"{FIND}?application={JANE}",
    f"{OVERVIEW}?since={FREE_TEXT}",
    f"{OVERVIEW}?until={FREE_TEXT}",
]
API_GETS = [
    f"application={FREE_TEXT}",
    f"since={FREE_TEXT}",
    f"until={FREE_TEXT}",
    f"has_errors={FREE_TEXT}",
    f"ordering={FREE_TEXT}",
    f"cursor={FREE_TEXT}",
    f"page_size={FREE_TEXT}",
    f"{FREE_TEXT}=1",
    f"application={JANE}",
    f"user_id={JANE}",
]
SEARCH_BODIES: list[dict[str, Any]] = [
    {"user_tag": JANE, "since": FREE_TEXT},
    {"user_tag": JANE, "application": FREE_TEXT},
    {"user_tag": JANE, "converted": FREE_TEXT},
    {"user_tag": JANE, FREE_TEXT: "1"},
    {"user_tag": JANE, FREE_TEXT: "\ud800"},
    {"user_tag": JANE, JANE: "\ud800"},
]


def test_item10_forms_and_errors_never_echo_a_typed_email_or_free_text(shops: Shops) -> None:
    browser, api = shops.browser(), shops.api()
    for data in DASHBOARD_POSTS:
        response = browser.post(FIND, data)
        assert response.status_code in (400, 403), data
        assert_not_echoed(response, JANE, FREE_TEXT)
    for url in DASHBOARD_GETS:
        response = browser.get(url)
        assert response.status_code in (400, 403), url
        assert_not_echoed(response, JANE, FREE_TEXT)
    for url in (f"{CHANGELIST}?application={FREE_TEXT}", f"{CHANGELIST}?application=foreign"):
        response = browser.get(url, follow=True)
        assert response.redirect_chain[-1][0].endswith("?e=1"), url  # refused, not filtered
        assert_not_echoed(response, FREE_TEXT, "foreign")
    for query in API_GETS:
        for headers in ({}, {"Accept": "text/html"}):
            response = api.get(f"/api/v1/sessions/?{query}", headers=headers)
            assert response.status_code in (400, 403), query
            assert_not_echoed(response, JANE, FREE_TEXT)  # browsable API included
    for body in SEARCH_BODIES:
        for headers in ({}, {"Accept": "text/html"}):
            response = api.post(
                SEARCH, json.dumps(body), content_type="application/json", headers=headers
            )
            assert response.status_code in (400, 403), body
            assert_not_echoed(response, JANE, FREE_TEXT)


# --- item 13 -------------------------------------------------------------------------


def test_item13_the_admin_shows_exactly_the_action_fields_the_api_shows(shops: Shops) -> None:
    """Both show the registry's action fields, masked alike: the agent holds no
    request-details fieldset, so the stack trace is masked on both paths."""
    action = UserAction.objects.get(session=shops.jane)
    admin_page = shops.browser().get(f"/admin/sessions_app/useraction/{action.pk}/change/")
    api_action = shops.api().get(f"/api/v1/sessions/{shops.jane.pk}/").json()["actions"][0]
    html = body_of(admin_page)

    assert admin_page.status_code == 200
    assert STACK not in html
    assert api_action["error_stack"] is None
    assert "error_stack" in api_action["masked_fields"]
    shown_by_admin = {
        css.split('"')[0] for css in html.split('class="form-row field-')[1:] if css
    } - {"session"}
    assert shown_by_admin == {column_name(f) for f in ACTION.fields}
    api_fields = {
        f"{key}.{inner}" if isinstance(value, dict) and key == "product" else key
        for key, value in api_action.items()
        for inner in (value if isinstance(value, dict) and key == "product" else [None])
    } - {"masked_fields"}
    assert api_fields == {f.name for f in ACTION.fields}


# --- item 14 -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        f"{OVERVIEW}?since=9999-12-31",
        f"{OVERVIEW}?until=9999-12-31",
        f"{OVERVIEW}?since=0001-01-01&until=0001-01-01",
        f"{FIND}?until=9999-12-31",
        f"{FIND}?since=0001-01-01",
    ],
)
def test_item14_out_of_range_dates_are_a_form_error_not_a_500(shops: Shops, url: str) -> None:
    response = shops.browser().get(url)

    assert response.status_code == 400
    assert "Enter a date between 1970-01-01 and 9999-12-30." in body_of(response)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("since=9999-12-31T23:59:59-10:00", "since"),
        ("until=0001-01-01T00:00:00%2B01:00", "until"),
        ("since=10000-01-01T00:00:00Z", "since"),
    ],
)
def test_item14_out_of_range_dates_are_400_in_the_api(shops: Shops, query: str, field: str) -> None:
    response = shops.api().get(f"/api/v1/sessions/?{query}")

    assert response.status_code == 400
    assert field in response.json()


def test_item14_a_session_at_the_end_of_the_calendar_does_not_break_the_overview(
    shops: Shops,
) -> None:
    stored_session(shops.shop, started_at=datetime(9999, 12, 31, 23, 30, tzinfo=UTC))

    assert shops.browser().get(OVERVIEW).status_code == 200


# --- item 15: names ------------------------------------------------------------------


@pytest.mark.parametrize(
    "query", ["CLIENT_IP=1", "Client_Ip__StartsWith=1", "ordering=-CLIENT_IP", "\uff43lient_ip=1"]
)
def test_item15_parameter_names_are_case_insensitive_for_hidden_fields(
    shops: Shops, query: str
) -> None:
    api = shops.api().get(f"/api/v1/sessions/?{query}")
    dashboard = shops.browser().get(f"{FIND}?{query}")

    assert api.status_code == 403
    assert api.json()["field"] == "client_ip"
    if not query.startswith("ordering"):  # the dashboard has no ordering parameter
        assert dashboard.status_code == 403
        assert "&#x27;client_ip&#x27;" in body_of(dashboard)


def test_item15_a_filter_in_another_spelling_filters_and_a_repeat_is_refused(
    shops: Shops,
) -> None:
    api = shops.api()
    by_country = api.get("/api/v1/sessions/?Country=AT").json()["results"]
    repeated = api.get("/api/v1/sessions/?country=AT&COUNTRY=DE")
    search = api.post(
        SEARCH, json.dumps({"USER_TAG": JANE, "Application": "shop"}), "application/json"
    )
    dashboard = shops.browser().get(f"{FIND}?Session={shops.bob.session_id}")

    assert [row["id"] for row in by_country] == [shops.jane.pk]
    assert repeated.status_code == 400
    assert [row["id"] for row in search.json()["results"]] == [shops.jane.pk]
    assert f"/dashboard/sessions/{shops.bob.pk}/" in body_of(dashboard)
    assert f"/dashboard/sessions/{shops.jane.pk}/" not in body_of(dashboard)


# --- item 15: emails in URLs ---------------------------------------------------------

EMAIL_SPELLINGS = [
    JANE,
    "jane.doe%2540example.com",  # arrives as jane.doe%40example.com
    "jane.doe%EF%BC%A0example.com",  # fullwidth at sign
    "kunde%40m%C3%BCller.de",  # IDN domain
]


@pytest.mark.parametrize("name", [*FILTER_FIELDS, "ordering", "cursor", "page_size", "format"])
def test_item15_an_email_in_any_url_filter_is_400_pointing_to_the_search(
    shops: Shops, name: str
) -> None:
    api = shops.api()
    for email in EMAIL_SPELLINGS:
        for headers in ({}, {"Accept": "text/html"}):
            response = api.get(f"/api/v1/sessions/?{name}={email}", headers=headers)
            assert response.status_code == 400, (name, email)
            assert response["Content-Type"] == "application/json"
            assert response.json()["search"] == SEARCH
            assert "jane" not in body_of(response)
            assert "kunde" not in body_of(response)


def test_item15_an_email_in_the_url_is_refused_on_every_endpoint_and_before_login(
    shops: Shops,
) -> None:
    anonymous = Client()
    for path in ("/api/v1/me/", f"/api/v1/sessions/{shops.jane.pk}/", "/api/v1/audit/"):
        response = shops.api().get(f"{path}?x={JANE}")
        assert response.status_code == 400, path
        assert_not_echoed(response, JANE)
    for client in (anonymous, shops.browser()):
        for url in (f"{FIND}?user_id={JANE}", f"{OVERVIEW}?since={JANE}"):
            response = client.get(url)
            assert response.status_code == 400, url
            assert "Location" not in response  # no login redirect carrying it in ?next=
            assert_not_echoed(response, JANE)
            assert f'href="{FIND}"' in body_of(response)  # points to the search form
    login = anonymous.get(f"/dashboard/login/?next=/dashboard/%3Fuser_id%3D{JANE}")
    assert login.status_code == 400
    assert_not_echoed(login, JANE)
    api_anonymous = anonymous.get(
        f"/api/v1/sessions/?user_id={JANE}", headers={"Accept": "text/html"}
    )
    assert_not_echoed(api_anonymous, JANE)


# --- item 15: GET on the search ------------------------------------------------------


def test_item15_get_on_the_search_is_a_400_pointing_to_post_as_documented(
    shops: Shops,
) -> None:
    api = shops.api()
    response = api.get(SEARCH)
    schema = shops.browser().get("/api/schema/?format=json").json()
    search_operations = schema["paths"][SEARCH]

    assert response.status_code == 400
    assert "POST" in response.json()["detail"]
    assert response.json()["search"] == SEARCH
    assert api.put(SEARCH).status_code == 405
    assert set(search_operations) == {"post"}
    assert "GET on this URL is a 400" in search_operations["post"]["description"]


# --- item 15: application settings ---------------------------------------------------


def _settings_form(application: Application, **changes: Any) -> dict[str, Any]:
    # The admin edits overrides of the environment defaults: empty is "inherited".
    return {"name": application.name, **{f"{name}_override": v for name, v in changes.items()}}


def test_item15_privacy_settings_change_only_on_readable_applications_and_is_audited(
    shops: Shops,
) -> None:
    operator = User.objects.create_user("operator", password="pw", is_staff=True)
    operator.user_permissions.add(
        *Permission.objects.filter(codename__in=["change_application", "view_application"])
    )
    grant_record_access(user=operator, application=shops.shop)
    client = shops.browser(operator)
    change = "/admin/sessions_app/application/{}/change/"

    changelist = body_of(client.get("/admin/sessions_app/application/"))
    foreign_page = client.get(change.format(shops.foreign.pk))
    client.post(change.format(shops.foreign.pk), _settings_form(shops.foreign, ip_masking="off"))
    saved = client.post(change.format(shops.shop.pk), _settings_form(shops.shop, ip_masking="off"))

    assert change.format(shops.shop.pk) in changelist
    assert change.format(shops.foreign.pk) not in changelist
    assert foreign_page.status_code != 200
    assert saved.status_code == 302
    shops.foreign.refresh_from_db()
    shops.shop.refresh_from_db()
    assert shops.foreign.ip_masking == "all"
    assert shops.shop.ip_masking == "off"
    record = AuditRecord.objects.get(kind=AuditKind.SETTINGS_CHANGE)
    assert record.username == "operator"
    assert record.applications == ["shop"]
    # null: the application inherited the environment default before.
    assert record.changes == {"before": {"ip_masking": None}, "after": {"ip_masking": "off"}}


def test_item15_the_configure_command_audits_settings_changes_too(shops: Shops) -> None:
    call_command("configure_application", "shop", "--retention-days", "90", stdout=None)

    record = AuditRecord.objects.get(kind=AuditKind.SETTINGS_CHANGE)
    assert record.method == "COMMAND"
    assert record.applications == ["shop"]
    assert record.changes == {"before": {"retention_days": None}, "after": {"retention_days": 90}}
    assert (
        shops.api(User.objects.create_superuser("root"))
        .get("/api/v1/audit/?kind=settings_change")
        .json()["results"][0]["changes"]
        == record.changes
    )


# --- item 15: append-only on SQLite too ----------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_item15_the_database_refuses_to_change_audit_records_and_flush_still_empties_them() -> None:
    record = audit_reveal(
        actor=Actor(username="someone", path="/", method="GET"),
        disclosure=Disclosure(session_ids=[1], applications={"shop"}, fieldsets={"f"}),
    )
    assert record is not None
    table = connection.ops.quote_name(AuditRecord._meta.db_table)
    for statement in (
        f"UPDATE {table} SET username = 'else' WHERE id = %s",  # noqa: S608
        f"DELETE FROM {table} WHERE id = %s",  # noqa: S608
        f"DELETE FROM {table}",  # noqa: S608
    ):
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement, [record.pk] if "%s" in statement else [])
    assert AuditRecord.objects.filter(pk=record.pk, username="someone").exists()

    call_command("flush", interactive=False, verbosity=0)

    assert not AuditRecord.objects.exclude(kind__in=CHANGE_KINDS).exists()
    # The guard is back up after the flush.
    again = Actor(username="again", path="/", method="GET")
    audit_reveal(actor=again, disclosure=Disclosure([1], {"a"}, {"f"}))
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {table}")  # noqa: S608


# --- item 15: has_perm and the policy ------------------------------------------------


def test_item15_has_perm_on_an_application_agrees_with_the_policy() -> None:
    shop, other = make_application("shop"), make_application("other")
    read, reveal = (
        "sessions_app.read_sessions",
        f"sessions_app.{reveal_codename(BUILTIN_SENSITIVE)}",
    )
    group = Group.objects.create(name="desk")
    global_group = Group.objects.create(name="everywhere")

    def user(name: str, **flags: Any) -> User:
        return User.objects.create_user(name, **flags)

    per_app = user("per-app")
    grant_record_access(user=per_app, application=shop)
    grant_fieldset(fieldset_name=BUILTIN_SENSITIVE, user=per_app, application=shop)
    via_group = user("via-group")
    via_group.groups.add(group)
    grant_record_access(group=group, application=shop)
    grant_fieldset(fieldset_name=BUILTIN_SENSITIVE, group=group, application=shop)
    everywhere = user("everywhere")
    grant_record_access(user=everywhere)
    grant_fieldset(fieldset_name=BUILTIN_SENSITIVE, user=everywhere)
    group_everywhere = user("group-everywhere")
    group_everywhere.groups.add(global_group)
    grant_record_access(group=global_group)
    reveal_only = user("reveal-only")  # a fieldset without record access reveals nothing
    grant_fieldset(fieldset_name=BUILTIN_SENSITIVE, user=reveal_only, application=shop)
    inactive = user("inactive", is_active=False)
    grant_record_access(user=inactive)
    root = User.objects.create_superuser("root")

    # (username) -> {(permission, application): expected}
    expected = {
        "per-app": {(read, shop): True, (reveal, shop): True, (read, other): False},
        "via-group": {(read, shop): True, (reveal, shop): True, (read, other): False},
        "everywhere": {(read, shop): True, (reveal, other): True, (read, other): True},
        "group-everywhere": {(read, other): True, (reveal, other): False},
        "reveal-only": {(read, shop): False, (reveal, shop): False},
        "inactive": {(read, shop): False},
        "root": {(read, other): True, (reveal, other): True},
    }
    for name, cases in expected.items():
        fresh = User.objects.get(username=name)  # no permission cache from earlier calls
        policy = FieldsetPolicy(user=fresh)
        for (permission, application), allowed in cases.items():
            says = fresh.has_perm(permission, application)
            decides = (
                policy.can_read(application.pk)
                if permission == read
                else policy.holds(BUILTIN_SENSITIVE, application.pk)
            )
            assert says == decides == allowed, (name, permission, application.slug)
    assert root.is_superuser
