"""Issue 9, item 11: no response carrying session data may be kept by a browser or a proxy."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.http import HttpResponse
from django.test import Client

from tests.factories import make_application, stored_session

pytestmark = pytest.mark.django_db

JANE = "jane.doe@example.com"


@pytest.fixture
def root_client() -> tuple[Client, int]:
    application = make_application("shop")
    session = stored_session(application, user_tag=JANE, actions=1)
    root = User.objects.create_superuser("root", password="pw-not-used-12345")
    client = Client()
    client.force_login(root)
    return client, session.pk


def assert_not_stored(response: HttpResponse) -> None:
    directives = {d.strip() for d in response.get("Cache-Control", "").split(",")}
    assert "no-store" in directives, (response.status_code, response.get("Cache-Control"))
    assert "private" in directives
    assert "public" not in directives


def test_item11_api_json_csv_and_browsable_responses_are_no_store(root_client) -> None:
    client, pk = root_client
    responses = {
        "list json": client.get("/api/v1/sessions/", headers={"Accept": "application/json"}),
        "list csv": client.get("/api/v1/sessions/?format=csv"),
        "list browsable": client.get("/api/v1/sessions/", headers={"Accept": "text/html"}),
        "detail": client.get(f"/api/v1/sessions/{pk}/", headers={"Accept": "application/json"}),
        "detail browsable": client.get(f"/api/v1/sessions/{pk}/", headers={"Accept": "text/html"}),
        "search": client.post(
            "/api/v1/sessions/search/", {"user_tag": JANE}, content_type="application/json"
        ),
        "search csv": client.post(
            "/api/v1/sessions/search/?format=csv",
            {"user_tag": JANE},
            content_type="application/json",
        ),
        "audit": client.get("/api/v1/audit/", headers={"Accept": "application/json"}),
        "me": client.get("/api/v1/me/", headers={"Accept": "application/json"}),
    }
    for name, response in responses.items():
        assert response.status_code == 200, name
        assert_not_stored(response)
    assert JANE in responses["search"].content.decode()  # the data is there; so is no-store


def test_item11_dashboard_admin_and_error_responses_are_no_store(root_client) -> None:
    client, pk = root_client
    for url in (
        "/dashboard/",
        f"/dashboard/sessions/{pk}/",
        "/admin/",
        f"/admin/sessions_app/usersession/{pk}/change/",
        "/api/v1/sessions/999999/",  # 404
        "/api/v1/sessions/?nonsense=1",  # 400
    ):
        assert_not_stored(client.get(url))
    assert_not_stored(Client().get("/api/v1/sessions/"))  # 401
