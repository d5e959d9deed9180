"""The privacy console in a real browser: one officer asks, another approves, a receipt comes out.

``privacy`` creates an erasure request for the planted customer and cannot
approve it herself; ``privacy2`` approves it, the request runs, and the
receipt is downloaded as a file. No page shows the customer's email after it
was typed.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from data_subjects.models import DataSubjectRequest
from sessions_app.models import UserSession
from tests.data_subjects.planted import JANE, JANE_NORMALISED, Planted, officer, plant

pytestmark = pytest.mark.browser
PASSWORD = "pw-not-used-12345"  # tests.data_subjects.planted.officer's


@pytest.fixture
def planted(transactional_db: None, live_server: LiveServer) -> Planted:
    world = plant()
    officer("privacy")
    officer("privacy2")
    return world


def sign_in(page: Page, base_url: str, username: str) -> None:
    page.goto(f"{base_url}/dashboard/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Find a customer's sessions")).to_be_visible()


def sign_out(page: Page) -> None:
    page.get_by_role("button", name="Log out").click()


def assert_no_email(page: Page) -> None:
    for text in (page.inner_text("body"), page.content()):
        assert JANE_NORMALISED not in text.lower(), page.url


def test_one_officer_asks_another_approves_and_the_receipt_is_downloaded(
    page: Page, live_server: LiveServer, planted: Planted, tmp_path: Path
) -> None:
    base = live_server.url
    sign_in(page, base, "privacy")
    page.get_by_role("link", name="Privacy").click()
    page.get_by_role("navigation", name="Privacy console").get_by_role(
        "link", name="Requests"
    ).click()
    page.get_by_label("Customer email").fill(JANE)
    page.get_by_label("Request").select_option("erase")
    page.get_by_label("Ticket").fill("ZD-4711")
    page.get_by_label("Reason").fill("Customer asked to be deleted, by mail")
    page.get_by_role("button", name="Create request").click()

    expect(page.get_by_role("heading", name=re.compile(r"Request #\d+: Erase"))).to_be_visible()
    expect(page.locator("#request-status")).to_have_text("Waiting for a second officer's approval")
    expect(page.get_by_text("another privacy officer must approve it")).to_be_visible()
    expect(page.get_by_role("button", name="Approve and run")).to_have_count(0)
    dry_run = page.get_by_role("table").first
    expect(dry_run).to_contain_text("shop")
    expect(dry_run).to_contain_text("vault")
    assert_no_email(page)
    request_url = page.url
    sign_out(page)

    sign_in(page, base, "privacy2")
    page.goto(request_url)
    page.get_by_role("button", name="Approve and run").click()
    expect(page.locator("#request-status")).to_have_text("Done")
    assert_no_email(page)
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download receipt").click()
    download = download_info.value
    assert re.fullmatch(r"receipt-\d+\.json", download.suggested_filename)
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    receipt = json.loads(saved.read_text())
    assert (receipt["kind"], receipt["ticket"]) == ("erase", "ZD-4711")
    assert (receipt["requested_by"], receipt["approved_by"]) == ("privacy", "privacy2")
    assert receipt["done"]["shop"]["session"] == 2
    assert JANE_NORMALISED not in saved.read_text().lower()

    assert DataSubjectRequest.objects.get().status == "done"
    assert not UserSession.objects.filter(pk__in=planted.jane).exists()
