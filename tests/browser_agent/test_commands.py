"""Commands for the browser agent's settings: create/configure options and ``beacon_key``."""

from __future__ import annotations

import base64
import hashlib
import re
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from browser_agent.agent import LOADER_CODE, LOADER_HASH
from browser_agent.version import AGENT_STATIC_PATH
from permissions.models import AuditRecord
from sessions_app.models import Application

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_create_application_prints_the_public_key_before_the_token() -> None:
    lines = run("create_application", "shop", "--name", "Shop").strip().splitlines()
    application = Application.objects.get(slug="shop")
    assert application.beacon_key.startswith("rvpub_")
    assert lines[-1].startswith("rv_")  # the ingest token stays the last line
    assert any(line.endswith(application.beacon_key) for line in lines[:-1])
    assert application.allowed_origins == []


def test_browser_settings_are_options_of_create_and_configure() -> None:
    run(
        "create_application",
        "shop",
        "--name",
        "Shop",
        "--allowed-origins",
        "https://Shop.Example.com/, http://localhost:8000",
        "--mask-user-actions",
        "on",
        "--opt-in",
        "on",
    )
    application = Application.objects.get(slug="shop")
    assert application.allowed_origins == ["https://shop.example.com", "http://localhost:8000"]
    assert (application.mask_user_actions, application.opt_in_required) == (True, True)

    run("configure_application", "shop", "--allowed-origins", "", "--opt-in", "off")
    application.refresh_from_db()
    assert application.allowed_origins == []
    assert application.opt_in_required is False
    record = AuditRecord.objects.get()
    assert record.changes["after"] == {"allowed_origins": [], "opt_in_required": False}


@pytest.mark.parametrize(
    "origins", ["http://shop.example.com", "https://*.example.com", "https://a.example.com/path"]
)
def test_a_wrong_origin_is_refused_without_a_change(origins: str) -> None:
    run("create_application", "shop", "--name", "Shop")
    with pytest.raises(CommandError, match="allowed_origins"):
        run("configure_application", "shop", "--allowed-origins", origins)
    assert Application.objects.get(slug="shop").allowed_origins == []


def test_beacon_key_prints_the_key_and_both_tags() -> None:
    run("create_application", "shop", "--name", "Shop")
    key = Application.objects.get(slug="shop").beacon_key
    output = run("beacon_key", "shop", "--base-url", "https://rv.example.com")
    assert output.strip().splitlines()[-1] == key
    assert (
        f'<script data-key="{key}" data-src="https://rv.example.com/static/{AGENT_STATIC_PATH}">'
        f"{LOADER_CODE}</script>"
    ) in output
    assert f"script-src '{LOADER_HASH}'" in output
    assert (
        f'<script defer src="https://rv.example.com/static/{AGENT_STATIC_PATH}" '
        f'data-key="{key}"></script>'
    ) in output
    assert "No allowed origins yet" in output


def test_beacon_key_rotate_replaces_the_key_and_is_audited() -> None:
    run("create_application", "shop", "--name", "Shop")
    old = Application.objects.get(slug="shop").beacon_key
    new = run("beacon_key", "shop", "--rotate").strip().splitlines()[-1]
    assert new != old
    assert Application.objects.get(slug="shop").beacon_key == new
    record = AuditRecord.objects.get()
    assert record.applications == ["shop"]
    assert old not in str(record.changes)
    assert new not in str(record.changes)


def test_beacon_key_of_an_unknown_application_is_an_error() -> None:
    with pytest.raises(CommandError, match="no application"):
        run("beacon_key", "nope")


def test_seed_demo_lets_the_demo_shop_beacon_into_fashion_store(settings: object) -> None:
    from django.test import Client

    run("seed_demo", "--sessions", "0", "--force")
    application = Application.objects.get(slug="fashion-store")
    assert application.allowed_origins == ["http://127.0.0.1:8000", "http://localhost:8000"]
    settings.RUMVAULT_DEMO_SHOP = True  # type: ignore[attr-defined]
    page = Client().get("/demo-shop/products/DRESS-42/").content.decode()
    # The loader tag by default, its code as a page's Content-Security-Policy hash allows it.
    loader = re.search(r'<script data-key="([^"]+)" data-src="([^"]+)">(.*?)</script>', page, re.S)
    assert loader is not None
    assert loader.groups()[:2] == (application.beacon_key, f"/static/{AGENT_STATIC_PATH}")
    digest = base64.b64encode(hashlib.sha256(loader.group(3).encode()).digest()).decode()
    assert f"sha256-{digest}" == LOADER_HASH
    plain = Client().get("/demo-shop/products/DRESS-42/?agent=plain").content.decode()
    assert (
        f'<script defer src="/static/{AGENT_STATIC_PATH}" '
        f'data-key="{application.beacon_key}"></script>'
    ) in plain
    assert "data-src" not in plain
    without = Client().get("/demo-shop/products/DRESS-42/?agent=off").content.decode()
    assert "data-key" not in without
    assert AGENT_STATIC_PATH not in without
    idle = Client().get("/demo-shop/products/DRESS-42/?agent=idle").content.decode()
    assert "data-key" not in idle  # the agent's file, which stops at once without a key
    assert f'<script defer src="/static/{AGENT_STATIC_PATH}"></script>' in idle
    assert Client().get("/demo-shop/products/DRESS-42/?agent=yes").status_code == 400
