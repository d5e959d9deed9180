"""The browser agent ``rum.js``: where it is served, its tags, and its configuration.

The agent is a static file with its version in the name
(``/static/rumvault/rum-<version>.js``), so it can be cached for a year and
never goes stale: a changed agent gets a new version, hence a new URL
(whitenoise serves names matching ``version.AGENT_FILE_PATTERN`` as
immutable). Pages carry one of two tags, each with the application's public
beacon key:

* the loader (recommended, ``loader_tag``): an inline script whose code is the
  same everywhere (``loader.min.js``, built from ``src/loader.js``; a
  Content-Security-Policy allows it by ``LOADER_HASH``), with the key and the
  agent's address in its attributes. It queues what happens before the agent
  comes and adds the agent's script after the load event, so the agent's file
  is never part of the page's load::

    <script data-key="rvpub_..." data-src="https://rumvault.example.com/static/rumvault/rum-1.0.3.js">
    !function(e,t){...}(window,document);</script>

* the agent's own tag (``script_tag``), for pages that want requests made
  before the load event captured too, at the price of a second script in the
  load::

    <script defer src="https://rumvault.example.com/static/rumvault/rum-1.0.3.js"
            data-key="rvpub_..."></script>

On start the agent asks ``GET /api/v1/rum/<key>/config/`` for the capture
settings below and the stored masking rules (docs/browser-agent.md), so rules
added on the server reach the browser without a new agent.
"""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path
from typing import Any

from django.templatetags.static import static
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from browser_agent.version import AGENT_STATIC_PATH
from masking_rules.engine import rule_rows, spec_of_row
from sessions_app.models import Application

CONFIG_VERSION = 1

# The loader's code as built (its first line names its source's digest). It holds no
# "</" and no value of any page, so it goes into the page as it is.
LOADER_FILE = Path(__file__).resolve().parent / "loader.min.js"
LOADER_CODE = LOADER_FILE.read_text(encoding="utf-8").strip()
# For a page's Content-Security-Policy: ``script-src 'sha256-...'`` allows this code and no
# other inline script.
LOADER_HASH = "sha256-" + base64.b64encode(hashlib.sha256(LOADER_CODE.encode()).digest()).decode()


def agent_url(base_url: str = "") -> str:
    return base_url.rstrip("/") + static(AGENT_STATIC_PATH)


def script_tag(*, base_url: str, key: str) -> SafeString:
    return format_html('<script defer src="{}" data-key="{}"></script>', agent_url(base_url), key)


def loader_tag(*, base_url: str, key: str) -> SafeString:
    return format_html(
        '<script data-key="{}" data-src="{}">{}</script>',
        key,
        agent_url(base_url),
        mark_safe(LOADER_CODE),  # noqa: S308 - our own built code, never a page's value
    )


def masking_rules(application: Application) -> list[dict[str, Any]]:
    """The masking rules the agent applies before sending, in the order ingest applies
    them (the environment's, then the application's): ``order`` is renumbered to that
    position, since the agent sorts by it. Rules are configuration, nothing personal
    (a ``replace`` text cannot hold what the detectors mask). One query."""
    rules = []
    for position, row in enumerate(rule_rows(application), start=1):
        spec = spec_of_row(row)
        rules.append(
            {
                "name": spec.name,
                "order": position,
                "selector": spec.selector,
                "detector": spec.detector,
                "pattern": spec.pattern,
                "method": spec.method,
                "replacement": spec.replacement,
            }
        )
    return rules


def agent_configuration(application: Application) -> dict[str, Any]:
    """What the agent needs to know; nothing secret, nothing about any visitor."""
    return {
        "version": CONFIG_VERSION,
        "uri_masking": application.mask_personal_data_in_uris,
        "mask_user_actions": application.mask_user_actions,
        "do_not_track": application.do_not_track,
        "opt_in": application.opt_in_required,
        "rules": masking_rules(application),
    }
