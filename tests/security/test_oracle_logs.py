"""Oracle suite, log records (issue 12): no log read path lets a caller learn a hidden value.

For a principal without the log fieldsets, every log read path (API list as
JSON, CSV and browsable API; a session's logs in the API detail, the
dashboard session page, the admin changelist and change page) x every hidden
log field x every lookup form is either refused (400/403) or has no effect on
which records come back, and no response contains a hidden value. Records of
an application the principal cannot read are indistinguishable from missing
ones, and a fieldset hiding the records as a whole (``logs``) hides them
everywhere.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import pytest
from django.contrib.auth.models import User
from django.test import Client

from access.services import api_token_create
from fieldsets.models import Fieldset
from logs.models import LogRecord
from permissions.services import grant_record_access
from sessions_app.models import Application, UserSession
from tests.factories import make_application, stored_log, stored_session
from tests.leaks import assert_none_in

pytestmark = pytest.mark.django_db

# Hidden log fields (two custom fieldsets) with a partial probe of the stored data.
HIDDEN: dict[str, str] = {
    "logs.body": "gatew",
    "logs.attributes.customer": "c-7",
    "logs.service": "check",
    "logs.host": "web",
    "logs.severity_number": "17",
    "logs.severity_text": "ERR",
}
SECRETS = ("gateway timeout", "c-7781", "checkout-svc", "web-host-9", "ERROR", "foreign-secret")
LOOKUPS = ("", "__iexact", "__contains", "__startswith", "__regex", "__gt", "__in")
LOGS_API = "/api/v1/logs/"
LOG_ADMIN = "/admin/logs/logrecord/"


@dataclass
class World:
    shop: Application
    session: UserSession
    record: LogRecord
    foreign: LogRecord
    api: Client
    browser: Client


@pytest.fixture
def world() -> World:
    shop = make_application("shop")
    other = make_application("other")
    Fieldset.objects.create(
        name="log-text", description="", fields=["logs.body", "logs.attributes.customer"]
    )
    Fieldset.objects.create(
        name="log-origin",
        description="",
        fields=["logs.service", "logs.host", "logs.severity_number", "logs.severity_text"],
    )
    session = stored_session(shop, session_id="s-oracle", actions=1)
    record = stored_log(
        shop,
        session_ref="s-oracle",
        body="Payment gateway timeout",
        attributes={"customer": "c-7781", "order_id": "A-1"},
        service_name="checkout-svc",
        host_name="web-host-9",
        severity_text="ERROR",
    )
    foreign = stored_log(other, body="foreign-secret")
    agent = User.objects.create_user("agent", password="pw", is_staff=True)
    grant_record_access(user=agent, application=shop)
    browser = Client()
    browser.force_login(agent)
    api = Client(headers={"Authorization": f"Token {api_token_create(user=agent)[1]}"})
    return World(shop, session, record, foreign, api, browser)


def assert_no_secret(body: str) -> None:
    assert_none_in(body, SECRETS)


def lookups(path: str, probe: str) -> list[str]:
    name = path.removeprefix("logs.").replace(".", "__")
    forms = [f"{name}{suffix}={quote(probe)}" for suffix in LOOKUPS]
    return [*forms, f"{path.removeprefix('logs.')}={quote(probe)}", f"ordering={name}"]


URLS = {
    "api": lambda q: (f"{LOGS_API}?{q}", {}),
    "csv": lambda q: (f"{LOGS_API}?{q}&format=csv", {}),
    "csv-accept": lambda q: (f"{LOGS_API}?{q}", {"Accept": "text/csv"}),
    "browsable": lambda q: (f"{LOGS_API}?{q}", {"Accept": "text/html"}),
}


@pytest.mark.parametrize("kind", URLS)
@pytest.mark.parametrize("path", HIDDEN)
def test_lookups_on_hidden_log_fields_are_refused_and_leak_nothing(
    world: World, kind: str, path: str
) -> None:
    client = world.browser if kind == "browsable" else world.api
    for query in lookups(path, HIDDEN[path]):
        url, headers = URLS[kind](query)
        response = client.get(url, headers=headers)
        assert response.status_code in (400, 403), f"{kind} {query}: {response.status_code}"
        assert_no_secret(response.content.decode())


@pytest.mark.parametrize(("query", "field"), [("severity=error", "logs.severity_number"),
                                              ("service=checkout-svc", "logs.service"),
                                              ("host=web-host-9", "logs.host")])  # fmt: skip
def test_a_filter_reading_a_hidden_field_is_a_403_naming_it(
    world: World, query: str, field: str
) -> None:
    response = world.api.get(f"{LOGS_API}?{query}")

    assert response.status_code == 403
    assert response.json()["field"] == field


def test_every_log_read_path_masks_every_hidden_value(world: World) -> None:
    for client, url, headers in (
        (world.api, LOGS_API, {}),
        (world.api, f"{LOGS_API}?format=csv", {}),
        (world.browser, LOGS_API, {"Accept": "text/html"}),
        (world.api, f"/api/v1/sessions/{world.session.pk}/", {}),
        (world.browser, f"/dashboard/sessions/{world.session.pk}/", {}),
        (world.browser, LOG_ADMIN, {}),
        (world.browser, f"{LOG_ADMIN}{world.record.pk}/change/", {}),
    ):
        response = client.get(url, headers=headers)
        assert response.status_code == 200, url
        assert_no_secret(response.content.decode())
    detail = world.api.get(f"/api/v1/sessions/{world.session.pk}/").json()
    assert [log["id"] for log in detail["logs"]] == [world.record.pk]
    assert set(detail["logs"][0]["masked_fields"]) == {
        "body", "attributes.customer", "service", "host", "severity_number", "severity_text"
    }  # fmt: skip


def test_admin_log_lookups_never_filter(world: World) -> None:
    for path, probe in HIDDEN.items():
        for query in [*lookups(path, probe), f"q={probe}"]:
            response = world.browser.get(f"{LOG_ADMIN}?{query}")
            assert response.status_code in (400, 403), query
            assert_no_secret(response.content.decode())


def test_foreign_log_records_are_indistinguishable_from_missing_ones(world: World) -> None:
    missing = LogRecord.objects.order_by("-pk").first().pk + 1000
    foreign = world.browser.get(f"{LOG_ADMIN}{world.foreign.pk}/change/")
    absent = world.browser.get(f"{LOG_ADMIN}{missing}/change/")
    assert foreign.status_code == absent.status_code
    listed = world.api.get(f"{LOGS_API}?page_size=500").json()["results"]
    assert [row["id"] for row in listed] == [world.record.pk]
    assert world.api.get(f"{LOGS_API}?application=other").status_code == 400


def test_hiding_the_logs_collection_hides_the_records_on_every_path(world: World) -> None:
    Fieldset.objects.create(name="no-logs", description="", fields=["logs"])

    assert world.api.get(LOGS_API).json()["results"] == []
    assert world.api.get(f"{LOGS_API}?application=shop").status_code == 403
    assert world.api.get(f"/api/v1/sessions/{world.session.pk}/").json()["logs"] is None
    page = world.browser.get(f"/dashboard/sessions/{world.session.pk}/").content.decode()
    assert "log lines of this session are in a fieldset you do not hold" in page
    admin = world.browser.get(f"{LOG_ADMIN}{world.record.pk}/change/").content.decode()
    assert "A-1" not in admin  # even the visible attribute: the record itself is hidden
    for body in (page, admin):
        assert_no_secret(body)


def test_anonymous_log_reads_are_401(world: World) -> None:
    assert Client().get(LOGS_API).status_code == 401


# --- planted secrets: nothing planted in a log record comes back ---------------------


def _planted_logs(disguise) -> dict[str, object]:
    from tests.security import test_oracle_planted_secrets as planted

    secrets = (planted.EMAIL, planted.IDN_EMAIL, planted.CARD, planted.SPACED_CARD,
               planted.IBAN, planted.JWT, planted.IP)  # fmt: skip
    everything = " ".join(disguise(secret) for secret in secrets)
    credentials = {
        "password": planted.PASSWORD,
        "Pass\u200bword": planted.PASSWORD,
        "user": {"Password": planted.PASSWORD, "apiKey": planted.API_TOKEN},
        "Authorization": f"Bearer {planted.JWT}",
        "X-Api-Key": planted.API_TOKEN,
    }
    return {
        "logs": [
            {
                "time": (datetime.now(tz=UTC) - timedelta(minutes=1)).isoformat(),
                "severity_number": 17,
                "severity_text": disguise(planted.SHORT_EMAIL)[:32],
                "body": f"charge failed for {everything}",
                "service": disguise(planted.EMAIL),
                "host": disguise(planted.CARD),
                "host_group": disguise(planted.IP),
                "attributes": {
                    **credentials,
                    "note": everything,
                    disguise(planted.EMAIL): [disguise(planted.CARD), {"iban": planted.IBAN}],
                },
                "resource": {"owner": everything, "secret_key": planted.API_TOKEN},
                "session_id": f"s-{disguise(planted.EMAIL)}",
            }
        ]
    }


@pytest.mark.parametrize("disguise", ["plain", "fullwidth", "zero-width", "percent-encoded"])
def test_planted_secrets_in_log_records_never_come_back(disguise: str) -> None:
    from tests.security import test_oracle_planted_secrets as planted
    from tests.sessions_app.ingest_support import new_application, post

    application, token = new_application("shop")
    reader = User.objects.create_user("reader", password="pw", is_staff=True)
    grant_record_access(user=reader, application=application)
    browser = Client()
    browser.force_login(reader)
    hide = planted.DISGUISES[disguise]
    assert post(Client(), token, planted.planted_beacon(hide)).status_code == 200
    ingested = Client().post(
        "/api/v1/ingest/logs/",
        json.dumps(_planted_logs(hide)),
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert ingested.status_code == 200, ingested.content[:300]
    session = UserSession.objects.get()
    record = LogRecord.objects.get()
    assert record.session_ref == session.session_id  # linked through the digest

    reads = {
        "api logs": browser.get(LOGS_API),
        "api logs csv": browser.get(f"{LOGS_API}?format=csv"),
        "api logs browsable": browser.get(LOGS_API, headers={"Accept": "text/html"}),
        "api session detail": browser.get(f"/api/v1/sessions/{session.pk}/"),
        "dashboard session": browser.get(f"/dashboard/sessions/{session.pk}/"),
        "admin logs": browser.get(LOG_ADMIN),
        "admin log": browser.get(f"{LOG_ADMIN}{record.pk}/change/"),
    }
    for path, response in reads.items():
        assert response.status_code == 200, path
        body = planted.as_read(response)
        for needle in planted.NEEDLES:
            assert needle not in body, f"{path} shows planted {needle!r}"
        assert "<masked" in body, path
