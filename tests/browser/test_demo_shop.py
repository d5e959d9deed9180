"""The browser agent in Chromium: a customer walks the demo shop, rumvault stores the session.

The pages, the agent and the beacons are the real ones (``/demo-shop/``,
``rum-<version>.js``, ``/api/v1/rum/<key>/...``) on pytest-django's live
server at ``http://localhost:<port>``, the application's one allowed origin.
The same server reached as ``http://127.0.0.1:<port>`` is another origin.
"""

from __future__ import annotations

import io
import logging
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from playwright.sync_api import Browser, BrowserContext, Page, Request, expect
from pytest_django.live_server_helper import LiveServer

from access.services import api_token_create
from fieldsets.models import BUILTIN_SENSITIVE, ensure_builtin_fieldsets
from permissions.services import grant_fieldset, grant_record_access
from sessions_app.applications import application_configure, application_create
from sessions_app.models import Application, UserAction, UserSession
from tests.browser.conftest import DESKTOP
from tests.conftest import in_turn

pytestmark = pytest.mark.browser

EMAIL = "Jane.Customer@example.com"
PASSWORD = "Unguessable-Passw0rd-7319"
CARD = "4111 1111 1111 1111"
CARD_FORMS = (CARD, CARD.replace(" ", ""), "4111-1111-1111-1111")
BEACONS = re.compile(r"/api/v1/rum/[^/]+/beacons/$")
DNT_ON = "Object.defineProperty(Navigator.prototype, 'doNotTrack', {get: () => '1'});"
GPC_ON = "Object.defineProperty(Navigator.prototype, 'globalPrivacyControl', {get: () => true});"


@dataclass
class Shop:
    url: str  # the allowed origin
    other_origin: str  # the same server under another origin
    application: Application

    def configure(self, **settings: Any) -> None:
        from permissions.audit import COMMAND_METHOD, Actor

        actor = Actor(username="test", method=COMMAND_METHOD, path="test")
        application_configure(application=self.application, actor=actor, **settings)


@pytest.fixture
def shop(transactional_db: None, live_server: LiveServer, settings: Any) -> Shop:
    settings.RUMVAULT_DEMO_SHOP = True
    ensure_builtin_fieldsets()
    origin = live_server.url
    assert origin.startswith("http://localhost:")
    application, _ = application_create(
        slug="fashion-store", name="Fashion Store", allowed_origins=[origin]
    )
    return Shop(
        url=origin,
        other_origin=origin.replace("localhost", "127.0.0.1"),
        application=application,
    )


@pytest.fixture
def server_log() -> Iterator[io.StringIO]:
    """What the server's log handler writes while the test runs (same format and filters)."""
    root = logging.getLogger()
    console = root.handlers[0]
    captured = io.StringIO()
    handler = logging.StreamHandler(captured)
    handler.setFormatter(console.formatter)
    for log_filter in console.filters:
        handler.addFilter(log_filter)
    root.addHandler(handler)
    yield captured
    root.removeHandler(handler)


def new_context(browser: Browser, **options: Any) -> BrowserContext:
    context = browser.new_context(viewport=DESKTOP, locale="en-US", **options)
    context.set_default_timeout(10_000)
    return context


def beacon_requests(page: Page) -> list[Request]:
    """Beacons the page sends, those sent while it is being left included (hence the
    context's events, not the page's)."""
    sent: list[Request] = []
    page.context.on(
        "request", lambda request: sent.append(request) if BEACONS.search(request.url) else None
    )
    return sent


def wait_for(condition: Callable[[], Any], page: Page, timeout: float = 15.0) -> Any:
    """Poll ``condition``; waiting through the page keeps Playwright's event loop (and so
    route handlers and request events) running, which a plain sleep would stall.

    Each poll reads in turn with the live server's requests (``tests.conftest.in_turn``).
    """
    deadline = time.monotonic() + timeout
    while True:
        result = in_turn(condition)
        if result or time.monotonic() > deadline:
            return result
        page.wait_for_timeout(500)


def browser_actions() -> list[UserAction]:
    return list(UserAction.objects.filter(session__session_id__startswith="rum:").order_by("seq"))


def load(page: Page, url: str) -> None:
    """Load a shop page and wait for the agent's configuration (asked for after load)."""
    with page.expect_response(lambda response: response.url.endswith("/config/")):
        page.goto(url)
    page.wait_for_timeout(100)  # the configuration is applied once its body is read


def agent_ready(page: Page) -> None:
    """The page has loaded and its agent runs. The loader tag adds the agent after the load
    event; a customer does not click on within those few milliseconds, a test would, and a
    page left before its agent ran is not reported (docs/browser-agent.md)."""
    page.wait_for_load_state("load")
    page.wait_for_function("() => Boolean(window.rumvault && window.rumvault.version)")


def leave(page: Page) -> None:
    """The customer leaves: pagehide sends what the agent still holds."""
    page.goto("about:blank")


def walk_the_shop(page: Page, base: str) -> None:
    """Two products viewed, one added to the cart, checkout typed in, payment fails."""
    load(page, f"{base}/demo-shop/")
    page.get_by_role("link", name="Red summer dress").click()
    expect(page.get_by_role("heading", name="Red summer dress")).to_be_visible()
    agent_ready(page)
    page.get_by_role("link", name="Straight jeans").click()
    expect(page.get_by_role("heading", name="Straight jeans")).to_be_visible()
    agent_ready(page)
    page.get_by_role("button", name="Add to cart").click()
    expect(page.get_by_text("Added to your cart.")).to_be_visible()
    page.get_by_role("link", name="Cart (1)").click()
    agent_ready(page)
    page.get_by_role("link", name="Checkout").click()
    agent_ready(page)
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("Card number").fill(CARD)
    page.get_by_role("button", name="Pay now").click()
    expect(page.get_by_text("Payment failed. Please try again later.")).to_be_visible()
    page.wait_for_timeout(300)  # the shop throws its error right after


def summary(action: UserAction) -> tuple[Any, ...]:
    product = (action.product_event, action.product_sku) if action.product_event else None
    return (action.type, action.name, action.http_status, action.error_message, product)


def database_text() -> str:
    """Every value of every table, and the database file's bytes when there is one."""
    parts = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608
            parts += [repr(row) for row in cursor.fetchall()]
    name = str(connection.settings_dict["NAME"])
    if connection.vendor == "sqlite" and Path(name).is_file():
        parts.append(Path(name).read_bytes().decode("latin-1"))
    return "\n".join(parts)


def api_texts(shop: Shop) -> list[str]:
    """Every API answer about the session, as a principal who sees everything."""
    lead = User.objects.create_user("lead", password="unused-password-123")
    grant_record_access(user=lead, application=shop.application)
    grant_fieldset(fieldset_name=BUILTIN_SENSITIVE, user=lead, application=shop.application)
    client = Client(headers={"Authorization": f"Token {api_token_create(user=lead)[1]}"})
    session = UserSession.objects.get(application=shop.application)
    responses = [
        client.get("/api/v1/sessions/"),
        client.get("/api/v1/sessions/?format=csv"),
        client.get(f"/api/v1/sessions/{session.pk}/"),
        client.post(
            "/api/v1/sessions/search/", {"user_tag": EMAIL}, content_type="application/json"
        ),
    ]
    assert [response.status_code for response in responses] == [200] * 4
    return [response.content.decode() for response in responses]


def test_a_customer_walk_through_the_demo_shop_is_stored_in_order_and_masked(
    browser: Browser, shop: Shop, server_log: io.StringIO
) -> None:
    context = new_context(browser)
    page = context.new_page()
    sent = beacon_requests(page)
    walk_the_shop(page, shop.url)
    leave(page)
    # (The context stays open until the data is in: closing it would cancel the
    # beacon the leaving page sent.)
    shop_path = "/demo-shop"
    expected = [
        ("page_view", f"Loading of {shop_path}/", None, "", None),
        ("click", "Red summer dress", None, "", None),
        ("page_view", f"Loading of {shop_path}/products/DRESS-42/", None, "", None),
        ("custom", "Product view", None, "", ("view", "DRESS-42")),
        ("click", "Straight jeans", None, "", None),
        ("page_view", f"Loading of {shop_path}/products/JEANS-501/", None, "", None),
        ("custom", "Product view", None, "", ("view", "JEANS-501")),
        ("click", "Add to cart", None, "", None),
        ("xhr", f"POST {shop_path}/api/cart", 200, "", None),
        ("custom", "Product add to cart", None, "", ("add_to_cart", "JEANS-501")),
        ("click", "Cart (1)", None, "", None),
        ("page_view", f"Loading of {shop_path}/cart/", None, "", None),
        ("click", "Checkout", None, "", None),
        ("page_view", f"Loading of {shop_path}/checkout/", None, "", None),
        ("click", "Pay now", None, "", None),
        ("xhr", f"POST {shop_path}/api/payment", 502, "", None),
        ("error", "Uncaught Error", None, "Payment failed (502) for <masked>", None),
    ]
    # Beacons may arrive in any order (the error's before the payment's): all of them.
    assert wait_for(lambda: len(browser_actions()) >= len(expected), page)
    context.close()
    session = UserSession.objects.get(application=shop.application)
    assert session.session_id.startswith("rum:")
    assert session.user_tag == EMAIL.lower()  # identifyUser, normalised like every tag
    assert [summary(action) for action in browser_actions()] == expected
    actions = browser_actions()
    payment = next(action for action in actions if action.http_status == 502)
    # The shop put the email into the URL; it left the browser masked.
    assert payment.url == f"{shop.url}{shop_path}/api/payment?order=<masked>&email=<masked>"
    assert all(action.timestamp is not None for action in actions)
    page_views = [action for action in actions if action.type == "page_view"]
    assert all(action.duration_ms is not None and action.duration_ms > 0 for action in page_views)
    # Browser-to-server traffic: batched, and never the password, the card or raw email in URLs.
    assert 1 <= len(sent) < len(actions)
    bodies = "\n".join(request.post_data or "" for request in sent)
    assert PASSWORD not in bodies
    assert not [card for card in CARD_FORMS if card in bodies]

    stored = database_text()
    answers = "\n".join(api_texts(shop))
    log = server_log.getvalue()
    for text in (stored, answers, log):
        assert PASSWORD not in text
        assert not [card for card in CARD_FORMS if card in text]
    assert EMAIL.lower() in answers  # the lead sees the tag: the check above had data to see


@pytest.mark.parametrize(
    ("init_script", "headers"),
    [
        pytest.param(DNT_ON, {"DNT": "1"}, id="do-not-track"),
        pytest.param(GPC_ON, {"Sec-GPC": "1"}, id="global-privacy-control"),
    ],
)
def test_with_do_not_track_or_gpc_and_the_disable_setting_nothing_is_sent_or_stored(
    browser: Browser, shop: Shop, init_script: str, headers: dict[str, str]
) -> None:
    shop.configure(do_not_track="disable")
    context = new_context(browser, extra_http_headers=headers)
    context.add_init_script(init_script)
    page = context.new_page()
    sent = beacon_requests(page)
    walk_the_shop(page, shop.url)
    leave(page)
    page.wait_for_timeout(500)
    context.close()

    assert sent == []
    assert not UserSession.objects.exists()


def test_the_server_honours_dnt_headers_even_from_an_agent_that_ignores_them(
    browser: Browser, shop: Shop
) -> None:
    # The page does not tell the agent (navigator.doNotTrack unset), but its requests
    # carry DNT: 1: the server discards the session. (Beacons a page sends while it is
    # being left go out without Playwright's extra headers, so this stays on one page.)
    shop.configure(do_not_track="disable")
    context = new_context(browser, extra_http_headers={"DNT": "1"})
    page = context.new_page()
    load(page, f"{shop.url}/demo-shop/products/DRESS-42/")
    page.get_by_role("button", name="Next photo").click()
    page.get_by_role("button", name="Add to cart").click()
    expect(page.get_by_text("Added to your cart.")).to_be_visible()
    with page.expect_response(BEACONS) as answer:
        page.evaluate("rumvault.flush()")
    # (Not the body: Playwright cannot read a keepalive request's response body.)
    assert answer.value.status == 200
    assert answer.value.request.headers.get("dnt") == "1"
    context.close()

    assert not UserSession.objects.exists()


def test_with_do_not_track_in_anonymous_mode_the_session_has_no_tag_and_no_ip(
    browser: Browser, shop: Shop
) -> None:
    context = new_context(browser, extra_http_headers={"DNT": "1"})
    context.add_init_script(DNT_ON)
    page = context.new_page()
    walk_the_shop(page, shop.url)
    leave(page)
    assert wait_for(lambda: any(a.type == "error" for a in browser_actions()), page)
    context.close()
    session = UserSession.objects.get()
    assert (session.user_tag, session.user_id, session.client_ip) == (None, None, None)
    assert session.do_not_track is True


def test_opt_in_mode_collects_nothing_before_enable_and_disable_discards(
    browser: Browser, shop: Shop
) -> None:
    shop.configure(opt_in_required=True)
    context = new_context(browser)
    page = context.new_page()
    sent = beacon_requests(page)
    walk_the_shop(page, shop.url)
    load(page, f"{shop.url}/demo-shop/products/DRESS-42/")
    page.get_by_role("button", name="Next photo").click()
    page.evaluate("rumvault.flush()")
    page.wait_for_timeout(500)
    assert sent == []
    assert not UserSession.objects.exists()

    # The visitor agrees: from now on the agent collects (this page's view included).
    page.evaluate("rumvault.enable()")
    page.get_by_role("button", name="Next photo").click()
    page.evaluate("rumvault.flush()")
    assert wait_for(lambda: len(browser_actions()) == 2, page)
    assert [(a.type, a.name) for a in browser_actions()] == [
        ("page_view", "Loading of /demo-shop/products/DRESS-42/"),
        ("click", "Next photo"),
    ]

    # And withdraws: what was not sent yet is thrown away, nothing more is sent.
    page.get_by_role("button", name="Next photo").click()
    page.evaluate("rumvault.disable()")
    count = len(sent)
    page.get_by_role("button", name="Next photo").click()
    leave(page)
    page.wait_for_timeout(500)
    context.close()
    assert len(sent) == count
    assert len(browser_actions()) == 2


def test_a_page_on_another_origin_is_refused(browser: Browser, shop: Shop) -> None:
    context = new_context(browser)
    page = context.new_page()
    answers: list[tuple[str, int]] = []
    page.on("response", lambda response: answers.append((response.url, response.status)))
    # The same shop served from an origin the application does not allow. Its agent
    # (loaded from there too) gets its configuration, which is no secret, but its
    # beacons are refused, and after the first refusal it sends nothing more.
    load(page, f"{shop.other_origin}/demo-shop/products/DRESS-42/")
    with page.expect_response(BEACONS) as first:
        page.evaluate("rumvault.flush()")
    assert first.value.status == 403
    page.get_by_role("button", name="Next photo").click()
    page.evaluate("rumvault.flush()")
    page.wait_for_timeout(300)
    assert [status for url, status in answers if BEACONS.search(url)] == [403]
    # A beacon posted by hand from that page, to the allowed origin's endpoint, is refused.
    key = shop.application.beacon_key
    beacon = (
        '{"sessions": [{"session_id": "AbCdEfGhIjKlMnOpQrStUv", '
        '"started_at": "2026-11-30T10:00:00Z", "actions": []}]}'
    )
    with page.expect_response(BEACONS) as refused:
        page.evaluate(
            "([url, body]) => navigator.sendBeacon(url, body)",
            [f"{shop.url}/api/v1/rum/{key}/beacons/", beacon],
        )
    assert refused.value.status == 403
    leave(page)
    context.close()
    assert not UserSession.objects.exists()


def test_two_hundred_clicks_make_at_most_five_beacons(browser: Browser, shop: Shop) -> None:
    context = new_context(browser)
    page = context.new_page()
    sent = beacon_requests(page)
    load(page, f"{shop.url}/demo-shop/products/DRESS-42/")
    button = page.get_by_role("button", name="Next photo")
    for _ in range(200):
        button.click()
    leave(page)
    assert wait_for(lambda: len(browser_actions()) >= 202, page), (
        len(browser_actions()),
        len(sent),
    )
    context.close()
    clicks = [action for action in browser_actions() if action.type == "click"]
    assert len(clicks) == 200
    assert len(sent) <= 5


# Both tags: the loader's (the shop's product view is queued and replayed by the agent)
# and the agent's own (the agent runs before the shop's script).
@pytest.mark.parametrize("tag", ["loader", "plain"])
def test_beacons_are_retried_while_the_server_is_away(
    browser: Browser, shop: Shop, tag: str
) -> None:
    context = new_context(browser)
    page = context.new_page()
    attempts: list[str] = []

    def away_twice(route: Any) -> None:
        attempts.append(route.request.url)
        if len(attempts) <= 2:
            route.fulfill(status=503, headers={"Retry-After": "1"}, body="")
        else:
            route.continue_()

    page.route(BEACONS, away_twice)
    load(page, f"{shop.url}/demo-shop/products/DRESS-42/?agent={tag}")
    page.get_by_role("button", name="Next photo").click()
    page.evaluate("rumvault.flush()")
    assert wait_for(lambda: len(browser_actions()) == 3, page)
    assert len(attempts) == 3
    assert [a.type for a in browser_actions()] == ["page_view", "custom", "click"]
    # Everything is stored; closing would send the page-leave beacon through the route
    # while the test database is being emptied (a "table is locked" teardown error).
    page.evaluate("rumvault.disable()")
    context.close()
