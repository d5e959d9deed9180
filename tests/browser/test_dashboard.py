"""The help-desk dashboard in a real browser: what ``agent`` and ``lead`` each see.

``agent`` reads the shops without any fieldset: no page it reaches may show a
customer's email or IP, in the visible text or anywhere in the HTML. ``lead``
holds the fieldset on ``fashion-store`` and sees Jane's email there. The lead's
view of the failed checkout is the README's screenshot.
"""

from __future__ import annotations

import io
import ipaddress
import re
from pathlib import Path

import pytest
from django.core.management import call_command
from playwright.sync_api import Browser, Page, expect
from pytest_django.live_server_helper import LiveServer

from sessions_app.management.commands.seed_demo import DEMO_PASSWORD
from sessions_app.models import UserSession
from tests.browser.conftest import DESKTOP
from tests.browser.demo_data import JANE, PASSWORD, DemoData

pytestmark = pytest.mark.browser

EMAIL = re.compile(r"\S+@\S+\.\w+")
# Dotted quads only, so "Chrome 131" or "+1:01.5" never count as addresses.
IPV4 = re.compile(r"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?![\d.])")
# Anything with two colons is a candidate; ipaddress decides (a time like 10:00:00 is not).
IPV6_CANDIDATE = re.compile(r"[0-9A-Fa-f:]*[0-9A-Fa-f]:[0-9A-Fa-f:]*:[0-9A-Fa-f:.]*")


def ipv6_addresses(text: str) -> list[str]:
    found = []
    for candidate in IPV6_CANDIDATE.findall(text):
        try:
            if ipaddress.ip_address(candidate.strip(":") or "x").version == 6:
                found.append(candidate)
        except ValueError:
            continue
    return found


# A partial form (j•••@example.com, 81.2.•.•) is what a partial grant shows: not the value.
PARTIAL_EMAIL = re.compile(r"\S?\u2022\u2022\u2022@[\w.-]+\.\w+")


def assert_no_personal_data(page: Page, demo: DemoData | frozenset[str]) -> None:
    """Neither the rendered text nor the HTML source carries an email or a customer IP.

    Partial forms are allowed: they are all a partial grant shows.
    """
    customer_ips = demo if isinstance(demo, frozenset) else demo.customer_ips
    for text in (page.inner_text("body"), page.content()):
        text = PARTIAL_EMAIL.sub("", text)
        assert not EMAIL.findall(text), page.url
        assert not [ip for ip in IPV4.findall(text) if ipaddress.ip_address(ip)], page.url
        assert not ipv6_addresses(text), page.url
        assert not [ip for ip in customer_ips if ip in text], page.url


def log_in(page: Page, base_url: str, username: str, password: str = PASSWORD) -> None:
    page.goto(f"{base_url}/dashboard/")
    expect(page).to_have_url(re.compile(r"/dashboard/login/\?next="))
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Find a customer's sessions")).to_be_visible()


def search_email(page: Page, base_url: str, email: str) -> None:
    page.get_by_label("Customer email").fill(email)
    page.get_by_role("button", name="Search").click()
    expect(page.locator("#results-heading")).to_be_visible()
    # Answered from the POST: the URL carries nothing.
    assert page.url == f"{base_url}/dashboard/"


def result_rows(page: Page) -> list[str]:
    return page.locator("table.data-table tbody tr").all_inner_texts()


def test_agent_finds_jane_but_sees_no_email_and_no_ip(
    page: Page, live_server: LiveServer, demo: DemoData
) -> None:
    base = str(live_server)
    log_in(page, base, "agent")
    search_email(page, base, "Jane.Doe@EXAMPLE.com")

    rows = result_rows(page)
    assert len(rows) == len(demo.jane_readable) == 3
    # fashion-store: partial forms (a partial grant); electronics: one compact note.
    shop = [row for row in rows if "\tfashion-store\t" in row]
    [electronics] = [row for row in rows if "\telectronics\t" in row]
    assert len(shop) == 2
    assert all("j•••@example.com" in row and "81.2.•.•" in row for row in shop)
    assert "masked: user tag, IP, location" in electronics
    assert not any("internal" in row for row in rows)
    assert_no_personal_data(page, demo)

    page.locator(f'a[href="/dashboard/sessions/{demo.failed_checkout}/"]').click()
    expect(page.get_by_role("heading", name="Session fs-jane-checkout")).to_be_visible()
    expect(page.get_by_text("4 fields masked")).to_be_visible()
    expect(page.locator("tr.is-failure")).to_have_count(3)
    expect(page.get_by_text("502 Failed")).to_be_visible()
    expect(page.get_by_text("Payment gateway timeout for <masked>")).to_be_visible()
    assert_no_personal_data(page, demo)

    page.get_by_role("link", name="Other sessions of this customer").click()
    assert "user_id=u1_" in page.url
    assert "application=fashion-store" in page.url
    # Jane's two fashion-store sessions; her electronics one has another user_id.
    assert len(result_rows(page)) == 2
    assert_no_personal_data(page, demo)

    page.goto(f"{base}/dashboard/sessions/{demo.jane_foreign}/")
    assert "Not Found" in page.content()


def test_lead_sees_jane_where_granted_and_the_session_page_is_screenshotted(
    page: Page, live_server: LiveServer, demo: DemoData, screenshots: Path
) -> None:
    base = str(live_server)
    log_in(page, base, "lead")
    search_email(page, base, JANE.upper())

    rows = result_rows(page)
    assert len(rows) == 3
    shop_rows = [row for row in rows if "fashion-store" in row]
    assert len(shop_rows) == 2
    assert all(JANE in row and "81.2.69.0" in row for row in shop_rows)
    # Electronics: no fieldset there, so masked for the lead too.
    [electronics] = [row for row in rows if "electronics" in row]
    assert JANE not in electronics
    assert "masked: user tag, IP, location" in electronics

    page.locator(f'a[href="/dashboard/sessions/{demo.failed_checkout}/"]').click()
    expect(page.get_by_role("heading", name="Session fs-jane-checkout")).to_be_visible()
    summary = page.locator("dl.summary")
    expect(summary).to_contain_text(JANE)
    expect(summary).to_contain_text("81.2.69.0")
    expect(page.locator("tr.is-failure")).to_have_count(3)

    shot = screenshots / "session-page.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000


def test_phone_width_has_no_horizontal_scrolling_and_keyboard_skip_link(
    phone_page: Page, live_server: LiveServer, demo: DemoData
) -> None:
    page = phone_page
    base = str(live_server)
    log_in(page, base, "agent")

    # The first Tab reaches the skip link, which jumps to the main content.
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to main content")).to_be_focused()
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"

    search_email(page, base, JANE)
    pages = [f"/dashboard/sessions/{demo.failed_checkout}/", "/dashboard/overview/"]
    for path in [None, *pages]:
        if path is not None:
            page.goto(f"{base}{path}")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"{path or 'results'} is {width}px wide"
    expect(page.locator("svg.chart")).to_have_count(3)
    assert_no_personal_data(page, demo)


@pytest.fixture
def seeded(transactional_db: None, live_server: LiveServer) -> frozenset[str]:
    """``seed_demo``'s own world (users, grants, planted personal data); its customers' IPs."""
    call_command("seed_demo", "--sessions", "200", "--force", stdout=io.StringIO())
    ips = UserSession.objects.exclude(client_ip=None).values_list("client_ip", flat=True)
    return frozenset(str(ip) for ip in ips)


def test_seed_demo_users_see_jane_as_their_grants_say(
    browser: Browser, live_server: LiveServer, seeded: frozenset[str]
) -> None:
    base = str(live_server)
    context = browser.new_context(viewport=DESKTOP)
    try:
        agent = context.new_page()
        log_in(agent, base, "agent", DEMO_PASSWORD)
        search_email(agent, base, JANE)
        links = agent.locator("table.data-table tbody a[href^='/dashboard/sessions/']")
        session_paths = [links.nth(i).get_attribute("href") for i in range(links.count())]
        assert len(session_paths) >= 2
        assert_no_personal_data(agent, seeded)
        # Every one of Jane's sessions, with the planted emails and cards in URLs and errors.
        for path in session_paths:
            agent.goto(f"{base}{path}")
            expect(agent.locator("#timeline-heading")).to_be_visible()
            assert_no_personal_data(agent, seeded)
    finally:
        context.close()

    context = browser.new_context(viewport=DESKTOP)
    try:
        lead = context.new_page()
        log_in(lead, base, "lead", DEMO_PASSWORD)
        search_email(lead, base, JANE)
        rows = result_rows(lead)
        # A row's inner text is its cells separated by tabs; the second is the application.
        web = [row for row in rows if row.split("\t")[1].strip() == "fashion-store"]
        app = [row for row in rows if row.split("\t")[1].strip() == "fashion-store-app"]
        assert web
        assert app
        # fashion-store asks for a reason first: masked in the list until a reveal.
        assert not any(JANE in row for row in web)
        assert not any(JANE in row for row in app)  # not granted on the mobile app
        web_cell = lead.locator(
            "td[data-label='Application']", has_text=re.compile("^fashion-store$")
        )
        web_row = lead.locator("table.data-table tbody tr").filter(has=web_cell).first
        web_row.locator("a[href^='/dashboard/sessions/']").click()
        expect(lead.locator("dl.summary")).not_to_contain_text(JANE)
        lead.get_by_label("Reason or ticket").fill("HD-1")
        lead.get_by_role("button", name="Reveal").click()
        expect(lead.locator("dl.summary")).to_contain_text(JANE)
    finally:
        context.close()
