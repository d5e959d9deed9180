"""The browser agent ``rum.js``: where it is served, its script tag, and its configuration.

The agent is a static file with its version in the name
(``/static/rumvault/rum-<version>.js``), so it can be cached for a year and
never goes stale: a changed agent gets a new version, hence a new URL
(whitenoise serves names matching ``version.AGENT_FILE_PATTERN`` as
immutable). Pages carry it as one tag with the application's public beacon key::

    <script defer src="https://rumvault.example.com/static/rumvault/rum-1.0.2.js"
            data-key="rvpub_..."></script>

On start the agent asks ``GET /api/v1/rum/<key>/config/`` for the capture
settings below and the stored masking rules (docs/browser-agent.md), so rules
added on the server reach the browser without a new agent.
"""

from __future__ import annotations

from typing import Any

from django.templatetags.static import static
from django.utils.html import format_html

from browser_agent.version import AGENT_STATIC_PATH
from masking_rules.engine import rule_rows, spec_of_row
from sessions_app.models import Application

CONFIG_VERSION = 1


def agent_url(base_url: str = "") -> str:
    return base_url.rstrip("/") + static(AGENT_STATIC_PATH)


def script_tag(*, base_url: str, key: str) -> str:
    return format_html('<script defer src="{}" data-key="{}"></script>', agent_url(base_url), key)


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
