"""/api/v1/privacy/rules/: CRUD, whole-list validation with JSON pointers, audit, preview."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Permission

from masking_rules.models import MaskingRule
from permissions.models import AuditKind, AuditRecord
from sessions_app.models import UserAction, UserSession
from tests.factories import make_application
from tests.masking_rules.support import PREVIEW_URL, RULES_URL, officer, rule_body
from tests.permissions.principals import api_client, make_user, reader
from tests.sessions_app.ingest_support import action, session

pytestmark = pytest.mark.django_db


def post(client: Any, body: Any, url: str = RULES_URL) -> Any:
    return client.post(url, body, format="json")


def test_create_list_retrieve_update_delete_each_audited_with_before_and_after() -> None:
    make_application("shop")
    client = api_client(officer())
    created = post(client, rule_body(application="shop", name="emails", order=5))
    assert created.status_code == 201, created.json()
    rule = created.json()
    assert {
        k: rule[k]
        for k in (
            "name",
            "application",
            "order",
            "selector",
            "detector",
            "pattern",
            "method",
            "replacement",
        )
    } == {
        "name": "emails",
        "application": "shop",
        "order": 5,
        "selector": "actions.error_message",
        "detector": "email",
        "pattern": None,
        "method": "mask",
        "replacement": "",
    }
    url = f"{RULES_URL}{rule['id']}/"
    assert client.get(url).json() == rule
    assert [r["id"] for r in client.get(RULES_URL).json()] == [rule["id"]]

    changed = client.patch(url, {"method": "partial"}, format="json")
    assert changed.status_code == 200
    assert changed.json()["method"] == "partial"
    assert client.delete(url).status_code == 204
    assert not MaskingRule.objects.exists()

    records = list(AuditRecord.objects.filter(kind=AuditKind.RULES_CHANGE).order_by("id"))
    assert [(r.changes["before"] is None, r.changes["after"] is None) for r in records] == [
        (True, False),
        (False, False),
        (False, True),
    ]
    assert records[1].changes["before"]["method"] == "mask"
    assert records[1].changes["after"]["method"] == "partial"
    assert all(r.applications == ["shop"] and r.username == "privacy" for r in records)


def test_list_is_in_the_order_ingest_applies_environment_first() -> None:
    make_application("shop")
    client = api_client(officer())
    post(client, rule_body(application="shop", name="b", order=1))
    post(client, rule_body(application=None, name="a", order=99))
    post(client, rule_body(application="shop", name="c", order=0))
    assert [r["name"] for r in client.get(RULES_URL).json()] == ["a", "c", "b"]


@pytest.mark.parametrize(
    ("fields", "path", "words"),
    [
        ({"selector": "actions.nope"}, "/selector", "names no field"),
        ({"selector": "actions.http_status"}, "/selector", "not a client string"),
        ({"selector": "started_at"}, "/selector", "not a client string"),
        ({"detector": "ssn"}, "/detector", "must be one of"),
        ({"detector": None, "pattern": r"(a)\1"}, "/pattern", "back-reference"),
        ({"detector": None, "pattern": "(?<=x)y"}, "/pattern", "look-around"),
        ({"detector": None}, "/pattern", "exactly one of"),
        ({"pattern": "x"}, "/detector", "exactly one of"),
        ({"method": "encrypt"}, "/method", "must be one of"),
        ({"method": "replace"}, "/replacement", "replacement text"),
        ({"method": "replace", "replacement": "jane@example.com"}, "/replacement", "detectors"),
        ({"replacement": "x"}, "/replacement", "only for method replace"),
        ({"order": -1}, "/order", "whole number"),
        ({"name": ""}, "/name", "1-100"),
        ({"application": "elsewhere"}, "/application", "slug of an application"),
        (
            {"selector": "actions.*", "detector": None, "pattern": ".+"},
            "/pattern",
            "catch-all",
        ),
    ],
)
def test_invalid_rules_are_a_400_with_a_pointer_and_the_reason(
    fields: dict[str, Any], path: str, words: str
) -> None:
    make_application("shop")
    response = post(api_client(officer()), rule_body(**{"application": "shop", **fields}))
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert any(e["path"] == path and words in e["message"] for e in errors), errors
    assert not MaskingRule.objects.exists()


def test_a_catch_all_rule_needs_the_confirmation_flag() -> None:
    make_application("shop")
    body = rule_body(application="shop", selector="*", detector=None, pattern=r"(?s).+")
    response = post(api_client(officer()), {**body, "confirm_catch_all": True})
    assert response.status_code == 201
    assert response.json()["confirm_catch_all"] is True


def test_a_list_of_rules_is_validated_as_a_whole_and_saved_whole_or_not_at_all() -> None:
    make_application("shop")
    client = api_client(officer())
    post(client, rule_body(application="shop", name="stored", order=1))
    response = post(
        client,
        [
            rule_body(application="shop", name="fine", order=2),
            rule_body(application="shop", name="stored", order=3),  # name taken
            rule_body(application="shop", name="again", order=2),  # order taken in the list
            rule_body(application="shop", name="bad", order=4, pattern="(", detector=None),
        ],
    )
    assert response.status_code == 400
    paths = {e["path"] for e in response.json()["errors"]}
    assert {"/3/pattern"} <= paths
    assert list(MaskingRule.objects.values_list("name", flat=True)) == ["stored"]
    fixed = post(
        client,
        [
            rule_body(application="shop", name="fine", order=2),
            rule_body(application="shop", name="stored", order=3),
        ],
    )
    assert fixed.status_code == 400
    assert fixed.json()["errors"] == [
        {"path": "/1/name", "message": "another rule of the same scope has this name"}
    ]
    ok = post(
        client,
        [
            rule_body(application="shop", name="fine", order=2),
            rule_body(application="shop", name="also", order=3),
        ],
    )
    assert ok.status_code == 201
    assert len(ok.json()) == 2
    assert MaskingRule.objects.count() == 3


def test_reading_needs_a_permission_and_writing_needs_manage_rules() -> None:
    shop = make_application("shop")
    plain = reader("agent", applications=(shop,))
    assert api_client(plain).get(RULES_URL).status_code == 403
    plain.user_permissions.add(Permission.objects.get(codename="view_maskingrule"))
    viewer = api_client(type(plain).objects.get(pk=plain.pk))
    assert viewer.get(RULES_URL).status_code == 200
    refused = post(viewer, rule_body(application="shop"))
    assert refused.status_code == 403
    assert "manage_rules" in refused.json()["detail"]
    assert api_client().get(RULES_URL).status_code == 401


def test_rules_of_an_application_you_cannot_read_do_not_exist_for_you() -> None:
    shop, other = make_application("shop"), make_application("other")
    post(api_client(officer()), rule_body(application="other", name="hidden"))
    hidden = MaskingRule.objects.get()
    limited = api_client(officer("limited", application=shop))
    assert limited.get(RULES_URL).json() == []
    assert limited.get(f"{RULES_URL}{hidden.pk}/").status_code == 404
    assert limited.delete(f"{RULES_URL}{hidden.pk}/").status_code == 404
    assert post(limited, rule_body(application="other")).status_code == 400
    # Environment-wide rules apply to every application: not for a principal reading one.
    refused = post(limited, rule_body(application=None))
    assert refused.status_code == 400
    assert refused.json()["errors"][0]["path"] == "/application"
    assert MaskingRule.objects.count() == 1
    assert other.pk


def test_unknown_keys_and_query_parameters_are_refused() -> None:
    client = api_client(officer())
    make_application("shop")
    assert post(client, {**rule_body(application="shop"), "extra": 1}).status_code == 400
    assert client.get(RULES_URL, {"applicaton": "shop"}).status_code == 400
    assert client.get(RULES_URL, {"application": "nope"}).status_code == 400


def test_a_slug_no_database_could_hold_is_no_application_you_can_read() -> None:
    # A NUL byte: PostgreSQL refuses such text outright (the schema fuzzer's 500).
    client = api_client(officer())
    make_application("shop")
    listed = client.get(RULES_URL, {"application": "sh\x00op"})
    assert listed.status_code == 400
    assert "no application you can read" in listed.json()["errors"][0]["message"]
    created = post(client, rule_body(application="sh\x00op"))
    assert created.status_code == 400
    assert created.json()["errors"][0]["path"].endswith("/application")
    assert not MaskingRule.objects.exists()


def test_preview_shows_the_masked_beacon_and_which_rule_changed_what_storing_nothing() -> None:
    make_application("shop", phone_region="AT", mask_personal_data_in_uris=True)
    client = api_client(officer())
    post(
        client, rule_body(application="shop", name="phones", selector="actions.*", detector="phone")
    )
    beacon = session(
        actions=[
            action(
                0,
                error={"message": "call 0660 1234567 or jane@example.com"},
                url="https://shop.example.com/orders/1234567?u=jane",
            )
        ],
    )
    response = post(client, {"application": "shop", "beacon": beacon}, PREVIEW_URL)
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["beacon"]["actions"][0]["error"]["message"] == "call <masked> or <masked>"
    assert body["beacon"]["client_ip"] == "81.2.69.0"
    assert {
        "path": "/actions/0/error/message",
        "rule": "phones",
        "step": "application rules",
    } in body["changes"]
    assert {"path": "/actions/0/error/message", "rule": None, "step": "built-in"} in body["changes"]
    assert {"path": "/actions/0/url", "rule": None, "step": "built-in"} in body["changes"]
    assert not UserSession.objects.exists()
    assert not UserAction.objects.exists()


def test_preview_of_proposed_rules_and_of_one_string() -> None:
    make_application("shop")
    client = api_client(officer())
    proposed = [
        rule_body(
            name="street",
            selector="actions.request_attributes.street",
            detector=None,
            pattern=".+",
            method="remove",
            application=None,
        )
    ]
    beacon = session(actions=[action(0, request_attributes={"street": "Hauptstrasse 12", "a": 1})])
    body = post(
        client, {"application": "shop", "beacon": beacon, "rules": proposed}, PREVIEW_URL
    ).json()
    assert body["beacon"]["actions"][0]["request_attributes"] == {"a": 1}
    ruled = [change for change in body["changes"] if change["rule"] is not None]
    assert ruled == [
        {
            "path": "/actions/0/request_attributes/street",
            "rule": "street",
            "step": "environment rules",
        }
    ]
    assert {"path": "/client_ip", "rule": None, "step": "built-in"} in body["changes"]
    assert not MaskingRule.objects.exists()

    text = post(
        client,
        {
            "application": "shop",
            "path": "actions.error_message",
            "text": "Anna Probe, 4111 1111 1111 1111",
            # Without "application", a proposed rule is the previewed one's.
            "rules": [
                {
                    k: v
                    for k, v in rule_body(detector=None, pattern="Anna Probe").items()
                    if k != "application"
                }
            ],
        },
        PREVIEW_URL,
    ).json()
    assert text["text"] == "<masked>, <masked>"
    assert [c["step"] for c in text["changes"]] == ["application rules", "built-in"]

    invalid = post(
        client,
        {
            "application": "shop",
            "path": "actions.error_message",
            "text": "x",
            "rules": [rule_body(detector=None, pattern="(?=x)")],
        },
        PREVIEW_URL,
    )
    assert invalid.status_code == 400
    assert invalid.json()["errors"][0]["path"] == "/rules/0/pattern"


def test_preview_of_an_invalid_beacon_points_into_it() -> None:
    make_application("shop")
    beacon = session(actions=[action(0, timestamp="yesterday")])
    response = post(api_client(officer()), {"application": "shop", "beacon": beacon}, PREVIEW_URL)
    assert response.status_code == 400
    assert response.json()["errors"][0]["path"] == "/beacon/actions/0/timestamp"


def test_the_schema_documents_the_rule_endpoints() -> None:
    admin = make_user("root", superuser=True)
    schema = api_client(admin).get("/api/schema/", {"format": "json"}).json()
    for path in (RULES_URL, f"{RULES_URL}{{id}}/", PREVIEW_URL):
        assert path in schema["paths"], sorted(schema["paths"])
    assert "post" in schema["paths"][PREVIEW_URL]
