"""The served agent file: built from its source, versioned, small, cached for good."""

from __future__ import annotations

import gzip
import hashlib
import re
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import Client

from browser_agent.agent import LOADER_CODE, LOADER_FILE, agent_url, loader_tag, script_tag
from browser_agent.version import (
    AGENT_FILE_PATTERN,
    AGENT_STATIC_PATH,
    AGENT_VERSION,
    RELEASED_VERSIONS,
)

ROOT = Path(__file__).resolve().parents[2]
SOURCE = ROOT / "browser_agent/src/rum.js"
LOADER_SOURCE = ROOT / "browser_agent/src/loader.js"
BUILT = ROOT / "browser_agent/static" / AGENT_STATIC_PATH
MAX_GZIP_BYTES = 10 * 1024


@pytest.mark.parametrize(("source", "built"), [(SOURCE, BUILT), (LOADER_SOURCE, LOADER_FILE)])
def test_the_built_agent_and_loader_are_the_minified_current_sources(
    source: Path, built: Path
) -> None:
    # build.mjs writes the source's SHA-256 into the first line: a changed source
    # without `make agent` (or a hand-edited build) fails here.
    first_line = built.read_text(encoding="utf-8").splitlines()[0]
    digest = hashlib.sha256(source.read_bytes()).hexdigest()
    assert f"source sha256:{digest}" in first_line
    assert len(built.read_bytes()) < len(source.read_bytes()) / 1.5


def test_one_version_everywhere() -> None:
    source_version = re.search(r'var VERSION = "([0-9.]+)";', SOURCE.read_text(encoding="utf-8"))
    assert source_version is not None
    assert source_version.group(1) == AGENT_VERSION
    assert BUILT.name == f"rum-{AGENT_VERSION}.js"
    assert agent_url("https://rumvault.example.com/") == (
        f"https://rumvault.example.com/static/rumvault/rum-{AGENT_VERSION}.js"
    )


def test_every_earlier_version_stays_served() -> None:
    # A shop's tag names its version: upgrading rumvault must not break it.
    served = {path.name for path in BUILT.parent.glob("rum-*.js")}
    released = {f"rum-{version}.js" for version in RELEASED_VERSIONS}
    assert served == released | {BUILT.name}
    assert all(re.search(AGENT_FILE_PATTERN, f"/static/rumvault/{name}") for name in served)


def test_transfer_size_is_under_ten_kilobytes_gzipped() -> None:
    assert len(gzip.compress(BUILT.read_bytes(), compresslevel=9)) <= MAX_GZIP_BYTES


def test_the_script_tag_carries_the_key_escaped() -> None:
    tag = script_tag(base_url="https://rv.example.com", key='rvpub_abc"><script>')
    assert tag == (
        f'<script defer src="https://rv.example.com/static/rumvault/rum-{AGENT_VERSION}.js" '
        'data-key="rvpub_abc&quot;&gt;&lt;script&gt;"></script>'
    )


def test_the_loader_tag_carries_the_key_and_address_escaped_and_its_code_as_built() -> None:
    tag = loader_tag(base_url="https://rv.example.com", key='rvpub_abc"><script>')
    assert tag == (
        '<script data-key="rvpub_abc&quot;&gt;&lt;script&gt;" '
        f'data-src="https://rv.example.com/static/rumvault/rum-{AGENT_VERSION}.js">'
        f"{LOADER_CODE}</script>"
    )
    # Inlined as it is: nothing in it may end the script element early.
    assert "</" not in LOADER_CODE
    assert LOADER_CODE.count("\n") == 1  # the digest line, then the code


@pytest.fixture
def collected_static(tmp_path: Path, settings: object) -> Path:
    settings.STATIC_ROOT = tmp_path  # type: ignore[attr-defined]
    call_command("collectstatic", interactive=False, verbosity=0)
    return tmp_path


def test_the_agent_is_served_compressed_and_cached_for_a_year(collected_static: Path) -> None:
    # whitenoise reads STATIC_ROOT when the first request builds the middleware chain.
    response = Client().get(f"/static/{AGENT_STATIC_PATH}", headers={"Accept-Encoding": "gzip"})
    assert response.status_code == 200
    assert response["Content-Encoding"] == "gzip"
    assert response["Content-Type"].startswith("text/javascript")
    cache = {part.strip() for part in response["Cache-Control"].split(",")}
    assert {"immutable", "public"} <= cache
    assert "max-age=315360000" in cache
    assert len(b"".join(response.streaming_content)) <= MAX_GZIP_BYTES  # type: ignore[attr-defined]
