"""Fieldset writes over the API: impact preview first, confirmed saves, audited, fail closed.

``POST /api/v1/fieldsets/impact/``, ``POST /api/v1/fieldsets/`` and
``PUT /api/v1/fieldsets/<name>/``: who may call them (401/403), what a body
may hold (400 with JSON pointers, never echoing what was sent), and that no
change is saved without ``"confirm": true`` after the impact was shown.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.contrib.auth.models import Permission, User
from rest_framework.test import APIClient

from fieldsets.models import BUILTIN_SENSITIVE, Fieldset
from permissions.audit import CODE_METHOD
from permissions.models import AuditKind, AuditRecord
from permissions.services import grant_fieldset
from tests.permissions.principals import World, api_client, build_world, make_user

pytestmark = pytest.mark.django_db

IMPACT = "/api/v1/fieldsets/impact/"
CREATE = "/api/v1/fieldsets/"
JANE = "jane.doe@example.com"


def editor(*codenames: str) -> User:
    user = make_user("editor-" + "-".join(c.split("_")[0] for c in codenames))
    user.user_permissions.add(
        *Permission.objects.filter(content_type__app_label="fieldsets", codename__in=codenames)
    )
    return user


@pytest.fixture
def world() -> World:
    return build_world()


@pytest.fixture
def officer() -> APIClient:
    return api_client(editor("add_fieldset", "change_fieldset"))


def send(client: APIClient, method: str, url: str, body: Any) -> Any:
    data = body if isinstance(body, str) else json.dumps(body)
    return getattr(client, method)(url, data=data, content_type="application/json")


def fieldset_changes() -> int:
    """Fieldset changes made through the API (the fixtures' own, by code, are ``CODE``)."""
    records = AuditRecord.objects.filter(kind=AuditKind.FIELDSET_CHANGE)
    return records.exclude(method=CODE_METHOD).count()


# --- who may ----------------------------------------------------------------------


def test_anonymous_callers_get_401(world: World) -> None:
    Fieldset.objects.create(name="geo", fields=["city"])
    anonymous = APIClient()
    body = {"name": "geo", "fields": ["city"], "confirm": True}
    for method, url in (("post", IMPACT), ("post", CREATE), ("put", "/api/v1/fieldsets/geo/")):
        assert send(anonymous, method, url, body).status_code == 401, url


def test_readers_without_the_permissions_get_403_whatever_they_send(world: World) -> None:
    Fieldset.objects.create(name="geo", fields=["city"])
    for username in ("agent", "lead", "globe"):
        client = api_client(world.users[username])
        for body in ({"name": "geo", "fields": ["country"], "confirm": True}, "not json", {}):
            for method, url in (
                ("post", IMPACT),
                ("post", CREATE),
                ("put", "/api/v1/fieldsets/geo/"),
            ):
                response = send(client, method, url, body)
                assert response.status_code == 403, (username, url, body)
    assert Fieldset.objects.get(name="geo").fields == ["city"]
    assert fieldset_changes() == 0


def test_creating_needs_add_and_changing_needs_change(world: World) -> None:
    Fieldset.objects.create(name="geo", fields=["city"])
    adder, changer = api_client(editor("add_fieldset")), api_client(editor("change_fieldset"))
    new = {"name": "shop-geo", "fields": ["country"]}
    existing = {"name": "geo", "fields": ["city", "country"]}
    assert send(adder, "post", IMPACT, new).status_code == 200
    assert send(adder, "post", IMPACT, existing).status_code == 403
    assert send(adder, "put", "/api/v1/fieldsets/geo/", existing).status_code == 403
    assert send(changer, "post", IMPACT, existing).status_code == 200
    assert send(changer, "post", IMPACT, new).status_code == 403
    assert send(changer, "post", CREATE, {**new, "confirm": True}).status_code == 403


def test_built_in_fieldsets_stay_read_only(officer: APIClient, world: World) -> None:
    body = {"fields": ["user_tag"], "confirm": True}
    for method, url, extra in (
        ("put", f"/api/v1/fieldsets/{BUILTIN_SENSITIVE}/", {}),
        ("post", IMPACT, {"name": BUILTIN_SENSITIVE}),
        ("post", CREATE, {"name": BUILTIN_SENSITIVE}),
    ):
        response = send(officer, method, url, {**body, **extra})
        assert response.status_code in (400, 403), url
    assert Fieldset.objects.get(name=BUILTIN_SENSITIVE).fields[0] == "user_tag"
    assert send(officer, "put", f"/api/v1/fieldsets/{BUILTIN_SENSITIVE}/", body).status_code == 403
    assert fieldset_changes() == 0


# --- what a body may hold -----------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ({"name": "geo", "fields": ["city", "no_such_field"]}, "/fields/1"),
        ({"name": "geo", "fields": ["city", "city"]}, "/fields"),
        ({"name": "geo", "fields": []}, "/fields"),
        ({"name": "geo", "fields": "city"}, "/fields"),
        ({"name": "geo", "fields": ["city", 7]}, "/fields/1"),
        ({"name": "geo"}, "/fields"),
        ({"name": "Not A Slug", "fields": ["city"]}, "/name"),
        ({"fields": ["city"]}, "/name"),
        ({"name": "geo", "fields": ["city"], "confirm": "perhaps"}, "/confirm"),
        ({"name": "geo", "fields": ["city"], "description": 3}, "/description"),
        ({"name": "geo", "fields": ["city"], "colour": "red"}, ""),
        (["geo"], ""),
    ],
)
def test_invalid_bodies_are_400_pointing_at_the_problem(
    officer: APIClient, world: World, body: Any, path: str
) -> None:
    for url in (IMPACT, CREATE):
        response = send(officer, "post", url, body)
        assert response.status_code == 400, url
        assert path in [error["path"] for error in response.json()["errors"]], url
    assert not Fieldset.objects.filter(name="geo").exists()


def test_a_derived_field_without_its_sources_is_refused_naming_them(
    officer: APIClient, world: World
) -> None:
    response = send(officer, "post", CREATE, {"name": "money", "fields": ["revenue"]})
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {
            "path": "/fields",
            "message": "revenue is derived from actions.product.event, actions.product.price, "
            "actions.product.quantity: add them too.",
        }
    ]


def test_errors_never_echo_what_was_sent(officer: APIClient, world: World) -> None:
    secret = "zebra-7731"
    for body in (
        {"name": "geo", "fields": [JANE, f"properties {secret}"]},
        {"name": f"{secret}!", "fields": ["city"]},
        {"name": "geo", "fields": ["city"], JANE: secret, secret: 1},
        {"name": "geo", "fields": ["city"], "confirm": secret},
    ):
        for url in (IMPACT, CREATE):
            text = send(officer, "post", url, body).content.decode()
            assert secret not in text
            assert "jane" not in text.lower()


def test_query_parameters_are_refused_like_everywhere(officer: APIClient, world: World) -> None:
    response = send(officer, "post", f"{IMPACT}?dry_run=1", {"name": "geo", "fields": ["city"]})
    assert response.status_code == 400
    response = send(officer, "post", f"{IMPACT}?note={JANE}", {"name": "geo", "fields": ["city"]})
    assert response.status_code == 400
    assert JANE not in response.content.decode()


# --- preview, confirm, save ------------------------------------------------------------


def test_the_preview_stores_nothing_and_names_who_loses_what(
    officer: APIClient, world: World
) -> None:
    response = send(officer, "post", IMPACT, {"name": "geo", "fields": ["city"]})
    assert response.status_code == 200
    data = response.json()
    assert data["name"] == "geo"
    assert data["fields"] == ["city"]
    assert {
        "principal_type": "user",
        "principal": "globe",
        "application": None,
        "lost": ["city"],
        "gained": [],
    } in data["impact"]
    assert {"principal_type": "group", "principal": "helpdesk", "application": "shop",
            "lost": ["city"], "gained": []} in data["impact"]  # fmt: skip
    assert not any(row["principal"] == "root" for row in data["impact"])
    assert not Fieldset.objects.filter(name="geo").exists()
    assert fieldset_changes() == 0


def test_no_personal_data_in_any_answer(officer: APIClient, world: World) -> None:
    # The world's sessions carry a user tag, IPs and coordinates; no answer has them.
    bodies = [
        ("post", IMPACT, {"name": "geo", "fields": ["city", "client_ip", "user_tag"]}),
        ("post", CREATE, {"name": "geo", "fields": ["city", "client_ip", "user_tag"]}),
        ("post", CREATE, {"name": "geo", "fields": ["city"], "confirm": True}),
        ("put", "/api/v1/fieldsets/geo/", {"fields": ["city", "country"], "confirm": True}),
    ]
    for method, url, body in bodies:
        text = send(officer, method, url, body).content.decode().lower()
        assert "jane" not in text
        assert "203.0.113" not in text
        assert "48.2" not in text


def test_without_confirm_nothing_is_saved_and_the_impact_is_the_answer(
    officer: APIClient, world: World
) -> None:
    Fieldset.objects.create(name="geo", fields=["city"])
    create = send(officer, "post", CREATE, {"name": "shop-geo", "fields": ["country"]})
    update = send(officer, "put", "/api/v1/fieldsets/geo/", {"fields": ["city", "country"]})
    for response in (create, update):
        assert response.status_code == 400
        data = response.json()
        assert data["errors"][0]["path"] == "/confirm"
        assert any(row["lost"] == ["country"] for row in data["impact"])
    assert not Fieldset.objects.filter(name="shop-geo").exists()
    assert Fieldset.objects.get(name="geo").fields == ["city"]
    assert fieldset_changes() == 0


def test_a_confirmed_create_and_update_are_saved_and_audited(
    officer: APIClient, world: World
) -> None:
    created = send(
        officer,
        "post",
        CREATE,
        {"name": "geo", "description": "Where", "fields": ["city"], "confirm": True},
    )
    assert created.status_code == 201
    assert created.json()["fields"] == ["city"]
    assert created.json()["builtin"] is False
    assert any(row["lost"] == ["city"] for row in created.json()["impact"])
    grant_fieldset(fieldset_name="geo", user=world.users["lead"])
    updated = send(
        officer, "put", "/api/v1/fieldsets/geo/", {"fields": ["city", "country"], "confirm": True}
    )
    assert updated.status_code == 200
    assert updated.json()["description"] == "Where"  # kept when not sent
    assert Fieldset.objects.get(name="geo").fields == ["city", "country"]
    lead_rows = [row for row in updated.json()["impact"] if row["principal"] == "lead"]
    assert lead_rows == []  # lead holds geo everywhere it reads: nothing changes for it
    records = AuditRecord.objects.filter(kind=AuditKind.FIELDSET_CHANGE).order_by("id")
    assert [(r.method, r.path, r.fieldsets) for r in records] == [
        ("POST", CREATE, ["geo"]),
        ("PUT", "/api/v1/fieldsets/geo/", ["geo"]),
    ]
    assert records[1].changes == {
        "action": "change",
        "fieldset": "geo",
        "before": {"fields": ["city"], "description": "Where"},
        "after": {"fields": ["city", "country"], "description": "Where"},
    }
    audit = api_client(world.users["root"]).get("/api/v1/audit/").json()["results"]
    assert audit[0]["kind"] == "fieldset_change"
    assert audit[0]["changes"]["after"]["fields"] == ["city", "country"]


def test_updates_keep_the_name_and_need_an_existing_fieldset(
    officer: APIClient, world: World
) -> None:
    Fieldset.objects.create(name="geo", fields=["city"])
    renamed = send(officer, "put", "/api/v1/fieldsets/geo/", {"name": "other", "fields": ["city"]})
    assert renamed.status_code == 400
    assert renamed.json()["errors"] == [
        {"path": "/name", "message": "A fieldset's name cannot change."}
    ]
    missing = send(officer, "put", "/api/v1/fieldsets/nope/", {"fields": ["city"], "confirm": True})
    assert missing.status_code == 404
    twice = send(officer, "post", CREATE, {"name": "geo", "fields": ["country"], "confirm": True})
    assert twice.status_code == 400
    assert twice.json()["errors"][0]["path"] == "/name"


def test_a_fieldset_named_impact_can_still_be_changed(officer: APIClient, world: World) -> None:
    send(officer, "post", CREATE, {"name": "impact", "fields": ["city"], "confirm": True})
    response = send(officer, "put", IMPACT, {"fields": ["country"], "confirm": True})
    assert response.status_code == 200
    assert Fieldset.objects.get(name="impact").fields == ["country"]


def test_the_schema_documents_the_writes() -> None:
    openapi = APIClient().get("/api/schema/?format=json").json()
    paths = openapi["paths"]
    assert set(paths["/api/v1/fieldsets/"]) >= {"get", "post"}
    assert "post" in paths["/api/v1/fieldsets/impact/"]
    assert "put" not in paths["/api/v1/fieldsets/impact/"]
    assert "put" in paths["/api/v1/fieldsets/{name}/"]
    create = paths["/api/v1/fieldsets/"]["post"]
    assert {"201", "400", "403"} <= set(create["responses"])
    body = create["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    schema = openapi["components"]["schemas"][body.rsplit("/", 1)[1]]
    assert {"name", "fields", "confirm"} <= set(schema["properties"])


def test_the_browsable_api_renders_the_lists_without_a_queryset(world: World) -> None:
    # These views have no queryset; DRF's filter form asked them for one (500).
    for username in ("agent", "root"):
        client = APIClient()
        client.force_login(world.users[username])
        for url in ("/api/v1/fieldsets/", "/api/v1/applications/", "/api/v1/me/"):
            assert client.get(url, HTTP_ACCEPT="text/html").status_code == 200, url
    root = APIClient()
    root.force_login(world.users["root"])
    assert root.get("/api/v1/audit/", HTTP_ACCEPT="text/html").status_code == 200
