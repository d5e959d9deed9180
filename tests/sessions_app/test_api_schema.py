"""OpenAPI schema and the offline Swagger UI."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib.staticfiles import finders
from django.test import Client

from fieldsets.registry import SESSION

pytestmark = pytest.mark.django_db


@pytest.fixture
def openapi() -> dict[str, Any]:
    response = Client().get("/api/schema/?format=json")
    assert response.status_code == 200
    return response.json()


def test_schema_documents_masked_fields_and_nullable_maskable_fields(
    openapi: dict[str, Any],
) -> None:
    session = openapi["components"]["schemas"]["Session"]
    properties = session["properties"]
    assert properties["masked_fields"]["type"] == "array"
    assert "no data is not listed" in properties["masked_fields"]["description"]
    for name in (f.name for f in SESSION.hideable):
        assert properties[name].get("nullable") is True, name
        assert "Null when masked" in properties[name]["description"], name
    assert "masked_fields" in openapi["components"]["schemas"]["SessionDetail"]["properties"]


def test_schema_documents_the_search_body_and_csv(openapi: dict[str, Any]) -> None:
    search = openapi["paths"]["/api/v1/sessions/search/"]["post"]
    body = search["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert body.endswith("/SessionSearch")
    assert "user_tag" in openapi["components"]["schemas"]["SessionSearch"]["required"]
    listing = openapi["paths"]["/api/v1/sessions/"]["get"]
    assert "text/csv" in listing["responses"]["200"]["content"]
    names = {parameter["name"] for parameter in listing["parameters"]}
    assert {"application", "since", "until", "ordering", "cursor", "page_size"} <= names
    assert "user_tag" not in names
    assert "403" in listing["responses"]


def test_every_read_endpoint_is_documented(openapi: dict[str, Any]) -> None:
    for path in (
        "/api/v1/sessions/",
        "/api/v1/sessions/search/",
        "/api/v1/sessions/{id}/",
        "/api/v1/applications/",
        "/api/v1/fieldsets/",
        "/api/v1/me/",
        "/api/v1/audit/",
    ):
        assert path in openapi["paths"], path


def test_swagger_ui_loads_without_any_external_asset() -> None:
    response = Client().get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)
    assert "cdn" not in html.lower()
    assets = re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)["']""", html)
    static = [asset for asset in assets if asset.startswith("/static/")]
    assert any("swagger-ui" in asset for asset in static)
    for asset in static:
        assert finders.find(asset.removeprefix("/static/").split("?")[0]), asset
