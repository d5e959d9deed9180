"""Capture rules and the log agent's configuration (``GET /api/v1/ingest/logs/config/``)."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from logs.models import CaptureRule
from tests.sessions_app.ingest_support import new_application

pytestmark = pytest.mark.django_db
URL = "/api/v1/ingest/logs/config/"


def rule(name: str, **fields: object) -> CaptureRule:
    values = {"selector": "logs.body", "pattern": "x+", "method": "mask", **fields}
    return CaptureRule.objects.create(name=name, **values)


def config(token: str, **params: str):
    return Client().get(URL, params, headers={"Authorization": f"Bearer {token}"})


def test_rules_resolve_environment_then_host_group_then_host() -> None:
    shop, token = new_application("shop")
    other, _ = new_application("other")
    rule("everywhere", order=1)
    rule("orders", order=2, pattern="order-1")
    rule("orders", level="host_group", target="eu-web", pattern="order-[0-9]+", order=2)
    rule("groups-own", level="host_group", target="eu-web", detector="email", pattern="")
    rule("other-group", level="host_group", target="us-web")
    rule("host-only", level="host", target="web-1", method="remove")
    rule("shop-only", application=shop)
    rule("other-only", application=other)

    answer = config(token, host="web-1", host_group="eu-web").json()

    names = [(r["name"], r["level"]) for r in answer["rules"]]
    assert names == [
        ("everywhere", "environment"),
        ("shop-only", "environment"),
        ("orders", "host_group"),
        ("groups-own", "host_group"),
        ("host-only", "host"),
    ]
    orders = answer["rules"][2]
    assert orders["pattern"] == "order-[0-9]+"  # the host group's replaced the environment's
    assert answer["personal_data"] is True
    assert answer["application"] == "shop"
    no_group = config(token, host="web-9").json()
    assert [r["name"] for r in no_group["rules"]] == ["everywhere", "orders", "shop-only"]


def test_the_configuration_needs_the_ingest_token_and_known_parameters() -> None:
    _, token = new_application("shop")
    assert Client().get(URL).status_code == 401
    assert config("wrong").status_code == 401
    assert config(token, colour="red").status_code == 400
    assert config(token, host="x" * 201).status_code == 400
    # A NUL byte (PostgreSQL refuses such text: a 500) or another control character.
    assert config(token, host="web\x001").status_code == 400
    assert config(token, host_group="eu\nweb").status_code == 400
    assert config(token).status_code == 200


@pytest.mark.parametrize(
    "fields",
    [
        {"pattern": "", "detector": ""},
        {"pattern": "x", "detector": "email"},
        {"pattern": "("},
        {"pattern": "(a)\\1"},
        {"pattern": "a*"},
        {"selector": "body"},
        {"level": "host", "target": ""},
        {"method": "replace", "replacement": ""},
    ],
)
def test_invalid_rules_are_refused(fields: dict[str, str]) -> None:
    values = {"name": "r", "selector": "logs.body", "pattern": "x", "method": "mask", **fields}
    with pytest.raises(ValidationError):
        CaptureRule(**values).full_clean()
