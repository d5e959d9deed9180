"""Playwright (sync API) driving Debian's Chromium against pytest-django's live server.

Playwright's own browser download does not work here, so Chromium comes from
``/usr/bin/chromium``; if it is missing the tests fail loudly (no skip).
The sync API keeps an event loop running in this thread, which makes
Django's async-safety check refuse ORM calls in test code; the data here is
written before any page loads, so it is safe to switch the check off (as the
pytest-django and Playwright documentation recommend for this setup). It is
switched off only while the browser runs (module scope), so the rest of the
suite keeps Django's check.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings
from playwright.sync_api import Browser, Page, sync_playwright

from tests.browser.demo_data import DemoData, seed

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium package (see .ci/run)")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            yield browser
            browser.close()


@pytest.fixture
def demo(transactional_db: None, live_server: object) -> DemoData:
    return seed()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport=DESKTOP, locale="en-US", timezone_id="UTC")
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def phone_page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(
        viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True, locale="en-US"
    )
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def screenshots(tmp_path: Path) -> Path:
    """Where the tests' screenshots go: the README's ``docs/screenshots`` only when asked
    (``make screenshots``), so that a test run leaves the checkout as it found it."""
    if os.environ.get("RUMVAULT_WRITE_SCREENSHOTS") == "1":
        folder = Path(settings.BASE_DIR) / "docs" / "screenshots"
        folder.mkdir(parents=True, exist_ok=True)
        return folder
    return tmp_path
