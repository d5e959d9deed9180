"""Issue 9, item 6: searches must not be replayable without an audit record.

The attack: the admin's customer search redirected to ``?customer=<blind
index>``, and that value was also the audit record's ``search_tag_hash``, so
anyone with the audit trail and record access re-ran a logged search by URL,
unaudited. And after a blind-index key rotation the admin found nothing while
the API found the session. Now the audit hash has its own keyring, the URL
carries a random id kept in the searching user's session only, every page of
results is audited, and every read path searches through one selector.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.conf import settings
from django.contrib.auth.models import Permission, User
from django.test import Client, override_settings

from permissions import subjects
from permissions.models import CHANGE_KINDS, AuditRecord
from permissions.services import grant_record_access
from privacy.keyring import parse_keyring
from sessions_app import admin_search, user_tags
from sessions_app.models import Application, UserSession
from tests.factories import make_application, stored_session
from tests.permissions.principals import api_client

pytestmark = pytest.mark.django_db

JANE = "jane.doe@example.com"
CHANGELIST = "/admin/sessions_app/usersession/"
SEARCH = f"{CHANGELIST}customer-search/"


@pytest.fixture
def shop() -> Application:
    return make_application("shop")


@pytest.fixture
def jane(shop: Application) -> UserSession:
    stored_session(shop, user_tag="max@example.com")
    return stored_session(shop, user_tag=JANE)


def staff(username: str, shop: Application, *, auditor: bool = False) -> User:
    user = User.objects.create_user(username, password="pw", is_staff=True)
    grant_record_access(user=user, application=shop)
    if auditor:
        user.user_permissions.add(Permission.objects.get(codename="view_auditrecord"))
    return user


def logged_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def admin_search_for(client: Client, tag: str = JANE) -> str:
    """POST the admin's customer search; the URL of its results."""
    response = client.post(SEARCH, {"user_tag": tag})
    assert response.status_code == 302
    return response["Location"]


def listed_ids(html: str) -> set[int]:
    return {int(pk) for pk in re.findall(rf'href="{CHANGELIST}(\d+)/change/', html)}


def searches() -> int:
    return AuditRecord.objects.filter(kind="search").count()


def assert_refused(client: Client, url: str) -> None:
    """No search results: back to the plain list (every readable row), with an error message."""
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"] == CHANGELIST
    page = client.get(CHANGELIST).content.decode()
    assert "This customer search has expired or belongs to another sign-in" in page
    assert listed_ids(page) == set(UserSession.objects.values_list("pk", flat=True))


def test_item6_the_audit_hash_is_no_search_key(shop: Application, jane: UserSession) -> None:
    admin_search_for(logged_in(staff("agent", shop)))
    api_client(staff("api-agent", shop)).post(
        "/api/v1/sessions/search/", {"user_tag": JANE}, format="json"
    )
    logged = set(
        AuditRecord.objects.exclude(kind__in=CHANGE_KINDS).values_list("search_tag_hash", flat=True)
    )
    assert len(logged) == 1
    (tag_hash,) = logged

    blind_indexes = user_tags.blind_index_candidates_for(JANE)
    assert tag_hash not in blind_indexes
    assert not UserSession.objects.filter(user_tag_blind_index=tag_hash).exists()
    # An auditor with record access replays the logged search by URL: refused, unaudited.
    before = searches()
    assert_refused(
        logged_in(staff("auditor", shop, auditor=True)), f"{CHANGELIST}?customer={tag_hash}"
    )
    assert searches() == before


def test_item6_the_admin_search_url_carries_no_search_key(
    shop: Application, jane: UserSession
) -> None:
    agent = logged_in(staff("agent", shop))
    location = admin_search_for(agent)
    (search_id,) = parse_qs(urlsplit(location).query)["customer"]
    assert jane.pk in listed_ids(agent.get(location).content.decode())

    record = AuditRecord.objects.get(kind="search")
    for key in (*user_tags.blind_index_candidates_for(JANE), record.search_tag_hash):
        assert key not in location
    assert search_id not in str(AuditRecord.objects.exclude(kind__in=CHANGE_KINDS).values().get())
    # The same URL is worthless to anyone else, even with the same record access ...
    assert_refused(logged_in(staff("colleague", shop, auditor=True)), location)
    # ... and to the same user after signing in again.
    agent.logout()
    agent.force_login(User.objects.get(username="agent"))
    assert_refused(agent, location)


def test_item6_an_admin_search_expires(
    shop: Application, jane: UserSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    agent = logged_in(staff("agent", shop))
    location = admin_search_for(agent)
    assert jane.pk in listed_ids(agent.get(location).content.decode())
    later = admin_search._now() + settings.RUMVAULT_ADMIN_SEARCH_MAX_AGE + 1
    monkeypatch.setattr(admin_search, "_now", lambda: later)

    assert_refused(agent, location)


def test_item6_every_display_of_admin_search_results_is_audited(
    shop: Application, jane: UserSession
) -> None:
    agent = logged_in(staff("agent", shop))
    location = admin_search_for(agent)
    assert searches() == 0  # the POST stores the search; it shows nothing yet

    for number, url in enumerate((location, location, f"{location}&application=shop"), 1):
        response = agent.get(url)
        assert response.status_code == 200
        assert jane.pk in listed_ids(response.content.decode())
        assert searches() == number

    record = AuditRecord.objects.filter(kind="search").latest("id")
    assert (record.username, record.method, record.path) == ("agent", "GET", CHANGELIST)
    assert record.session_ids == [jane.pk]
    assert record.applications == ["shop"]
    assert record.search_tag_hash == subjects.current_value(user_tags.normalise(JANE))


def test_item6_every_read_path_finds_sessions_written_before_a_blind_index_rotation(
    shop: Application,
) -> None:
    old_keys = "1:blind-index-key-before-the-rotation-000000"
    with override_settings(RUMVAULT_BLIND_INDEX_KEYS=parse_keyring(old_keys)):
        jane = stored_session(shop, user_tag=JANE)
    agent = staff("agent", shop)
    rotated = parse_keyring(f"{old_keys},2:blind-index-key-after-the-rotation-1111111")

    with override_settings(RUMVAULT_BLIND_INDEX_KEYS=rotated):
        found: dict[str, Any] = {}
        api = api_client(agent).post("/api/v1/sessions/search/", {"user_tag": JANE}, format="json")
        found["api"] = {row["id"] for row in api.json()["results"]}
        browser = logged_in(agent)
        dashboard = browser.post("/dashboard/", {"email": JANE}).content.decode()
        found["dashboard"] = {
            int(pk) for pk in re.findall(r'href="/dashboard/sessions/(\d+)/"', dashboard)
        }
        found["admin"] = listed_ids(browser.get(admin_search_for(browser)).content.decode())

    assert found == {"api": {jane.pk}, "dashboard": {jane.pk}, "admin": {jane.pk}}
