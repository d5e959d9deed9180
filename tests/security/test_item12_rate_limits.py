"""Issue 9, item 12: searches per user, ingest per token and log-ins per account and
address are rate limited, with 429 and Retry-After, in state shared by every worker."""

from __future__ import annotations

import threading

import pytest
from django.contrib.auth.models import Permission, User
from django.db import connection
from django.http import HttpResponse
from django.test import Client

from access.models import RateLimitCounter
from access.rates import INGEST, LOGIN_ACCOUNT, LOGIN_ADDRESS, SEARCH, Rate
from access.throttling import hit
from permissions.services import grant_record_access
from sessions_app.models import Application
from tests.conftest import database_is_postgresql
from tests.factories import make_application, stored_session
from tests.sessions_app.ingest_support import INGEST_URL, batch, new_application, session

pytestmark = pytest.mark.django_db

JANE = "jane.doe@example.com"
PASSWORD = "correct horse battery staple"
UNLIMITED = Rate(1_000_000, 1)


@pytest.fixture
def limits(settings):
    """Rate limits small enough to reach; returns a setter for one limit."""
    settings.RUMVAULT_RATE_LIMITS = dict.fromkeys(
        (SEARCH, INGEST, LOGIN_ACCOUNT, LOGIN_ADDRESS), UNLIMITED
    )

    def set_limit(name: str, limit: int, period: int = 60) -> None:
        settings.RUMVAULT_RATE_LIMITS = {**settings.RUMVAULT_RATE_LIMITS, name: Rate(limit, period)}

    return set_limit


def assert_throttled(response: HttpResponse, period: int = 60) -> None:
    assert response.status_code == 429, response.content
    assert 1 <= int(response["Retry-After"]) <= period


@pytest.fixture
def shop() -> Application:
    application = make_application("shop")
    stored_session(application, user_tag=JANE)
    return application


def reader_client(username: str, application: Application) -> Client:
    """A logged-in staff reader of ``application`` who may use the admin's customer search."""
    user = User.objects.create_user(username, password=PASSWORD, is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_usersession"))
    grant_record_access(user=user, application=application)
    client = Client()
    client.force_login(user)
    return client


def api_search(client: Client) -> HttpResponse:
    return client.post(
        "/api/v1/sessions/search/", {"user_tag": JANE}, content_type="application/json"
    )


def test_item12_searches_are_limited_per_user_on_every_search_path(limits, shop) -> None:
    limits(SEARCH, 3)
    agent, other = reader_client("agent", shop), reader_client("other", shop)
    for _ in range(3):
        assert api_search(agent).status_code == 200
    refused = api_search(agent)
    assert_throttled(refused)
    assert "throttled" in refused.json()["detail"].lower()
    # The dashboard's and the admin's searches share the user's limit ...
    assert_throttled(agent.post("/dashboard/", {"email": JANE}))
    assert_throttled(
        agent.post("/admin/sessions_app/usersession/customer-search/", {"user_tag": JANE})
    )
    # ... and each path counts on its own against a fresh user's.
    assert other.post("/dashboard/", {"email": JANE}).status_code == 200
    assert api_search(other).status_code == 200
    assert other.post(
        "/admin/sessions_app/usersession/customer-search/", {"user_tag": JANE}
    ).status_code in (200, 302)
    assert_throttled(api_search(other))


def test_item12_ingest_is_limited_per_token_with_the_ingest_error_shape(limits) -> None:
    limits(INGEST, 2)
    _, token = new_application("shop")
    _, other_token = new_application("other")

    def ingest(bearer: str) -> HttpResponse:
        return Client().post(
            INGEST_URL,
            batch(session()),
            content_type="application/json",
            headers={"Authorization": f"Bearer {bearer}"},
        )

    assert Client().post(INGEST_URL, {}, content_type="application/json").status_code == 401
    assert [ingest(token).status_code for _ in range(2)] == [200, 200]
    refused = ingest(token)
    assert_throttled(refused)
    errors = refused.json()["errors"]
    assert len(errors) == 1
    assert errors[0]["path"] == ""
    assert "retry" in errors[0]["message"].lower()
    assert ingest(other_token).status_code == 200


@pytest.mark.parametrize("login_url", ["/dashboard/login/", "/admin/login/", "/api/v1/auth/login/"])
def test_item12_login_attempts_are_limited_per_account(limits, login_url: str) -> None:
    limits(LOGIN_ACCOUNT, 3)
    User.objects.create_user("lead", password=PASSWORD, is_staff=True)
    User.objects.create_user("agent", password=PASSWORD, is_staff=True)
    for number in range(3):
        # Other addresses, other capitalisation: still the same account.
        guess = Client(REMOTE_ADDR=f"198.51.100.{number}")
        name = "lead" if number % 2 else "LEAD"
        assert guess.post(login_url, {"username": name, "password": "wrong"}).status_code == 200
    # Over the limit even the right password is refused, before it is checked.
    lead = Client()
    assert_throttled(lead.post(login_url, {"username": "lead", "password": PASSWORD}))
    assert "_auth_user_id" not in lead.session
    ok = Client().post(login_url, {"username": "agent", "password": PASSWORD})
    assert ok.status_code == 302


def test_item12_login_attempts_are_limited_per_address_across_login_pages(limits) -> None:
    limits(LOGIN_ADDRESS, 3)
    attacker = Client(REMOTE_ADDR="203.0.113.7")
    for number, url in enumerate(("/dashboard/login/", "/admin/login/", "/api/v1/auth/login/")):
        response = attacker.post(url, {"username": f"user{number}", "password": "x"})
        assert response.status_code == 200
    assert_throttled(attacker.post("/dashboard/login/", {"username": "user9", "password": "x"}))
    # A client's own X-Forwarded-For is not believed (no trusted proxy configured).
    spoofed = attacker.post(
        "/dashboard/login/",
        {"username": "user9", "password": "x"},
        headers={"X-Forwarded-For": "192.0.2.1"},
    )
    assert_throttled(spoofed)
    # IPv6: the whole /64 is one client.
    v6 = [Client(REMOTE_ADDR=f"2001:db8:1:2::{n}") for n in range(5)]
    statuses = [c.post("/dashboard/login/", {"username": "u", "password": "x"}) for c in v6]
    assert [r.status_code for r in statuses] == [200, 200, 200, 429, 429]
    assert Client(REMOTE_ADDR="203.0.113.8").get("/dashboard/login/").status_code == 200


def test_item12_counters_live_in_the_database_and_name_nobody(limits) -> None:
    limits(LOGIN_ACCOUNT, 1)
    Client(REMOTE_ADDR="203.0.113.7").post(
        "/dashboard/login/", {"username": "lead", "password": "x"}
    )
    rows = list(RateLimitCounter.objects.values_list("key", "count"))
    assert len(rows) == 2  # one for the account, one for the address
    assert all(len(key) == 64 and int(key, 16) >= 0 for key, _ in rows)
    stored = " ".join(key for key, _ in rows)
    assert "lead" not in stored
    assert "203.0.113" not in stored


@pytest.mark.django_db(transaction=True)
def test_item12_concurrent_attempts_are_counted_exactly(limits) -> None:
    """On PostgreSQL the attempts really race, each in its own connection and
    transaction; exactly the limit gets through."""
    limits(SEARCH, 5)
    attempts = 24 if database_is_postgresql() else 8
    barrier = threading.Barrier(attempts) if database_is_postgresql() else None
    allowed: list[bool] = []
    failures: list[BaseException] = []

    def attempt() -> None:
        try:
            if barrier is not None:
                barrier.wait()
            allowed.append(hit(SEARCH, "user:1") is None)
        except BaseException as error:
            failures.append(error)
        finally:
            if barrier is not None:
                connection.close()

    if barrier is None:  # SQLite serialises writers anyway
        for _ in range(attempts):
            attempt()
    else:
        threads = [threading.Thread(target=attempt) for _ in range(attempts)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    assert not failures, failures
    assert allowed.count(True) == 5
    assert allowed.count(False) == attempts - 5
