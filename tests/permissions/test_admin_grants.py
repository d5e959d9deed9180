"""Grants made in the admin by a superuser apply to the API on the next request."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client

from access.services import api_token_create
from fieldsets.models import BUILTIN_SENSITIVE, Fieldset
from permissions.services import grant_record_access
from tests.factories import make_application, stored_session

pytestmark = pytest.mark.django_db

EMAIL = "jane.doe@example.com"


def test_fieldset_granted_in_the_admin_is_revealed_by_the_api_at_once() -> None:
    shop = make_application("shop")
    session = stored_session(shop, user_tag=EMAIL)
    agent = User.objects.create_user("agent")
    grant_record_access(user=agent, application=shop)
    api = Client(headers={"Authorization": f"Token {api_token_create(user=agent)[1]}"})
    detail = f"/api/v1/sessions/{session.pk}/"
    assert api.get(detail).json()["user_tag"] is None

    admin = Client()
    admin.force_login(User.objects.create_superuser("root", password="pw"))
    reveal = Fieldset.objects.get(name=BUILTIN_SENSITIVE).permission
    response = admin.post(
        "/admin/permissions/applicationuserobjectpermission/add/",
        {"user": agent.pk, "permission": reveal.pk, "content_object": shop.pk},
    )
    assert response.status_code == 302, response.content.decode()[:500]
    assert api.get(detail).json()["user_tag"] == EMAIL


def test_the_admin_offers_only_grant_permissions() -> None:
    admin = Client()
    admin.force_login(User.objects.create_superuser("root", password="pw"))
    page = admin.get("/admin/permissions/applicationuserobjectpermission/add/").content.decode()
    assert "Can read sessions" in page
    assert Permission.objects.get(codename="delete_user").name not in page
