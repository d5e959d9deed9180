"""Issue 9, item 1: pseudonyms must not join across applications.

The attack: ``lead`` sees user tags on ``fashion-store`` only, maps
``user_id`` to email there, and reads who the ``fashion-store-app`` sessions
belong to by joining on ``user_id`` (42 of 47 recovered), or in one click
through the dashboard's "Other sessions of this customer". Now a person's
``user_id`` differs between applications, the dashboard link stays inside
one application, and stored rows are rescoped by migration ``0002``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.contrib.contenttypes.models import ContentType
from django.test import Client

from privacy.user_tags import unscoped_pseudonym
from sessions_app import user_tags
from sessions_app.models import Application, UserSession
from sessions_app.services import session_ingest
from tests.factories import make_application
from tests.permissions.principals import api_client, reader

pytestmark = pytest.mark.django_db

CUSTOMERS = [f"customer{number}@example.com" for number in range(6)]
WEB, MOBILE = "fashion-store", "fashion-store-app"


@dataclass
class Shops:
    web: Application
    mobile: Application
    lead: User


def beacon(session_id: str, tag: str, minute: int) -> dict[str, Any]:
    return {
        "session_id": session_id,
        "started_at": f"2026-11-28T10:{minute:02d}:00Z",
        "user_tag": tag,
        "client_ip": "203.0.113.42",
        "actions": [],
    }


@pytest.fixture
def shops() -> Shops:
    """Every customer has sessions on the web shop and in the app, ingested for real."""
    web = make_application(WEB)
    mobile = make_application(MOBILE, user_tag_storage="encrypted")
    for application, prefix in ((web, "w"), (mobile, "m")):
        sessions = [
            beacon(f"{prefix}-{number}-{visit}", tag, minute=number * 2 + visit)
            for number, tag in enumerate(CUSTOMERS)
            for visit in range(2)
        ]
        session_ingest(application=application, payload={"sessions": sessions})
    lead = reader("lead", applications=(web, mobile), fieldset_on=(web,))
    return Shops(web=web, mobile=mobile, lead=lead)


def api_rows(client: Any, **filters: str) -> list[dict[str, Any]]:
    response = client.get("/api/v1/sessions/", {"page_size": 500, **filters})
    assert response.status_code == 200
    return response.json()["results"]


def test_item1_pseudonyms_do_not_join_across_applications(shops: Shops) -> None:
    lead = api_client(shops.lead)
    # What lead may see: who is behind every web session.
    dictionary = {row["user_id"]: row["user_tag"] for row in api_rows(lead, application=WEB)}
    assert set(dictionary.values()) == set(CUSTOMERS)
    app_rows = api_rows(lead, application=MOBILE)
    assert len(app_rows) == 2 * len(CUSTOMERS)
    assert all(row["user_tag"] is None for row in app_rows)

    recovered = [row["id"] for row in app_rows if row["user_id"] in dictionary]

    assert recovered == []
    # Within one application a customer is still one user_id.
    assert len({row["user_id"] for row in app_rows}) == len(CUSTOMERS)
    for user_id in dictionary:
        joined = api_rows(lead, user_id=user_id)
        assert {row["application"] for row in joined} == {WEB}
        assert len(joined) == 2


def test_item1_other_sessions_of_a_customer_stay_inside_the_application(shops: Shops) -> None:
    browser = Client()
    browser.force_login(shops.lead)
    session = UserSession.objects.get(application=shops.web, session_id="w-0-0")
    page = browser.get(f"/dashboard/sessions/{session.pk}/").content.decode()
    link = re.search(r'href="([^"]*)"[^>]*>Other sessions of this customer', page)
    assert link is not None

    listed = browser.get(link[1].replace("&amp;", "&"))

    assert listed.status_code == 200
    listed_ids = {int(pk) for pk in re.findall(r'href="/dashboard/sessions/(\d+)/"', listed.text)}
    same_customer_on_web = set(
        UserSession.objects.filter(application=shops.web, user_id=session.user_id).values_list(
            "pk", flat=True
        )
    )
    assert listed_ids == same_customer_on_web
    assert len(listed_ids) == 2
    assert CUSTOMERS[0] in listed.text  # revealed on the web shop: lead holds the fieldset


@pytest.fixture
def schema_migrator(migrator: Any) -> Iterator[Any]:
    yield migrator
    # Migrator.reset (after this) drops and recreates every table, then runs the
    # post_migrate handlers, which look content types up through Django's
    # process-wide cache: ids cached by earlier tests no longer exist (PostgreSQL).
    ContentType.objects.clear_cache()


def test_item1_stored_user_ids_are_rescoped_by_the_migration(schema_migrator: Any) -> None:
    migrator = schema_migrator
    before = migrator.apply_initial_migration(("sessions_app", "0001_initial"))
    OldApplication = before.apps.get_model("sessions_app", "Application")
    OldSession = before.apps.get_model("sessions_app", "UserSession")
    web = OldApplication.objects.create(slug=WEB, name="Web", ingest_token_hash="a" * 64)
    app = OldApplication.objects.create(
        slug=MOBILE, name="App", ingest_token_hash="b" * 64, user_tag_storage="pseudonym_only"
    )
    stored = unscoped_pseudonym(CUSTOMERS[0], keyring=settings.RUMVAULT_PSEUDONYM_KEYS)
    common = {"started_at": "2026-11-28T10:00:00Z", "user_id": stored}
    OldSession.objects.create(application=web, session_id="w", user_tag=CUSTOMERS[0], **common)
    # pseudonym_only: no tag stored anywhere, only the pseudonym.
    OldSession.objects.create(application=app, session_id="m", **common)
    OldSession.objects.create(
        application=app, session_id="anonymous", started_at="2026-11-28T10:00:00Z"
    )

    after = migrator.apply_tested_migration(("sessions_app", "0002_scope_user_ids_per_application"))

    user_ids = dict(
        after.apps.get_model("sessions_app", "UserSession").objects.values_list(
            "session_id", "user_id"
        )
    )
    # Exactly what ingest writes now, so old and new sessions of a person still group.
    assert user_ids == {
        "w": user_tags.pseudonym_for(CUSTOMERS[0], application_id=web.pk),
        "m": user_tags.pseudonym_for(CUSTOMERS[0], application_id=app.pk),
        "anonymous": None,
    }
    assert user_ids["w"] != user_ids["m"]
