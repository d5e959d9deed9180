"""Every privacy setting (docs/privacy-model.md), checked on the rows ingest wrote."""

from __future__ import annotations

from typing import Any

import pytest
from django.db.models import Count
from django.test import Client

from permissions.audit import Actor
from sessions_app import user_tags
from sessions_app.applications import application_configure
from sessions_app.models import UserAction, UserSession
from tests.sessions_app.ingest_support import (
    TAG,
    action,
    batch,
    new_application,
    post,
    row_text,
    session,
    stored_action,
    stored_session,
)

pytestmark = pytest.mark.django_db

CARD = "4111111111111111"
IBAN = "DE89370400440532013000"
UUID = "123e4567-e89b-12d3-a456-426614174000"


def ingest(client: Client, body: dict[str, Any], **privacy_settings: Any) -> None:
    token = new_application(**privacy_settings)[1]
    response = post(client, token, body)
    assert response.status_code == 200, response.content


def ingest_action(client: Client, *, uri_masking: bool = True, **fields: Any) -> UserAction:
    body = batch(session(actions=[action(0, **fields)]))
    ingest(client, body, mask_personal_data_in_uris=uri_masking)
    return stored_action(0)


# --- IP addresses and geo -------------------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "sent", "stored"),
    [
        ("all", "81.2.69.142", "81.2.69.0"),
        ("all", "10.1.2.3", "10.1.2.0"),
        ("all", "2a02:8071:1234:5678:9abc:def0:1234:5678", "2a02:8071:1234::"),
        ("public", "81.2.69.142", "81.2.69.0"),
        ("public", "10.1.2.3", "10.1.2.3"),
        ("public", "127.0.0.1", "127.0.0.1"),
        ("public", "fd00::1234", "fd00::1234"),
        ("off", "81.2.69.142", "81.2.69.142"),
        (
            "off",
            "2a02:8071:1234:5678:9abc:def0:1234:5678",
            "2a02:8071:1234:5678:9abc:def0:1234:5678",
        ),
    ],
)
def test_ip_masking(client: Client, mode: str, sent: str, stored: str) -> None:
    ingest(client, batch(session(client_ip=sent)), ip_masking=mode)
    assert stored_session().client_ip == stored


@pytest.mark.parametrize(
    ("mode", "latitude", "longitude"),
    [("all", 48.2, 16.4), ("public", 48.2, 16.4), ("off", 48.2082, 16.3738)],
)
def test_coordinates_are_rounded_unless_ip_masking_is_off(
    client: Client, mode: str, latitude: float, longitude: float
) -> None:
    ingest(client, batch(session()), ip_masking=mode)
    stored = stored_session()
    assert (stored.geo_latitude, stored.geo_longitude) == (latitude, longitude)
    assert (stored.country, stored.city) == ("AT", "Vienna")


# --- URIs and free text -----------------------------------------------------------------


def test_personal_data_in_urls_and_names_is_masked(client: Client) -> None:
    url = (
        f"https://shop.example.com/users/jane%40example.com/cards/{CARD}/iban/{IBAN}"
        f"/orders/{UUID}/customer/1234567/size/42?email={TAG}&q=red+dress&page=2"
    )
    stored = ingest_action(client, url=url, name=f"Loading of /orders/1234567?card={CARD}")

    assert stored.url == (
        "https://shop.example.com/users/<masked>/cards/<masked>/iban/<masked>"
        "/orders/<masked>/customer/<masked>/size/42?email=<masked>&q=<masked>&page=<masked>"
    )
    assert stored.name == "Loading of /orders/<masked>?card=<masked>"


def test_card_numbers_with_separators_are_masked_and_non_luhn_numbers_kept(client: Client) -> None:
    stored = ingest_action(
        client,
        error={"message": "card 4111 1111 1111 1111 / 4111-1111-1111-1111 / ref 1234567812345678"},
    )
    assert stored.error_message == "card <masked> / <masked> / ref 1234567812345678"


def test_urls_keep_personal_data_but_not_cards_when_uri_masking_is_off(client: Client) -> None:
    url = f"https://shop.example.com/users/{TAG}/cards/{CARD}?email={TAG}&iban={IBAN}"
    stored = ingest_action(client, uri_masking=False, url=url, name=url)
    expected = f"https://shop.example.com/users/{TAG}/cards/<masked>?email={TAG}&iban=<masked>"
    assert (stored.url, stored.name) == (expected, expected)


def test_error_message_stack_headers_and_request_attributes_are_masked(client: Client) -> None:
    stored = ingest_action(
        client,
        error={
            "message": f"Payment declined for {TAG}",
            "stack": f"at pay({CARD}) from 81.2.69.142",
        },
        headers={"Referer": f"https://shop.example.com/?u={TAG}", "Accept": "text/html"},
        request_attributes={"order_id": "A-998877", "customer": {"email": TAG, "ids": [UUID]}},
    )

    assert stored.error_message == "Payment declined for <masked>"
    assert stored.error_stack == "at pay(<masked>) from <masked>"
    assert stored.headers == {
        "Referer": "https://shop.example.com/?u=<masked>",
        "Accept": "text/html",
    }
    assert stored.request_attributes == {
        "order_id": "A-998877",
        "customer": {"email": "<masked>", "ids": ["<masked>"]},
    }


def test_free_text_is_kept_when_uri_masking_is_off(client: Client) -> None:
    stored = ingest_action(
        client,
        uri_masking=False,
        error={"message": f"Payment declined for {TAG}", "stack": f"card {CARD}"},
        headers={"Referer": TAG},
        request_attributes={"email": TAG, "iban": IBAN},
    )
    # Cards and IBANs are masked whatever the setting says.
    assert (stored.error_message, stored.error_stack) == (
        f"Payment declined for {TAG}",
        "card <masked>",
    )
    assert (stored.headers, stored.request_attributes) == (
        {"Referer": TAG},
        {"email": TAG, "iban": "<masked>"},
    )


@pytest.mark.parametrize("uri_masking", [True, False])
def test_credential_headers_are_dropped_whatever_the_uri_setting(
    client: Client, uri_masking: bool
) -> None:
    headers = {
        "Authorization": "Bearer abc",
        "Cookie": "sid=abc",
        "Set-Cookie": "sid=abc",
        "Proxy-Authorization": "Basic abc",
        "X-Auth-Token": "abc",
        "X-Session-Id": "abc",
        "X-Client-Secret": "abc",
        "X-Password-Hint": "abc",
        "Accept": "text/html",
    }
    stored = ingest_action(client, uri_masking=uri_masking, headers=headers)
    assert stored.headers == {"Accept": "text/html"}


# --- user input and properties --------------------------------------------------------


def test_input_values_are_never_stored(client: Client) -> None:
    stored = ingest_action(client, uri_masking=False, input_value="hunter2-secret")
    assert "hunter2" not in row_text(stored)


def test_only_allowed_properties_are_kept_and_never_a_password(client: Client) -> None:
    properties = {"loyalty_tier": "gold", "ab_variant": "B", "password_hint": "cat", "plan": "x"}
    body = batch(session(properties=properties))
    ingest(client, body, allowed_properties=["loyalty_tier", "password_hint", "ab_variant"])

    assert stored_session().properties == {"loyalty_tier": "gold", "ab_variant": "B"}


def test_properties_are_dropped_by_default(client: Client) -> None:
    ingest(client, batch(session(properties={"loyalty_tier": "gold"})))
    assert stored_session().properties == {}


# --- Do-Not-Track ---------------------------------------------------------------------


def test_do_not_track_anonymous_keeps_the_session_without_ip_and_tag(client: Client) -> None:
    ingest(client, batch(session(do_not_track=True, actions=[action(0)])))
    stored = stored_session()

    assert stored.do_not_track is True
    assert stored.action_count == 1
    assert stored.client_ip is None
    assert (stored.user_tag, stored.user_tag_encrypted) == (None, None)
    assert (stored.user_tag_blind_index, stored.user_id) == (None, None)
    assert TAG not in row_text(stored)


def test_do_not_track_anonymous_rounds_coordinates_even_when_ips_are_kept(
    client: Client,
) -> None:
    ingest(client, batch(session(do_not_track=True)), ip_masking="off")
    stored = stored_session()
    assert stored.client_ip is None
    assert (stored.geo_latitude, stored.geo_longitude) == (48.2, 16.4)


def test_do_not_track_is_sticky_for_later_beacons_of_the_session(client: Client) -> None:
    token = new_application()[1]
    post(client, token, batch(session(do_not_track=True)))
    post(client, token, batch(session(do_not_track=False, actions=[action(0)])))

    stored = stored_session()
    assert stored.do_not_track is True
    assert (stored.client_ip, stored.user_tag, stored.user_id) == (None, None, None)


def test_do_not_track_disable_discards_the_session(client: Client) -> None:
    token = new_application(do_not_track="disable")[1]
    body = batch(session(session_id="dnt", do_not_track=True), session(session_id="ok"))
    response = post(client, token, body)

    assert response.json()["sessions"][0] == {
        "session_id": "dnt",
        "status": "discarded",
        "actions_added": 0,
    }
    assert list(UserSession.objects.values_list("session_id", flat=True)) == ["ok"]


def test_do_not_track_ignore_stores_the_session_as_usual(client: Client) -> None:
    ingest(client, batch(session(do_not_track=True)), do_not_track="ignore")
    stored = stored_session()
    assert (stored.user_tag, stored.client_ip) == (TAG, "81.2.69.0")


# --- user tag storage -----------------------------------------------------------------

SENT_TAG = "  Jane.Doe@Example.COM "


def test_raw_storage_keeps_the_normalised_tag(client: Client) -> None:
    ingest(client, batch(session(user_tag=SENT_TAG)), user_tag_storage="raw")
    stored = stored_session()
    assert stored.user_tag == TAG
    assert stored.user_tag_encrypted is None
    assert stored.user_tag_blind_index == user_tags.blind_index_for(TAG)
    assert stored.user_id == user_tags.pseudonym_for(TAG, application_id=stored.application_id)


def test_encrypted_storage_keeps_only_ciphertext_that_decrypts_to_the_tag(client: Client) -> None:
    ingest(client, batch(session(user_tag=SENT_TAG)), user_tag_storage="encrypted")
    stored = stored_session()

    assert stored.user_tag is None
    assert "jane" not in row_text(stored).lower()
    decrypted = user_tags.decrypt(stored.user_tag_encrypted, application_id=stored.application_id)
    assert decrypted == TAG
    assert stored.user_id == user_tags.pseudonym_for(TAG, application_id=stored.application_id)


def test_pseudonym_only_storage_keeps_no_tag_but_search_and_user_id_work(client: Client) -> None:
    ingest(client, batch(session(user_tag=SENT_TAG)), user_tag_storage="pseudonym_only")
    stored = stored_session()

    assert (stored.user_tag, stored.user_tag_encrypted) == (None, None)
    assert "jane" not in row_text(stored).lower()
    found = UserSession.objects.filter(
        user_tag_blind_index__in=user_tags.blind_index_candidates_for(user_tags.normalise(TAG))
    )
    assert list(found) == [stored]
    assert stored.user_id == user_tags.pseudonym_for(TAG, application_id=stored.application_id)


def test_one_person_has_one_user_id_per_application_and_another_elsewhere(
    client: Client,
) -> None:
    first = new_application("first", user_tag_storage="encrypted")[1]
    second = new_application("second", user_tag_storage="pseudonym_only")[1]
    post(
        client,
        first,
        batch(session(user_tag=TAG), session(session_id="s-0002", user_tag=TAG.upper())),
    )
    post(client, second, batch(session(user_tag=TAG)))

    user_ids = dict(
        UserSession.objects.values("application__slug")
        .annotate(ids=Count("user_id", distinct=True))
        .values_list("application__slug", "ids")
    )
    assert user_ids == {"first": 1, "second": 1}
    assert UserSession.objects.values("user_id").distinct().count() == 2


def test_resending_the_same_tag_keeps_the_ciphertext(client: Client) -> None:
    token = new_application(user_tag_storage="encrypted")[1]
    post(client, token, batch(session()))
    ciphertext = stored_session().user_tag_encrypted
    post(client, token, batch(session(actions=[action(0)])))

    assert stored_session().user_tag_encrypted == ciphertext


def test_a_settings_change_applies_to_later_data_only(client: Client) -> None:
    application, token = new_application(ip_masking="off")
    post(client, token, batch(session(session_id="before")))
    operator = Actor(username="operator", method="COMMAND", path="test")
    application_configure(application=application, actor=operator, ip_masking="all")
    post(client, token, batch(session(session_id="after")))

    assert stored_session("before").client_ip == "81.2.69.142"
    assert stored_session("after").client_ip == "81.2.69.0"


# --- the batch's memos store what masking each action alone stores ----------------------


@pytest.mark.parametrize("uri_masking", [True, False])
def test_a_batch_stores_what_masking_each_action_on_its_own_stores(
    client: Client, uri_masking: bool
) -> None:
    """Masking memoises per distinct value within a batch (whole values, and the pieces
    of URLs: hosts, segments, parameters); the rows must be what ``mask_uri`` and
    ``mask_text`` give each action's strings alone, pieces repeating or not."""
    from privacy.detectors import mask_text
    from privacy.uri import mask_uri

    hosts = ["shop.example.com", "jane:pw@shop.example.com", "203.0.113.42:8080"]
    segments = ["women", "SKU-01234", "1234567", "jane.doe%40example.com", f"c-{CARD}", "x;sid=ab"]
    queries = ["ref=mail", "u=12345", "token=abc", f"card={CARD}", "4111+1111+1111+1111=1", ""]
    urls = [
        f"https://{hosts[n % 3]}/{segments[n % 6]}/{segments[(n * 5) % 6]}?{queries[n % 6]}"
        + ("#/reset?token=x&" + queries[(n + 1) % 6] if n % 4 == 0 else "")
        for n in range(36)
    ]
    messages = [f"Payment failed for jane{n % 3}@example.com, order {n % 4}" for n in range(36)]
    sent = session(
        actions=[
            action(
                n,
                url=url,
                name=f"Loading of /{segments[n % 6]}",
                error={"message": message},
                headers={"Referer": urls[(n + 7) % 36], "Accept": "text/html"},
                request_attributes={"order": f"A-{n % 5}", "mail": f"jane{n % 2}@example.com"},
            )
            for n, (url, message) in enumerate(zip(urls, messages, strict=True))
        ]
    )
    ingest(client, batch(sent), mask_personal_data_in_uris=uri_masking)

    stored = {a.seq: a for a in UserAction.objects.all()}
    assert len(stored) == 36
    for n, url in enumerate(urls):
        assert stored[n].url == mask_uri(url, personal=uri_masking)
        assert stored[n].name == mask_uri(f"Loading of /{segments[n % 6]}", personal=uri_masking)
        assert stored[n].error_message == mask_text(messages[n], personal=uri_masking)
        assert stored[n].headers["Referer"] == mask_text(urls[(n + 7) % 36], personal=uri_masking)
        assert stored[n].request_attributes == {
            "order": f"A-{n % 5}",
            "mail": mask_text(f"jane{n % 2}@example.com", personal=uri_masking),
        }
