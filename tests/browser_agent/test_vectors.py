"""The shared masking vectors against the server's maskers, and a differential run.

``tests/vectors/masking.json`` is also run by ``rum.test.mjs`` against the browser
agent, so the two maskers answer these cases the same way. The differential test
goes further: thousands of strings built from the pieces that trip maskers up
(separators, escapes, look-alike characters), masked by both, compared one by one.
"""

from __future__ import annotations

import json
import random
import subprocess
from pathlib import Path
from typing import Any

import pytest

from browser_agent.version import AGENT_STATIC_PATH
from fieldsets.registry import ACTION, SESSION
from masking_rules.engine import RuleSpec, ruleset_of
from privacy.detectors import mask_text
from privacy.uri import mask_uri
from tests.factories import make_application

ROOT = Path(__file__).resolve().parents[2]
VECTORS = json.loads((ROOT / "tests/vectors/masking.json").read_text(encoding="utf-8"))
AGENT = ROOT / "browser_agent/static" / AGENT_STATIC_PATH
NODE = "/usr/bin/node"


@pytest.mark.parametrize("case", VECTORS["text"], ids=lambda case: repr(case["input"])[:40])
def test_text_vectors_match_the_server(case: dict[str, object]) -> None:
    assert mask_text(str(case["input"]), personal=bool(case["personal"])) == case["expected"]


@pytest.mark.parametrize("case", VECTORS["uri"], ids=lambda case: repr(case["input"])[:40])
def test_uri_vectors_match_the_server(case: dict[str, object]) -> None:
    assert mask_uri(str(case["input"]), personal=bool(case["personal"])) == case["expected"]


# Cases marked browser_only say why the server answers differently (it can do more).
SERVER_RULE_CASES = [case for case in VECTORS["rules"] if "browser_only" not in case]


@pytest.mark.django_db
@pytest.mark.parametrize("case", SERVER_RULE_CASES, ids=lambda case: case["description"][:50])
def test_rule_vectors_match_the_servers_rule_engine(case: dict[str, Any]) -> None:
    """What the agent's rules leave is what ingest's rules leave (before the built-in
    masking, which both run after the rules)."""
    application = make_application("fashion-store")
    specs = [
        RuleSpec(
            **{name: rule[name] for name in _SPEC_KEYS}, environment=rule["application"] is None
        )
        for rule in case["rules"]
    ]
    ordered = sorted(specs, key=lambda spec: (not spec.environment, spec.order))
    rules = ruleset_of(ordered, application=application).batch()
    path = str(case["path"])
    record = ACTION if path.startswith(ACTION.prefix) else SESSION
    assert rules.text_at(record, path, str(case["input"])) == case["expected"]


_SPEC_KEYS = ("name", "selector", "method", "detector", "pattern", "replacement", "order")


def test_the_vectors_mask_something_and_leave_something() -> None:
    # Guards the file itself: both kinds of case are there, in both contexts and modes.
    for context in ("text", "uri"):
        for personal in (True, False):
            cases = [c for c in VECTORS[context] if c["personal"] is personal]
            assert any(c["input"] != c["expected"] for c in cases), (context, personal)
            assert any(c["input"] == c["expected"] for c in cases), (context, personal)


PIECES = (
    "jane@example.com", "4111 1111 1111 1111", "4111111111111111", "DE89370400440532013000",
    "DE89 3704 0044 0532 0130 00", "203.0.113.7", "2001:db8::1", "::ffff:1.2.3.4",
    "550e8400-e29b-41d4-a716-446655440000", "eyJhbGciOi.eyJzdWIi.Sfl", "%40", "%20", "%2",
    "%C3%BC", "%FC", "\u200b", "\uff20", "\uff14", "\u0661", "12345", "1234", "a", "Z", "-",
    ".", ":", "/", "?", "#", "&", "=", ";", "@", "+", " ", "\u00a0", "https://", "http://[", "]",
    "[", "token=", "api_key=", "x=", "kQmPvLnRtYwBzXcVbNmA", "3f9a7c2e1b0d4f6a8e5c", "\u00fc",
    "o\u0308", "\u3002", "\u00e9", "\u2100",
)  # fmt: skip


def test_browser_and_server_mask_thousands_of_mixed_strings_alike() -> None:
    rng = random.Random(20261130)
    cases = [
        ("".join(rng.choice(PIECES) for _ in range(rng.randint(1, 8))), rng.random() < 0.7)
        for _ in range(3000)
    ]
    script = (
        f"const a = require({json.dumps(str(AGENT))}); let d = '';"
        "process.stdin.on('data', c => d += c).on('end', () => console.log(JSON.stringify("
        "JSON.parse(d).map(([s, p]) => [a.maskText(s, p), a.maskUri(s, p)]))));"
    )
    node = subprocess.run(  # noqa: S603 (a fixed program and script)
        [NODE, "-e", script], input=json.dumps(cases), capture_output=True, text=True, check=True
    )
    browser = json.loads(node.stdout)
    different = [
        (text, personal, kind)
        for (text, personal), (js_text, js_uri) in zip(cases, browser, strict=True)
        for kind, server, agent in (
            ("text", mask_text(text, personal=personal), js_text),
            ("uri", mask_uri(text, personal=personal), js_uri),
        )
        if server != agent
    ]
    assert different == []
