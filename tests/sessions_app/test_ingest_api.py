"""``POST /api/v1/ingest/sessions/``: authentication, limits, error shape, atomicity, counters."""

from __future__ import annotations

import logging
from decimal import Decimal

import pytest
from django.test import Client
from pytest_django.fixtures import Settings as SettingsWrapper

from sessions_app.models import UserAction, UserSession
from tests.sessions_app.ingest_support import (
    INGEST_URL,
    PUBLIC_IP,
    TAG,
    action,
    batch,
    new_application,
    post,
    session,
    stored_session,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def token() -> str:
    return new_application()[1]


def nothing_stored() -> bool:
    return not UserSession.objects.exists() and not UserAction.objects.exists()


# --- success -------------------------------------------------------------------------


def test_a_new_session_is_created_with_its_actions(client: Client, token: str) -> None:
    body = batch(session(actions=[action(0), action(1)]))
    response = post(client, token, body)

    assert response.status_code == 200
    assert response.json() == {
        "sessions": [{"session_id": "s-0001", "status": "created", "actions_added": 2}]
    }
    stored = stored_session()
    assert stored.application.slug == "shop"
    assert stored.browser == "Chrome 131"
    assert list(stored.actions.values_list("seq", flat=True)) == [0, 1]


def test_resending_adds_only_new_seqs_and_keeps_counters_right(client: Client, token: str) -> None:
    purchase = {"sku": "D-1", "price": "10.50", "quantity": 2, "event": "purchase"}
    first = session(
        ended_at="2026-11-28T10:05:00Z",
        actions=[action(0), action(1, http_status=500), action(2, product=purchase)],
    )
    assert post(client, token, batch(first)).status_code == 200

    resent = session(
        ended_at="2026-11-28T10:20:00Z",
        actions=[
            action(1, http_status=500),  # already stored: not added again
            action(2, product=purchase),  # ditto: revenue must not double
            action(3, type="error", error={"message": "TypeError"}),
            action(4, product={**purchase, "price": "5", "quantity": 1}),
        ],
    )
    response = post(client, token, batch(resent))

    assert response.json()["sessions"] == [
        {"session_id": "s-0001", "status": "updated", "actions_added": 2}
    ]
    stored = stored_session()
    assert sorted(stored.actions.values_list("seq", flat=True)) == [0, 1, 2, 3, 4]
    assert stored.action_count == 5
    assert stored.error_count == 2
    assert stored.converted is True
    assert stored.revenue == Decimal("26.00")
    assert stored.ended_at.isoformat() == "2026-11-28T10:20:00+00:00"
    assert stored.duration_ms == 20 * 60 * 1000


def test_error_count_counts_error_actions_error_messages_and_4xx_5xx(
    client: Client, token: str
) -> None:
    actions = [
        action(0, http_status=200),
        action(1, http_status=404),
        action(2, type="error"),
        action(3, type="xhr", error={"message": "boom"}),
        action(4, type="xhr", http_status=399),
        action(5, type="click", product={"event": "add_to_cart", "price": "99"}),
    ]
    post(client, token, batch(session(actions=actions)))

    stored = stored_session()
    assert (stored.action_count, stored.error_count) == (6, 3)
    assert stored.converted is False
    assert stored.revenue == Decimal("0")


def test_duration_comes_from_the_actions_when_there_is_no_end(client: Client, token: str) -> None:
    actions = [action(0), action(3, timestamp="2026-11-28T10:03:00Z", duration_ms=1500)]
    post(client, token, batch(session(ended_at=None, actions=actions)))

    assert stored_session().duration_ms == 3 * 60 * 1000 + 1500
    post(client, token, batch(session(ended_at=None, actions=[action(1)])))
    assert stored_session().duration_ms == 3 * 60 * 1000 + 1500  # an earlier action: unchanged


def test_durations_are_whole_milliseconds_without_float_rounding(
    client: Client, token: str
) -> None:
    # 1.001 s is 1000.9999... ms as a binary float; the stored duration is 1001.
    ended = session(started_at="2026-11-28T10:00:00Z", ended_at="2026-11-28T10:00:01.001Z")
    post(client, token, batch(ended))
    assert stored_session().duration_ms == 1001
    from_action = action(0, timestamp="2026-11-28T10:00:00.001Z", duration_ms=0)
    post(client, token, batch(session(session_id="s-0002", ended_at=None, actions=[from_action])))
    assert stored_session("s-0002").duration_ms == 1


def test_a_resent_session_spans_every_beacon_even_one_that_starts_earlier(
    client: Client, token: str
) -> None:
    post(client, token, batch(session(ended_at=None, actions=[action(5)])))  # 10:05 + 100 ms
    assert stored_session().duration_ms == 5 * 60 * 1000 + 100
    earlier = session(started_at="2026-11-28T09:00:00Z", ended_at=None)
    post(client, token, batch(earlier))

    stored = stored_session()
    assert stored.started_at.isoformat() == "2026-11-28T09:00:00+00:00"
    assert stored.duration_ms == 65 * 60 * 1000 + 100  # measured from the new start
    post(
        client,
        token,
        batch(session(started_at="2026-11-28T08:00:00Z", ended_at="2026-11-28T08:30:00Z")),
    )

    stored = stored_session()
    assert stored.started_at.isoformat() == "2026-11-28T08:00:00+00:00"
    assert stored.ended_at.isoformat() == "2026-11-28T08:30:00+00:00"
    assert stored.duration_ms == 30 * 60 * 1000


def test_a_batch_answers_per_session_in_order(client: Client, token: str) -> None:
    post(client, token, batch(session(session_id="b")))
    body = batch(session(session_id="a"), session(session_id="b", actions=[action(0)]))

    assert post(client, token, body).json()["sessions"] == [
        {"session_id": "a", "status": "created", "actions_added": 0},
        {"session_id": "b", "status": "updated", "actions_added": 1},
    ]


def test_csrf_does_not_apply_to_token_authenticated_ingest(token: str) -> None:
    assert post(Client(enforce_csrf_checks=True), token, batch()).status_code == 200


def test_only_post_is_allowed(client: Client) -> None:
    assert client.get(INGEST_URL).status_code == 405


# --- authentication ----------------------------------------------------------------


@pytest.mark.parametrize(
    "authorization",
    [None, "", "Bearer", "Bearer ", "Bearer rv_not-a-real-token", "Token {token}", "{token}"],
)
def test_a_missing_or_wrong_token_is_401(client: Client, token: str, authorization: str) -> None:
    extra = (
        {} if authorization is None else {"HTTP_AUTHORIZATION": authorization.format(token=token)}
    )
    response = post(client, None, batch(), **extra)

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"
    [error] = response.json()["errors"]
    assert error["path"] == ""
    assert token not in response.content.decode()
    assert nothing_stored()


def test_the_token_identifies_the_application(client: Client) -> None:
    new_application("first")
    second, token = new_application("second")
    post(client, token, batch())

    assert stored_session().application == second


# --- transport errors: all 4xx, never 500 ----------------------------------------------


def test_body_over_the_limit_is_413(client: Client, token: str, settings: SettingsWrapper) -> None:
    settings.RUMVAULT_INGEST_MAX_BODY_BYTES = 300
    body = batch(session(actions=[action(seq) for seq in range(5)]))

    response = post(client, token, body)

    assert response.status_code == 413
    assert response.json()["errors"][0]["path"] == ""
    assert nothing_stored()


def test_a_declared_length_over_the_limit_is_413_before_reading(client: Client, token: str) -> None:
    # The client would fail if the view tried to read the 10 GB it announces.
    response = post(client, token, batch(), CONTENT_LENGTH=str(10 * 1024**3))
    assert response.status_code == 413


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("text/plain", '{"sessions": []}'),
        ("application/x-www-form-urlencoded", "sessions=1"),
        ("application/json", "{not json"),
        ("application/json", ""),
        ("application/json", b"\xff\xfe\xfa"),
        ("application/json", '{"sessions": [{"x": NaN}]}'),
        ("application/json", "[" * 100_000 + "]" * 100_000),
    ],
    ids=["text", "form", "malformed", "empty", "not-utf8", "nan", "deep"],
)
def test_unreadable_bodies_are_400_with_the_error_shape(
    client: Client, token: str, content_type: str, body: str | bytes
) -> None:
    response = post(client, token, body, content_type=content_type)

    assert response.status_code == 400
    assert response.json() == {
        "errors": [{"path": "", "message": response.json()["errors"][0]["message"]}]
    }


def test_a_body_that_is_not_a_batch_object_is_400(client: Client, token: str) -> None:
    for body in ([], "x", {"sessions": []}, {"sessions": {}}, {"other": 1}):
        assert post(client, token, body).status_code == 400, body


# --- validation ------------------------------------------------------------------------


def test_every_problem_of_a_batch_is_listed_with_a_json_pointer(client: Client, token: str) -> None:
    bad_first = session(
        session_id="dup",
        started_at="2026-11-28T10:00:00",  # naive
        unknown_field=1,
        client_ip="999.1.1.1",
        geo={"country": "AUT", "latitude": 91, "longitude": -181},
        user_tag="x" * 251,
        actions=[
            action(0, duration_ms=-1),
            action(0, type="scroll"),
            action(1, http_status=600, product={"price": "1.999", "event": "buy"}),
            action(2, timestamp="yesterday", extra=True),
        ],
    )
    bad_second = session(
        session_id="dup", ended_at="2026-11-28T09:00:00Z", do_not_track="yes", actions={}
    )
    response = post(client, token, batch(bad_first, bad_second))

    assert response.status_code == 400
    paths = {error["path"] for error in response.json()["errors"]}
    assert paths == {
        "/sessions/0/started_at",
        "/sessions/0/unknown_field",
        "/sessions/0/client_ip",
        "/sessions/0/geo/country",
        "/sessions/0/geo/latitude",
        "/sessions/0/geo/longitude",
        "/sessions/0/user_tag",
        "/sessions/0/actions/0/duration_ms",
        "/sessions/0/actions/1/type",
        "/sessions/0/actions/1/seq",
        "/sessions/0/actions/2/http_status",
        "/sessions/0/actions/2/product/price",
        "/sessions/0/actions/2/product/event",
        "/sessions/0/actions/3/timestamp",
        "/sessions/0/actions/3/extra",
        "/sessions/1/session_id",
        "/sessions/1/ended_at",
        "/sessions/1/do_not_track",
        "/sessions/1/actions",
    }
    assert nothing_stored()


def test_messages_say_what_is_wrong(client: Client, token: str) -> None:
    body = batch(session(started_at="2026-11-28T10:00:00", actions=[action(0), action(0)]))
    errors = {e["path"]: e["message"] for e in post(client, token, body).json()["errors"]}

    assert "timezone" in errors["/sessions/0/started_at"]
    assert errors["/sessions/0/actions/1/seq"] == "duplicates the seq of /sessions/0/actions/0"


def test_errors_never_repeat_the_submitted_values(client: Client, token: str) -> None:
    secret_key = "jane.doe@example.com"
    body = batch(
        session(
            user_tag=TAG + "x" * 250,
            client_ip=f"{TAG} {PUBLIC_IP}",
            browser=123,
            properties={secret_key: "\x00"},
            actions=[action(0, url=f"https://x.example/{TAG}" * 1000, name=PUBLIC_IP * 100)],
        ),
        {"session_id": "s-2", secret_key: 1},
    )
    response = post(client, token, body)

    assert response.status_code == 400
    text = response.content.decode()
    assert TAG not in text
    assert PUBLIC_IP not in text
    assert len(response.json()["errors"]) >= 6


@pytest.mark.parametrize(
    ("setting", "value", "body", "path"),
    [
        (
            "RUMVAULT_INGEST_MAX_SESSIONS",
            2,
            batch(*(session(session_id=str(n)) for n in range(3))),
            "/sessions",
        ),
        (
            "RUMVAULT_INGEST_MAX_ACTIONS",
            2,
            batch(session(actions=[action(n) for n in range(3)])),
            "/sessions/0/actions",
        ),
        (
            "RUMVAULT_INGEST_MAX_STRING_LENGTH",
            10,
            batch(session(actions=[action(0)])),
            "/sessions/0/actions/0/url",
        ),
    ],
    ids=["sessions", "actions", "string"],
)
def test_limits_come_from_settings(
    client: Client,
    token: str,
    settings: SettingsWrapper,
    setting: str,
    value: int,
    body: dict,
    path: str,
) -> None:
    setattr(settings, setting, value)
    response = post(client, token, body)

    assert response.status_code == 400
    assert path in {error["path"] for error in response.json()["errors"]}


def test_a_user_tag_of_250_characters_is_accepted(client: Client, token: str) -> None:
    assert post(client, token, batch(session(user_tag="x" * 250))).status_code == 200


def test_one_invalid_session_rejects_the_whole_batch(client: Client, token: str) -> None:
    body = batch(
        session(session_id="good", actions=[action(0)]),
        session(session_id="bad", actions=[action(0, timestamp="2026-11-28T10:00:00")]),
    )
    response = post(client, token, body)

    assert response.status_code == 400
    assert [e["path"] for e in response.json()["errors"]] == ["/sessions/1/actions/0/timestamp"]
    assert nothing_stored()


def test_unstorable_text_is_a_400_not_a_database_error(client: Client, token: str) -> None:
    body = batch(
        session(browser="a\x00b", properties={"k": "\ud800"}, actions=[action(0, headers={"A": 1})])
    )
    response = post(client, token, body)

    assert response.status_code == 400
    assert {e["path"] for e in response.json()["errors"]} == {
        "/sessions/0/browser",
        "/sessions/0/properties/k",
        "/sessions/0/actions/0/headers/A",
    }


def test_revenue_beyond_the_column_is_a_400_not_a_database_error(
    client: Client, token: str
) -> None:
    big = {"sku": "YACHT", "price": "9999999999.99", "quantity": 60, "event": "purchase"}
    post(client, token, batch(session(actions=[action(0, product=big)])))
    response = post(client, token, batch(session(actions=[action(1, product=big)])))

    assert response.status_code == 400
    assert response.json()["errors"][0]["path"] == "/sessions/0/actions"
    stored = stored_session()
    assert (stored.action_count, stored.revenue) == (1, Decimal("599999999999.40"))


def test_a_flood_of_errors_is_capped(client: Client, token: str) -> None:
    actions = [{"seq": -1, "type": "x", "timestamp": "x"} for _ in range(1000)]
    response = post(client, token, batch(session(actions=actions)))

    errors = response.json()["errors"]
    assert response.status_code == 400
    assert len(errors) == 1001
    assert "too many errors" in errors[-1]["message"]


# --- logs ------------------------------------------------------------------------------


def test_no_tag_ip_or_token_reaches_the_logs_at_any_level(
    client: Client, token: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    for name in ("django.request", "django.db.backends", "rumvault"):
        caplog.set_level(logging.DEBUG, logger=name)
    good = batch(session(actions=[action(0, url=f"https://s.example/?e={TAG}")]))
    bad = batch(session(client_ip=f"{TAG}", user_tag=TAG * 20, started_at="x"))

    assert post(client, token, good).status_code == 200
    assert post(client, token, bad).status_code == 400
    assert post(client, token + "x", good).status_code == 401
    assert post(client, token, b"{" + TAG.encode()).status_code == 400

    assert caplog.records  # the 4xx responses are logged; they must be clean
    logged = caplog.text + "".join(str(record.__dict__) for record in caplog.records)
    for secret in (TAG, PUBLIC_IP, token):
        assert secret not in logged
