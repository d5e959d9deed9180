"""The help-desk dashboard follows the API's rules: login, record access, masking, audit."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import User
from django.test import Client

from fieldsets.models import BUILTIN_SENSITIVE, Fieldset
from fieldsets.registry import closure
from permissions import subjects
from permissions.models import CHANGE_KINDS, AuditKind, AuditRecord
from permissions.services import grant_record_access
from sessions_app import user_tags
from sessions_app.models import UserSession
from tests.dashboard.conftest import JANE, PASSWORD, World
from tests.factories import stored_session, stored_sessions

FIND = "/dashboard/"
OVERVIEW = "/dashboard/overview/"
LOGIN = "/dashboard/login/"
EMAIL_PATTERN = re.compile(r"[\w.+-]+@[\w-]+\.\w+")
IPV4_PATTERN = re.compile(r"\b(?:\d{1,3}\.){3}\d{1,3}\b")


def session_url(pk: int) -> str:
    return f"/dashboard/sessions/{pk}/"


def search(client: Client, email: str = JANE, **fields: str) -> object:
    return client.post(FIND, {"email": email, **fields})


def result_ids(html: str) -> set[int]:
    return {int(pk) for pk in re.findall(r'href="/dashboard/sessions/(\d+)/"', html)}


# --- login -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [("get", FIND), ("post", FIND), ("get", session_url(1)), ("get", OVERVIEW)],
)
def test_every_page_requires_login(db: None, client: Client, method: str, path: str) -> None:
    response = getattr(client, method)(path)

    assert response.status_code == 302
    assert response["Location"].startswith(f"{LOGIN}?next=")


def test_a_user_who_is_not_staff_can_sign_in(world: World, client: Client) -> None:
    assert not world.agent.is_staff
    page = client.get(LOGIN)
    response = client.post(LOGIN, {"username": "agent", "password": PASSWORD})

    assert page.status_code == 200
    assert response.status_code == 302
    assert response["Location"] == FIND
    assert client.get(FIND).status_code == 200


def test_log_out_by_post_ends_the_session(agent_client: Client) -> None:
    response = agent_client.post("/dashboard/logout/")

    assert response.status_code == 302
    assert response["Location"] == LOGIN
    assert agent_client.get(FIND).status_code == 302


def test_pages_are_not_cached(agent_client: Client) -> None:
    response = agent_client.get(FIND)

    assert "no-store" in response["Cache-Control"]


# --- find: email search ------------------------------------------------------------


def test_agent_email_search_finds_readable_sessions_with_tag_and_ip_masked(
    world: World, agent_client: Client
) -> None:
    response = search(agent_client, "  Jane.DOE@Example.COM ")
    html = response.content.decode()

    assert response.status_code == 200
    assert result_ids(html) == {world.jane_shop.pk, world.jane_vault.pk}
    # One compact note per row instead of a badge per column.
    assert html.count("masked: user tag, IP, location</span>") == 2
    assert not EMAIL_PATTERN.search(html)
    assert not IPV4_PATTERN.search(html)


def test_lead_sees_tag_and_ip_only_where_the_fieldset_is_granted(
    world: World, lead_client: Client
) -> None:
    html = search(lead_client, "JANE.doe@example.com").content.decode()

    assert result_ids(html) == {world.jane_shop.pk, world.jane_vault.pk}
    # shop: revealed (the IP as stored: masked at ingest); vault: masked badges.
    assert html.count(JANE) == 1
    assert "198.51.100.0" in html
    assert "203.0.113.0" not in html
    assert html.count("masked: user tag, IP, location</span>") == 1


def test_email_search_is_answered_from_the_post_and_never_echoed_or_redirected(
    world: World, agent_client: Client
) -> None:
    response = search(agent_client)
    html = response.content.decode()

    assert response.status_code == 200  # rendered, not a redirect with the email in it
    assert "Location" not in response
    assert 'method="post"' in html
    assert JANE not in html  # not even back in the form field
    assert "It is not shown again on this page" in html


def test_after_a_search_the_validated_criteria_stay_in_the_form_but_never_the_email(
    world: World, agent_client: Client
) -> None:
    data = {"email": JANE, "application": "shop", "since": "2026-11-01", "session": "s-x"}
    response = agent_client.post(FIND, data)
    html = response.content.decode()

    assert response.status_code == 200
    assert JANE not in html
    assert 'value="2026-11-01"' in html
    assert '<option value="shop" selected>' in html
    assert 'value="s-x"' in html  # free text, shown again once the search was answered


def test_after_a_refusal_no_typed_text_is_shown_again(world: World, agent_client: Client) -> None:
    response = agent_client.post(FIND, {"session": "s-typed", "since": "not-a-date"})
    html = response.content.decode()

    assert response.status_code == 400
    assert "s-typed" not in html
    assert "Enter a valid date." in html


@pytest.mark.parametrize("name", ["email", "user_tag", "user_tag__startswith", "Email"])
def test_an_email_in_the_url_is_refused_not_ignored(agent_client: Client, name: str) -> None:
    response = agent_client.get(FIND, {name: JANE})
    html = response.content.decode()

    assert response.status_code == 400
    assert "never accepted in a URL" in html
    assert JANE not in html
    assert not result_ids(html)


def test_email_search_with_no_match_says_so(world: World, agent_client: Client) -> None:
    response = search(agent_client, "nobody@example.net")

    assert response.status_code == 200
    assert "No sessions match that email" in response.content.decode()


def test_email_search_limited_to_one_application(world: World, agent_client: Client) -> None:
    html = search(agent_client, application="vault").content.decode()

    assert result_ids(html) == {world.jane_vault.pk}


def test_an_application_that_is_not_readable_is_not_a_choice(
    world: World, agent_client: Client
) -> None:
    response = search(agent_client, application="foreign")
    html = response.content.decode()

    assert response.status_code == 400
    assert not result_ids(html)
    assert 'value="foreign"' not in html


# --- find: other criteria -------------------------------------------------------------


def test_search_by_user_id_in_the_url_lists_the_customers_sessions(
    world: World, agent_client: Client
) -> None:
    response = agent_client.get(FIND, {"user_id": world.jane_shop.user_id})

    assert response.status_code == 200
    # Jane's vault session has another user_id: pseudonyms are scoped per application.
    assert result_ids(response.content.decode()) == {world.jane_shop.pk}


@pytest.mark.parametrize("use_pk", [False, True])
def test_search_by_session_id(world: World, agent_client: Client, use_pk: bool) -> None:
    value = str(world.bob_shop.pk) if use_pk else world.bob_shop.session_id
    response = agent_client.get(FIND, {"session": value})

    assert result_ids(response.content.decode()) == {world.bob_shop.pk}


def test_foreign_session_id_finds_nothing(world: World, agent_client: Client) -> None:
    response = agent_client.get(FIND, {"session": str(world.jane_foreign.pk)})

    assert response.status_code == 200
    assert not result_ids(response.content.decode())


def test_errors_only_and_converted_filters(world: World, agent_client: Client) -> None:
    errors = agent_client.get(FIND, {"errors_only": "on"}).content.decode()
    converted = agent_client.get(FIND, {"converted": "yes"}).content.decode()
    not_converted = agent_client.get(FIND, {"converted": "no"}).content.decode()

    assert result_ids(errors) == {world.jane_shop.pk}
    assert result_ids(converted) == {world.jane_shop.pk}
    assert result_ids(not_converted) == {world.jane_vault.pk, world.bob_shop.pk}


def test_date_range_is_inclusive_of_whole_days(world: World, agent_client: Client) -> None:
    same_day = agent_client.get(FIND, {"since": "2026-11-28", "until": "2026-11-28"})
    day_after = agent_client.get(FIND, {"since": "2026-11-29"})
    backwards = agent_client.get(FIND, {"since": "2026-11-29", "until": "2026-11-28"})

    assert len(result_ids(same_day.content.decode())) == 3
    assert not result_ids(day_after.content.decode())
    assert backwards.status_code == 400


def test_a_filter_on_a_field_in_an_unheld_fieldset_is_refused_with_a_message(
    world: World, agent_client: Client
) -> None:
    Fieldset.objects.create(name="quality", fields=sorted(closure(["error_count", "converted"])))

    response = agent_client.get(FIND, {"errors_only": "on"})
    html = response.content.decode()

    assert response.status_code == 403
    assert "Search refused" in html
    assert "error_count" in html
    assert not result_ids(html)


def test_a_session_id_lookup_is_refused_when_session_id_is_in_an_unheld_fieldset(
    world: World, agent_client: Client
) -> None:
    Fieldset.objects.create(name="ids", fields=["session_id"])

    response = agent_client.get(FIND, {"session": world.bob_shop.session_id})

    assert response.status_code == 403
    assert "session_id" in response.content.decode()


@pytest.mark.parametrize("name", ["client_ip", "geo_latitude__gte", "geo_longitude__lt"])
def test_a_hand_made_lookup_on_a_hidden_field_is_refused_naming_it(
    world: World, agent_client: Client, name: str
) -> None:
    response = agent_client.get(FIND, {name: "1", "application": "shop"})
    html = response.content.decode()

    assert response.status_code == 403
    assert f"&#x27;{name.split('__')[0]}&#x27;" in html
    assert not result_ids(html)


def test_unknown_parameters_are_refused_without_echoing_them(
    world: World, agent_client: Client
) -> None:
    by_get = agent_client.get(FIND, {"colour": "red", "application": "shop"})
    by_post = agent_client.post(FIND, {"user_tag": JANE})  # the API's spelling, in a form

    for response in (by_get, by_post):
        html = response.content.decode()
        assert response.status_code == 400
        assert "parameters this page does not know" in html
        assert "colour" not in html
        assert JANE not in html
        assert not result_ids(html)


def test_a_user_without_grants_is_told_so(db: None, client: Client) -> None:
    client.force_login(User.objects.create_user("newbie"))

    html = client.get(FIND).content.decode()

    assert "not been granted any application" in html


# --- audit ---------------------------------------------------------------------------


def _record_text(record: AuditRecord) -> str:
    return repr(
        [
            record.username,
            record.kind,
            record.method,
            record.path,
            record.applications,
            record.session_ids,
            record.fieldsets,
            record.search_tag_hash,
        ]
    )


def test_email_search_writes_a_search_record_with_the_keyed_hash_only(
    world: World, lead_client: Client
) -> None:
    search(lead_client, "Jane.Doe@Example.com")

    record = AuditRecord.objects.exclude(kind__in=CHANGE_KINDS).get()
    assert record.kind == AuditKind.SEARCH
    assert record.username == "lead"
    assert (record.method, record.path) == ("POST", FIND)
    assert record.search_tag_hash == subjects.current_value(user_tags.normalise(JANE))
    assert record.applications == ["shop", "vault"]
    assert sorted(record.session_ids) == sorted([world.jane_shop.pk, world.jane_vault.pk])
    assert record.fieldsets == [BUILTIN_SENSITIVE]
    assert "jane" not in _record_text(record).lower()


def test_agent_search_is_audited_even_though_nothing_was_revealed(
    world: World, agent_client: Client
) -> None:
    search(agent_client)

    record = AuditRecord.objects.exclude(kind__in=CHANGE_KINDS).get()
    assert record.kind == AuditKind.SEARCH
    assert record.fieldsets == []
    assert "jane" not in _record_text(record).lower()


def test_a_listing_that_reveals_values_writes_a_reveal_record(
    world: World, lead_client: Client
) -> None:
    lead_client.get(FIND, {"user_id": world.jane_shop.user_id})

    record = AuditRecord.objects.exclude(kind__in=CHANGE_KINDS).get()
    assert record.kind == AuditKind.REVEAL
    assert record.session_ids == [world.jane_shop.pk]  # vault was masked: not revealed
    assert record.applications == ["shop"]


def test_a_listing_that_reveals_nothing_writes_no_record(
    world: World, agent_client: Client
) -> None:
    agent_client.get(FIND, {"user_id": world.jane_shop.user_id})

    assert not AuditRecord.objects.exclude(kind__in=CHANGE_KINDS).exists()


def test_session_page_reveal_is_audited(world: World, lead_client: Client) -> None:
    lead_client.get(session_url(world.jane_shop.pk))
    lead_client.get(session_url(world.jane_vault.pk))  # masked there: no record

    record = AuditRecord.objects.exclude(kind__in=CHANGE_KINDS).get()
    assert (record.kind, record.method) == (AuditKind.REVEAL, "GET")
    assert record.path == session_url(world.jane_shop.pk)
    assert record.session_ids == [world.jane_shop.pk]
    assert record.fieldsets == [BUILTIN_SENSITIVE]


# --- session page ------------------------------------------------------------------------


def test_session_page_for_lead_reveals_tag_ip_and_coordinates(
    world: World, lead_client: Client
) -> None:
    html = lead_client.get(session_url(world.jane_shop.pk)).content.decode()

    assert JANE in html
    assert "198.51.100.0" in html
    assert "48.2" in html
    assert "masked</span>" not in html


def test_session_page_for_agent_masks_tag_ip_and_coordinates(
    world: World, agent_client: Client
) -> None:
    response = agent_client.get(session_url(world.jane_shop.pk))
    html = response.content.decode()

    assert response.status_code == 200
    assert html.count("masked</span>") == 4  # tag, IP, latitude, longitude
    assert "4 fields masked" in html
    assert not EMAIL_PATTERN.search(html)
    assert not IPV4_PATTERN.search(html)
    assert "48.2" not in html


def test_encrypted_tag_is_decrypted_only_for_a_lead_with_the_fieldset(
    world: World, lead_client: Client
) -> None:
    grant_record_access(user=world.lead, application=world.vault)
    from permissions.services import grant_fieldset

    grant_fieldset(fieldset_name=BUILTIN_SENSITIVE, user=world.lead, application=world.vault)

    html = lead_client.get(session_url(world.jane_vault.pk)).content.decode()

    assert JANE in html


def test_timeline_is_in_seq_order_with_failures_and_products_marked(
    world: World, agent_client: Client
) -> None:
    html = agent_client.get(session_url(world.jane_shop.pk)).content.decode()
    rows = re.findall(r'<tr class="action action-(\w+)( is-failure)?">', html)

    assert rows == [("page_view", ""), ("click", ""), ("xhr", " is-failure"), ("xhr", "")]
    assert "500 Failed" in html
    assert "<strong>Error:</strong> Payment failed for &lt;masked&gt;" in html
    assert "1 action failed" in html
    for label in ("Viewed", "Added to cart", "Bought"):
        assert f'<span class="badge badge-product">{label}</span> Red dress 79.90 EUR' in html
    assert "+3:00.0" in html  # offset of the failed checkout
    assert 'style="width: 100.0%"' in html  # the longest action's bar
    assert 'style="width: 5.0%"' in html  # 120 ms of 2400 ms


def test_session_page_links_to_the_customers_other_sessions(
    world: World, agent_client: Client
) -> None:
    html = agent_client.get(session_url(world.jane_shop.pk)).content.decode()

    assert f'href="/dashboard/?application=shop&amp;user_id={world.jane_shop.user_id}"' in html
    assert "Other sessions of this customer in Shop" in html


def test_session_of_an_unreadable_application_is_404_like_a_missing_one(
    world: World, agent_client: Client
) -> None:
    foreign = agent_client.get(session_url(world.jane_foreign.pk))
    missing = agent_client.get(session_url(10**9))

    assert foreign.status_code == missing.status_code == 404
    assert foreign.content == missing.content


# --- query count ------------------------------------------------------------------------


@pytest.mark.parametrize("extra_sessions", [0, 24])  # up to one page (50)
def test_results_list_query_count_does_not_grow_with_rows(
    world: World,
    lead_client: Client,
    django_assert_max_num_queries: object,
    extra_sessions: int,
) -> None:
    stored_sessions(world.vault, [{"user_tag": JANE}] * extra_sessions)
    stored_sessions(world.shop, [{"user_tag": JANE}] * extra_sessions)

    # The triage summaries of the page (one query), the
    # search's audit record (its subject's key, the chain head locked and moved: 6),
    # the employee's time zone, and the navigation's check for the privacy console
    # (the user's permissions: 2).
    with django_assert_max_num_queries(19):  # type: ignore[operator]
        response = search(lead_client)

    assert len(result_ids(response.content.decode())) == 2 + 2 * extra_sessions


@pytest.mark.parametrize("actions", [1, 80])
def test_session_page_query_count_does_not_grow_with_actions(
    world: World,
    lead_client: Client,
    django_assert_max_num_queries: object,
    actions: int,
) -> None:
    session = stored_session(world.shop, user_tag=JANE, actions=actions)

    # A fixed number whatever the actions: the Django session and user, the
    # principal, the session row, its actions, its log records, its summary (2),
    # the audit record on the hash chain (savepoint, head locked, insert, head
    # moved, release), the reveal window, the employee's time zone, and the
    # navigation's check for the privacy console (the user's permissions: 2).
    with django_assert_max_num_queries(17):  # type: ignore[operator]
        response = lead_client.get(session_url(session.pk))

    assert response.content.decode().count('<tr class="action') == actions


def test_results_come_in_pages_with_older_and_newer_links(
    world: World, agent_client: Client
) -> None:
    stored_sessions(world.shop, [{}] * 101)
    expected = set(UserSession.objects.filter(application=world.shop).values_list("pk", flat=True))

    html = agent_client.get(FIND, {"application": "shop"}).content.decode()
    seen, pages = [], []
    while True:
        ids = result_ids(html)
        pages.append(ids)
        seen += sorted(ids)
        older = re.search(r'href="([^"]+)">Older sessions', html)
        if older is None:
            break
        html = agent_client.get(older[1].replace("&amp;", "&")).content.decode()

    assert [len(page) for page in pages] == [50, 50, len(expected) - 100]
    assert sorted(seen) == sorted(expected)  # every session once
    newer = re.search(r'href="([^"]+)">← Newer sessions', html)
    assert newer is not None
    back = agent_client.get(newer[1].replace("&amp;", "&")).content.decode()
    assert result_ids(back) == pages[1]
