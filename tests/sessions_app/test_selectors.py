"""Session selectors: readable rows only, validated filters, fail-closed lookups."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.http import Http404
from django.test import override_settings

from permissions.policy import FieldsetPolicy, HiddenFieldLookup
from privacy.keyring import parse_keyring
from sessions_app import selectors
from sessions_app.models import Application, UserSession
from sessions_app.queries import UnknownFilters
from tests.factories import BASE_TIME, make_application, stored_session
from tests.permissions.principals import make_user, reader
from tests.reading import read_session, read_sessions

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop() -> Application:
    return make_application("shop")


@pytest.fixture
def sessions(shop: Application) -> dict[str, UserSession]:
    return {
        "chrome": stored_session(
            shop, user_tag="Jane@Example.com", browser="Chrome 131", error_count=2, duration_ms=5
        ),
        "firefox": stored_session(
            shop, browser="Firefox 130", device="desktop", country="DE", converted=True
        ),
        "other-app": stored_session(make_application("other"), user_tag="jane@example.com"),
    }


def ids(rows: Any) -> set[int]:
    return {row["id"] for row in rows}


def test_only_readable_sessions_whatever_principal_form(
    shop: Application, sessions: dict[str, UserSession]
) -> None:
    user = reader("agent", applications=(shop,))
    expected = {sessions["chrome"].pk, sessions["firefox"].pk}
    assert ids(read_sessions(user, {})) == expected
    assert ids(read_sessions(FieldsetPolicy(user=user), {})) == expected
    assert len(read_sessions(make_user("nobody"), {})) == 0


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"browser": "chrome"}, {"chrome"}),
        ({"country": "de"}, {"firefox"}),
        ({"device": "DESKTOP"}, {"firefox"}),
        ({"has_errors": "true"}, {"chrome"}),
        ({"has_errors": False}, {"firefox"}),
        ({"converted": "1"}, {"firefox"}),
        ({"application": "shop"}, {"chrome", "firefox"}),
    ],
)
def test_filters(
    shop: Application,
    sessions: dict[str, UserSession],
    filters: dict[str, Any],
    expected: set[str],
) -> None:
    agent = reader("agent", applications=(shop,))
    rows = read_sessions(agent, filters)
    assert ids(rows) == {sessions[key].pk for key in expected}


def test_user_id_and_time_filters(sessions: dict[str, UserSession]) -> None:
    root = make_user("root", superuser=True)
    chrome = sessions["chrome"]
    by_user = read_sessions(root, {"user_id": chrome.user_id})
    # The same person's session in another application has another user_id.
    assert ids(by_user) == {chrome.pk}
    window = {"since": chrome.started_at.isoformat(), "until": sessions["firefox"].started_at}
    assert ids(read_sessions(root, window)) == {chrome.pk}


@pytest.mark.parametrize(
    "filters",
    [{"has_errors": "maybe"}, {"since": "yesterday"}, {"application": "nope"}, {"ordering": "x"}],
)
def test_invalid_values_are_validation_errors(
    sessions: dict[str, UserSession], filters: dict[str, Any]
) -> None:
    with pytest.raises(ValidationError):
        read_sessions(make_user("root", superuser=True), filters)


def test_unknown_names_and_hidden_fields(shop: Application, sessions: dict[str, Any]) -> None:
    agent = reader("agent", applications=(shop,))
    with pytest.raises(UnknownFilters) as unknown:
        read_sessions(agent, {"search": "x"})
    assert "application" in unknown.value.allowed
    with pytest.raises(HiddenFieldLookup):
        read_sessions(agent, {"client_ip": "1"})
    with pytest.raises(HiddenFieldLookup):
        read_sessions(agent, {"ordering": "-user_tag"})


def test_user_tag_search_is_exact_on_the_normalised_tag(
    shop: Application, sessions: dict[str, UserSession]
) -> None:
    agent = reader("agent", applications=(shop,))
    rows = read_sessions(agent, {"user_tag": "  JANE@example.COM "})
    assert ids(rows) == {sessions["chrome"].pk}
    assert not read_sessions(agent, {"user_tag": "jane@example"})


def test_search_finds_rows_written_before_a_key_rotation(shop: Application) -> None:
    old_key = "1:development-blind-index-key-not-for-production-use"
    with override_settings(RUMVAULT_BLIND_INDEX_KEYS=parse_keyring(old_key)):
        session = stored_session(shop, user_tag="jane@example.com")
    rotated = parse_keyring(f"{old_key},2:a-brand-new-blind-index-key-for-production-01")
    with override_settings(RUMVAULT_BLIND_INDEX_KEYS=rotated):
        rows = read_sessions(make_user("root", superuser=True), {"user_tag": "JANE@example.com"})
    assert ids(rows) == {session.pk}


def test_ordering_puts_missing_durations_last_when_descending(shop: Application) -> None:
    long = stored_session(shop, duration_ms=900)
    unknown = stored_session(shop, duration_ms=None)
    short = stored_session(shop, duration_ms=1)
    rows = read_sessions(make_user("root", superuser=True), {"ordering": "-duration_ms"})
    assert [row["id"] for row in rows] == [long.pk, short.pk, unknown.pk]


def test_default_order_is_newest_first(shop: Application) -> None:
    older = stored_session(shop, started_at=BASE_TIME)
    newer = stored_session(shop, started_at=BASE_TIME + timedelta(hours=1))
    rows = read_sessions(make_user("root", superuser=True), {})
    assert [row["id"] for row in rows] == [newer.pk, older.pk]


def test_session_get_is_404_for_missing_and_foreign_alike(
    shop: Application, sessions: dict[str, UserSession]
) -> None:
    agent = reader("agent", applications=(shop,))
    row = read_session(agent, sessions["chrome"].pk)
    assert row["id"] == sessions["chrome"].pk
    assert "actions" not in row
    for pk in (sessions["other-app"].pk, 10**9):
        with pytest.raises(Http404):
            read_session(agent, pk)


def test_session_get_with_actions_in_seq_order(shop: Application) -> None:
    session = stored_session(shop, actions=3)
    root = make_user("root", superuser=True)
    row = read_session(root, session.pk)
    actions = selectors.action_list(session=row)
    assert [action["seq"] for action in actions] == [0, 1, 2]
