"""Masking rules reach log records: the same stored rules as beacons, with log selectors."""

from __future__ import annotations

import pytest
from django.test import Client

from logs.models import LogRecord
from tests.factories import make_application
from tests.logs.support import log, post_json
from tests.masking_rules.support import PREVIEW_URL, add_rules, officer, rule_body
from tests.permissions.principals import api_client
from tests.sessions_app.ingest_support import new_application

pytestmark = pytest.mark.django_db

ADDRESS_LINE = "Cannot deliver to Hauptstrasse 12, 1010 Wien for Anna Probe"


def test_application_rules_rewrite_the_body_and_attributes_of_log_records() -> None:
    _, token = new_application("shop")
    add_rules(
        rule_body(
            name="delivery address",
            application="shop",
            selector="logs.body",
            detector=None,
            pattern=r"deliver to (?P<mask>.+)$",
            method="replace",
            replacement="[address and name]",
        ),
        rule_body(
            name="street attribute",
            application="shop",
            order=20,
            selector="logs.attributes.street",
            detector=None,
            pattern=".",
            method="remove",
        ),
        rule_body(
            name="owner in the resource",
            application="shop",
            order=30,
            selector="logs.resource.*",
            detector=None,
            pattern=r"team-\w+",
            method="mask",
        ),
    )
    response = post_json(
        Client(),
        token,
        {
            "logs": [
                log(
                    body=ADDRESS_LINE,
                    attributes={"street": "Hauptstrasse 12", "order_id": "A-1"},
                    resource={"owner": "team-anna"},
                )
            ]
        },
    )

    assert response.status_code == 200, response.content
    record = LogRecord.objects.get()
    assert record.body == "Cannot deliver to [address and name]"
    assert record.attributes == {"order_id": "A-1"}
    assert record.resource["owner"] == "<masked>"


def test_an_environment_rule_over_every_string_reaches_log_records_of_every_application() -> None:
    _, token = new_application("shop")
    _, other_token = new_application("other")
    add_rules(
        rule_body(
            name="customer numbers",
            application=None,
            selector="*",
            detector=None,
            pattern=r"K-\d{6}",
            method="mask",
        )
    )
    for each in (token, other_token):
        body = {"logs": [log(body="refund for K-123456", attributes={"c": "K-654321"})]}
        assert post_json(Client(), each, body).status_code == 200

    for record in LogRecord.objects.all():
        assert record.body == "refund for <masked>"
        assert record.attributes == {"c": "<masked>"}


def test_the_rule_preview_takes_a_log_path() -> None:
    make_application("shop")
    client = api_client(officer())
    response = client.post(
        PREVIEW_URL,
        {
            "application": "shop",
            "path": "logs.attributes.street",
            "text": "Hauptstrasse 12 for anna@example.com",
            "rules": [
                {
                    "name": "streets",
                    "order": 1,
                    "selector": "logs.attributes.street",
                    "detector": None,
                    "pattern": r"\w+strasse \d+",
                    "method": "replace",
                    "replacement": "[street]",
                }
            ],
        },
        format="json",
    )

    assert response.status_code == 200, response.content
    assert response.json()["text"] == "[street] for <masked>"
    assert [c["step"] for c in response.json()["changes"]] == ["application rules", "built-in"]
    assert not LogRecord.objects.exists()
