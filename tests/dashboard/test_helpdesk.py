"""The help desk's second version: triage rows, time zones, result pages, drill-down, reveal."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import Client

from dashboard.models import HelpDeskProfile
from fieldsets.models import BUILTIN_SENSITIVE
from permissions.audit import Actor
from permissions.models import AuditRecord, RevealWindow
from permissions.services import grant_fieldset
from sessions_app.applications import application_configure
from sessions_app.models import UserSession
from tests.dashboard.conftest import JANE, World
from tests.factories import stored_session
from tests.leaks import without_csrf_tokens

pytestmark = pytest.mark.django_db

FIND = "/dashboard/"
OVERVIEW = "/dashboard/overview/"
EMAIL_PATTERN = re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+")


def rows_of(html: str) -> list[str]:
    return re.findall(
        r"<tr(?: class=\"row-has-errors\")?>\s*<td data-label=\"Start\".*?</tr>", html, re.S
    )


def text_of(fragment: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", fragment))


def links(html: str, label: str) -> list[str]:
    return [
        href.replace("&amp;", "&")
        for href in re.findall(rf'href="([^"]+)"[^>]*>\s*{re.escape(label)}', html)
    ]


# --- triage rows ---------------------------------------------------------------------


def test_a_row_says_what_failed_and_what_was_bought(world: World, agent_client: Client) -> None:
    html = agent_client.post(FIND, {"email": JANE, "application": "shop"}).content.decode()
    [row] = rows_of(html)
    text = text_of(row)

    assert "500 Failed" in text
    assert "POST /api/checkout" in text
    assert "Payment failed for &lt;masked&gt;" in text
    for event in ("Viewed", "Added to cart", "Bought"):
        assert event in text
    assert "Red dress" in text
    # One compact note instead of a badge per column.
    assert "masked: user tag, IP, location" in text
    assert text.count("masked") == 2  # the note, and "<masked>" in the message
    assert not EMAIL_PATTERN.search(html)


def test_the_lead_sees_the_customer_in_the_row_and_no_note(
    world: World, lead_client: Client
) -> None:
    html = lead_client.post(FIND, {"email": JANE, "application": "shop"}).content.decode()
    [row] = rows_of(html)

    assert JANE in row
    assert "198.51.100.0" in row
    assert "masked:" not in row


def test_a_partial_grant_shows_partial_forms_in_rows_and_on_the_session_page(
    world: World, agent_client: Client
) -> None:
    grant_fieldset(
        fieldset_name=BUILTIN_SENSITIVE, user=world.agent, application=world.shop, partial=True
    )
    html = agent_client.post(FIND, {"email": JANE, "application": "shop"}).content.decode()
    page = agent_client.get(f"/dashboard/sessions/{world.jane_shop.pk}/").content.decode()

    for body in (html, page):
        assert "j•••@example.com" in body
        assert "198.51.•.•" in body
        assert "partial</span>" in body
        assert JANE not in body
        assert "198.51.100.0" not in body
    assert "masked:" not in rows_of(html)[0]


# --- time zones ----------------------------------------------------------------------


def test_times_are_shown_in_the_browser_zone_with_utc_on_hover(
    world: World, agent_client: Client
) -> None:
    agent_client.cookies["rumvault_tz"] = "America/New_York"
    html = agent_client.post(FIND, {"email": JANE, "application": "shop"}).content.decode()

    assert (
        '<time datetime="2026-11-28T10:00:00Z" title="2026-11-28 10:00:00 UTC" '
        "data-local-time>2026-11-28 05:00:00 EST</time>"
    ) in html
    assert 'data-zone-source="browser" data-zone="America/New_York"' in html


@pytest.mark.parametrize("cookie", ["Mars/Olympus", "jane.doe@example.com", "../etc", ""])
def test_an_unknown_zone_in_the_cookie_is_ignored_never_echoed(
    world: World, agent_client: Client, cookie: str
) -> None:
    agent_client.cookies["rumvault_tz"] = cookie
    html = agent_client.post(FIND, {"email": JANE, "application": "shop"}).content.decode()
    settings_page = agent_client.get("/dashboard/settings/").content.decode()

    assert "2026-11-28 10:00:00 UTC</time>" in html
    for body in (html, settings_page):
        assert (cookie or "\x00") not in body


def test_a_zone_saved_in_the_profile_wins_over_the_browser(
    world: World, agent_client: Client
) -> None:
    agent_client.cookies["rumvault_tz"] = "America/New_York"
    saved = agent_client.post("/dashboard/settings/", {"time_zone": "Asia/Tokyo"})
    assert saved.status_code == 302
    assert HelpDeskProfile.objects.get(user=world.agent).time_zone == "Asia/Tokyo"

    page = agent_client.get(f"/dashboard/sessions/{world.jane_shop.pk}/").content.decode()
    assert "2026-11-28 19:00:00 JST</time>" in page
    assert 'data-zone-source="profile"' in page

    refused = agent_client.post("/dashboard/settings/", {"time_zone": "Mars/Olympus"})
    assert refused.status_code == 400
    assert "Mars" not in without_csrf_tokens(refused.content.decode())
    agent_client.post("/dashboard/settings/", {"time_zone": ""})
    assert HelpDeskProfile.objects.get(user=world.agent).time_zone == ""


def test_form_days_are_days_in_the_employee_zone(world: World, agent_client: Client) -> None:
    # 10:00 UTC on the 28th is already the 29th in Kiritimati (UTC+14).
    agent_client.cookies["rumvault_tz"] = "Pacific/Kiritimati"
    on_29 = agent_client.get(FIND, {"since": "2026-11-29", "until": "2026-11-29"})
    on_28 = agent_client.get(FIND, {"since": "2026-11-28", "until": "2026-11-28"})

    assert f"/dashboard/sessions/{world.jane_shop.pk}/" in on_29.content.decode()
    assert f"/dashboard/sessions/{world.jane_shop.pk}/" not in on_28.content.decode()


# --- result pages ------------------------------------------------------------------


def test_email_search_pages_keep_the_email_out_of_every_link(
    world: World, agent_client: Client, lead_client: Client
) -> None:
    for number in range(60):
        stored_session(world.shop, user_tag=JANE, started_at=world.jane_shop.started_at
                       - timedelta(hours=number + 1))  # fmt: skip
    first = agent_client.post(FIND, {"email": JANE}).content.decode()
    [older] = links(first, "Older sessions")

    assert "jane" not in older.lower()
    assert re.fullmatch(r"/dashboard/\?results=[\w-]+&after=[\w%=-]+", older)
    second = agent_client.get(older)
    assert second.status_code == 200
    assert JANE not in second.content.decode()
    # Each page is an audited search, with the sessions it listed.
    searches = AuditRecord.objects.filter(kind="search").order_by("id")
    assert searches.count() == 2
    assert len(searches[0].session_ids) == 50
    assert set(searches[1].session_ids).isdisjoint(searches[0].session_ids)
    # Another sign-in has no such search: refused, never an unfiltered list.
    foreign = lead_client.get(older)
    assert foreign.status_code == 400
    assert "expired" in foreign.content.decode()


@pytest.mark.parametrize("cursor", ["nonsense", "eyJ0IjogMSwgImkiOiAyfQ==", "e30="])
def test_a_tampered_cursor_is_refused(world: World, agent_client: Client, cursor: str) -> None:
    for _ in range(55):
        stored_session(world.shop)
    first = agent_client.get(FIND, {"application": "shop"}).content.decode()
    [older] = links(first, "Older sessions")
    results = re.search(r"results=([\w-]+)", older)[1]

    response = agent_client.get(FIND, {"results": results, "after": cursor})

    assert response.status_code == 400
    assert cursor not in response.content.decode()


# --- overview drill-down -----------------------------------------------------------------


def test_the_overview_links_days_and_error_points_to_their_sessions(
    world: World, agent_client: Client
) -> None:
    html = agent_client.get(
        OVERVIEW, {"since": "2026-11-20", "until": "2026-11-28"}
    ).content.decode()
    day = "/dashboard/?since=2026-11-28&amp;until=2026-11-28"

    assert f'<a href="{day}" class="chart-link"' in html
    assert f'<a href="{day}&amp;errors_only=on" class="chart-link"' in html
    listed = agent_client.get(FIND, {"since": "2026-11-28", "until": "2026-11-28",
                                     "errors_only": "on"}).content.decode()  # fmt: skip
    assert f"/dashboard/sessions/{world.jane_shop.pk}/" in listed
    assert f"/dashboard/sessions/{world.bob_shop.pk}/" not in listed


def test_most_frequent_errors_lead_to_the_sessions_behind_them(
    world: World, agent_client: Client
) -> None:
    html = agent_client.get(
        OVERVIEW, {"since": "2026-11-20", "until": "2026-11-28"}
    ).content.decode()
    table = html[html.index('id="errors-heading"') :]

    assert "Payment failed for &lt;masked&gt;" in table
    assert "POST /api/checkout" in table
    [link] = links(table, "Payment failed")
    assert "Payment" not in link
    assert re.search(r"error_group=[0-9a-f]{32}$", link)
    listed = agent_client.get(link)
    assert listed.status_code == 200
    body = listed.content.decode()
    assert re.findall(r'href="/dashboard/sessions/(\d+)/"', body) == [str(world.jane_shop.pk)]
    made_up = agent_client.get(link[:-4] + "0000")
    assert made_up.status_code == 400


def test_error_groups_leave_out_applications_that_hide_their_fields(
    world: World, agent_client: Client
) -> None:
    from fieldsets.models import Fieldset

    Fieldset.objects.create(name="messages", fields=["actions.error_message"])
    html = agent_client.get(
        OVERVIEW, {"since": "2026-11-20", "until": "2026-11-28"}
    ).content.decode()
    table = html[html.index('id="errors-heading"') :]

    assert "Payment failed" not in table
    assert "Leaves out" in table
    refused = agent_client.get(
        FIND, {"since": "2026-11-28", "until": "2026-11-28", "error_group": "0" * 32}
    )
    assert refused.status_code in (400, 403)


# --- reveal with a reason ------------------------------------------------------------------


@pytest.fixture
def gated(world: World) -> World:
    application_configure(
        application=world.shop,
        actor=Actor(username="ops", method="COMMAND", path="test"),
        reveal_requires_reason=True,
    )
    return world


def test_the_lead_reveals_a_session_with_a_ticket_and_it_is_audited(
    gated: World, lead_client: Client
) -> None:
    url = f"/dashboard/sessions/{gated.jane_shop.pk}/"
    before = lead_client.get(url).content.decode()
    assert JANE not in before
    assert f'action="/dashboard/sessions/{gated.jane_shop.pk}/reveal/"' in before
    # Lists stay masked for the lead here.
    listed = lead_client.post(FIND, {"email": JANE, "application": "shop"}).content.decode()
    assert JANE not in listed

    refused = lead_client.post(f"{url}reveal/", {"reason": "  "})
    assert refused.status_code == 400
    assert "Give a reason" in refused.content.decode()
    assert not RevealWindow.objects.exists()

    done = lead_client.post(f"{url}reveal/", {"reason": "HD-4711 jane.doe@example.com"})
    assert done.status_code == 302
    after = lead_client.get(url).content.decode()
    assert JANE in after
    assert "HD-4711 &lt;masked&gt;" in after
    record = AuditRecord.objects.filter(kind="reveal").get()
    assert record.reason == "HD-4711 <masked>"
    assert record.session_ids == [gated.jane_shop.pk]
    assert JANE not in lead_client.post(FIND, {"email": JANE}).content.decode()


def test_the_agent_gets_no_reveal_button_and_cannot_reveal(
    gated: World, agent_client: Client
) -> None:
    url = f"/dashboard/sessions/{gated.jane_shop.pk}/"
    assert "reveal/" not in agent_client.get(url).content.decode()

    response = agent_client.post(f"{url}reveal/", {"reason": "HD-1"})

    assert response.status_code == 400
    assert JANE not in response.content.decode()
    assert not RevealWindow.objects.exists()
    foreign = agent_client.post(f"/dashboard/sessions/{gated.jane_foreign.pk}/reveal/",
                                {"reason": "HD-1"})  # fmt: skip
    assert foreign.status_code == 404
    assert UserSession.objects.count() == 4
