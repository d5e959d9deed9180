"""The browser agent's configuration and beacon endpoints, through Django's test client."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from browser_agent.beacons import BROWSER_SESSION_PREFIX
from permissions.audit import COMMAND_METHOD, Actor
from sessions_app.applications import application_configure
from sessions_app.models import Application, UserSession
from sessions_app.origins import InvalidOrigin, normalise_origin
from tests.factories import make_application
from tests.masking_rules.support import add_rules, rule_body

pytestmark = pytest.mark.django_db

ORIGIN = "https://shop.example.com"
BROWSER_ID = "AbCdEfGhIjKlMnOpQrStUv"
ACTOR = Actor(username="test", method=COMMAND_METHOD, path="test")


@pytest.fixture
def shop() -> Application:
    return make_application("shop", allowed_origins=[ORIGIN])


def beacon(*actions: dict[str, Any], **session: Any) -> dict[str, Any]:
    return {
        "sessions": [
            {
                "session_id": BROWSER_ID,
                "started_at": "2026-11-30T10:00:00Z",
                "actions": list(actions),
                **session,
            }
        ]
    }


def click(seq: int, name: str = "Add to cart", **fields: Any) -> dict[str, Any]:
    return {
        "seq": seq,
        "type": "click",
        "name": name,
        "url": "https://shop.example.com/p/1",
        "timestamp": "2026-11-30T10:00:05Z",
        **fields,
    }


def send(
    application: Application,
    body: object,
    *,
    origin: str | None = ORIGIN,
    content_type: str = "text/plain",
    **headers: str,
) -> Any:
    if origin is not None:
        headers["Origin"] = origin
    data = body if isinstance(body, str | bytes) else json.dumps(body)
    return Client().post(
        f"/api/v1/rum/{application.beacon_key}/beacons/",
        data=data,
        content_type=content_type,
        headers=headers,
    )


# --- configuration ---------------------------------------------------------------------


def test_configuration_has_the_capture_settings_and_no_rules_before_any_is_stored(
    shop: Application,
) -> None:
    application_configure(
        application=shop,
        actor=ACTOR,
        mask_personal_data_in_uris=False,
        mask_user_actions=True,
        do_not_track="disable",
        opt_in_required=True,
    )
    response = Client().get(f"/api/v1/rum/{shop.beacon_key}/config/", headers={"Origin": ORIGIN})
    assert response.status_code == 200
    assert response.json() == {
        "version": 1,
        "uri_masking": False,
        "mask_user_actions": True,
        "do_not_track": "disable",
        "opt_in": True,
        "rules": [],
    }
    assert response["Access-Control-Allow-Origin"] == ORIGIN
    assert response["Vary"] == "Origin"


def test_configuration_carries_the_stored_rules_in_ingest_order(shop: Application) -> None:
    make_application("other")
    add_rules(
        rule_body(name="shop ids", application="shop", order=1, selector="actions.name",
                  detector=None, pattern="id-[0-9]+", method="replace", replacement="id"),
        rule_body(name="everywhere", application=None, order=50, selector="actions.*",
                  detector="email", method="partial"),
        rule_body(name="other's rule", application="other", order=1, selector="*",
                  detector="uuid"),
    )  # fmt: skip
    response = Client().get(f"/api/v1/rum/{shop.beacon_key}/config/", headers={"Origin": ORIGIN})

    assert response.json()["rules"] == [
        {"name": "everywhere", "order": 1, "selector": "actions.*", "detector": "email",
         "pattern": None, "method": "partial", "replacement": ""},
        {"name": "shop ids", "order": 2, "selector": "actions.name", "detector": None,
         "pattern": "id-[0-9]+", "method": "replace", "replacement": "id"},
    ]  # fmt: skip


def test_configuration_without_origin_is_served_without_cors(shop: Application) -> None:
    # A same-origin page's GET carries no Origin header; the settings are no secret.
    response = Client().get(f"/api/v1/rum/{shop.beacon_key}/config/")
    assert response.status_code == 200
    assert "Access-Control-Allow-Origin" not in response


def test_an_unknown_key_is_a_404_on_both_endpoints(shop: Application) -> None:
    client = Client(headers={"Origin": ORIGIN})
    assert client.get("/api/v1/rum/rvpub_nope/config/").status_code == 404
    assert client.post("/api/v1/rum/rvpub_nope/beacons/", "{}", "text/plain").status_code == 404
    assert client.get(f"/api/v1/rum/{'x' * 500}/config/").status_code == 404


# --- preflight -------------------------------------------------------------------------


def test_a_preflight_from_an_allowed_origin_is_answered(shop: Application) -> None:
    response = Client().options(
        f"/api/v1/rum/{shop.beacon_key}/beacons/",
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    assert response.status_code == 204
    assert response["Access-Control-Allow-Origin"] == ORIGIN
    assert response["Access-Control-Allow-Methods"] == "POST"
    assert response["Access-Control-Allow-Headers"] == "Content-Type"
    assert int(response["Access-Control-Max-Age"]) > 0


# --- beacons ---------------------------------------------------------------------------


def test_a_beacon_is_stored_in_the_browser_namespace_with_the_connection_address(
    shop: Application,
) -> None:
    response = send(shop, beacon(click(0), user_tag="Jane@Example.com", browser="Chrome 131"))
    assert response.status_code == 200
    assert response.json() == {"status": "created", "actions_added": 1}
    assert response["Access-Control-Allow-Origin"] == ORIGIN
    session = UserSession.objects.get()
    assert session.session_id == BROWSER_SESSION_PREFIX + BROWSER_ID
    assert session.user_tag == "jane@example.com"
    assert session.client_ip == "127.0.0.0"  # the test client's, masked per ip_masking
    assert session.browser == "Chrome 131"


def test_json_bodies_are_accepted_too(shop: Application) -> None:
    assert send(shop, beacon(click(0)), content_type="application/json").status_code == 200


def test_a_beacon_goes_through_ingest_masking(shop: Application) -> None:
    action = click(
        0,
        name="Mail jane@example.com",
        url="https://shop.example.com/orders/1234567?email=jane@example.com",
        error={"message": "card 4111 1111 1111 1111 declined"},
    )
    assert send(shop, beacon(action)).status_code == 200
    stored = UserSession.objects.get().actions.get()
    assert stored.name == "Mail <masked>"
    assert stored.url == "https://shop.example.com/orders/<masked>?email=<masked>"
    assert stored.error_message == "card <masked> declined"


@pytest.mark.parametrize(
    ("session", "action", "path"),
    [
        ({"client_ip": "203.0.113.7"}, {}, "/sessions/0/client_ip"),
        ({"geo": {"country": "AT"}}, {}, "/sessions/0/geo"),
        ({"properties": {"tier": "gold"}}, {}, "/sessions/0/properties"),
        ({}, {"headers": {"Accept": "*/*"}}, "/sessions/0/actions/0/headers"),
        ({}, {"request_attributes": {"a": "b"}}, "/sessions/0/actions/0/request_attributes"),
        ({"session_id": "s-0001"}, {}, "/sessions/0/session_id"),
        ({"session_id": "jane@example.com-12345678"}, {}, "/sessions/0/session_id"),
    ],
)
def test_what_a_browser_may_not_send_is_refused_with_a_pointer(
    shop: Application, session: dict[str, Any], action: dict[str, Any], path: str
) -> None:
    response = send(shop, beacon(click(0, **action), **session))
    assert response.status_code == 400
    assert path in [error["path"] for error in response.json()["errors"]]
    assert "jane" not in response.content.decode()
    assert not UserSession.objects.exists()


def test_a_beacon_carries_exactly_one_session(shop: Application) -> None:
    two = {"sessions": beacon()["sessions"] * 2}
    for body in (two, {"sessions": []}, {"sessions": "x"}, [], "null"):
        response = send(shop, body)
        assert response.status_code == 400, body
    assert not UserSession.objects.exists()


def test_other_content_types_and_bad_json_are_refused(shop: Application) -> None:
    form = send(shop, "a=b", content_type="application/x-www-form-urlencoded")
    assert form.status_code == 415
    assert send(shop, "{not json").status_code == 400
    assert send(shop, '{"sessions": NaN}').status_code == 400
    assert send(shop, b"\xff\xfe").status_code == 400


def test_a_body_over_the_beacon_limit_is_a_413(shop: Application, settings: Any) -> None:
    settings.RUMVAULT_BEACON_MAX_BODY_BYTES = 200
    response = send(shop, beacon(click(0), browser="x" * 300))
    assert response.status_code == 413
    assert not UserSession.objects.exists()


@pytest.mark.parametrize("header", [{"DNT": "1"}, {"Sec-GPC": "1"}])
def test_dnt_and_gpc_headers_apply_the_do_not_track_setting(
    shop: Application, header: dict[str, str]
) -> None:
    application_configure(application=shop, actor=ACTOR, do_not_track="disable")
    response = send(shop, beacon(click(0), user_tag="jane@example.com"), **header)
    assert response.json() == {"status": "discarded", "actions_added": 0}
    assert not UserSession.objects.exists()

    application_configure(application=shop, actor=ACTOR, do_not_track="anonymous")
    assert send(shop, beacon(click(0), user_tag="jane@example.com"), **header).status_code == 200
    session = UserSession.objects.get()
    assert (session.user_tag, session.user_id, session.client_ip) == (None, None, None)
    assert session.do_not_track is True


def test_later_beacons_append_but_never_relabel_a_session(shop: Application) -> None:
    assert (
        send(shop, beacon(click(0), user_tag="jane@example.com", browser="Chrome 131")).status_code
        == 200
    )
    later = beacon(
        click(0, name="Replaced?"),
        click(1, name="Pay now"),
        user_tag="mallory@example.com",
        browser="Evil 1",
        started_at="2020-01-01T00:00:00Z",
        ended_at="2026-11-30T10:30:00Z",
    )
    assert send(shop, later).json() == {"status": "updated", "actions_added": 1}
    session = UserSession.objects.get()
    assert session.user_tag == "jane@example.com"
    assert session.browser == "Chrome 131"
    assert session.started_at.isoformat() == "2026-11-30T10:00:00+00:00"
    assert session.ended_at is not None
    assert session.ended_at.isoformat() == "2026-11-30T10:30:00+00:00"
    assert [(a.seq, a.name) for a in session.actions.order_by("seq")] == [
        (0, "Add to cart"),
        (1, "Pay now"),
    ]


def test_a_tag_can_be_added_to_a_session_that_had_none(shop: Application) -> None:
    assert send(shop, beacon(click(0))).status_code == 200
    assert send(shop, beacon(user_tag="jane@example.com")).status_code == 200
    assert UserSession.objects.get().user_tag == "jane@example.com"


# --- allowed origins -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "origin"),
    [
        ("https://Shop.Example.com/", "https://shop.example.com"),
        ("https://shop.example.com:443", "https://shop.example.com"),
        ("https://shop.example.com:8443", "https://shop.example.com:8443"),
        ("http://localhost:8000", "http://localhost:8000"),
        ("http://127.0.0.1:8000", "http://127.0.0.1:8000"),
        ("http://[::1]:8000", "http://[::1]:8000"),
        ("https://xn--mller-kva.de", "https://xn--mller-kva.de"),
    ],
)
def test_origins_are_stored_as_browsers_send_them(written: str, origin: str) -> None:
    assert normalise_origin(written) == origin


@pytest.mark.parametrize(
    "written",
    [
        "shop.example.com",
        "https://*.example.com",
        "http://shop.example.com",  # plain http only for loopback
        "https://shop.example.com/path",
        "https://shop.example.com?x=1",
        "https://user@shop.example.com",
        "ftp://shop.example.com",
        "null",
        "https://müller.de",
        "https://shop_example.com",
        "",
    ],
)
def test_anything_but_an_origin_is_refused(written: str) -> None:
    with pytest.raises(InvalidOrigin):
        normalise_origin(written)
