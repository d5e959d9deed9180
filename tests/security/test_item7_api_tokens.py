"""Issue 9, item 7: API tokens are stored hashed, shown once, expire, and the admin
shows no more than a prefix of them."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from io import StringIO

import pytest
from django.apps import apps
from django.contrib.auth.models import Permission, User
from django.core.management import call_command
from django.db import models
from django.test import Client
from django.utils import timezone

from access.models import ApiToken

pytestmark = pytest.mark.django_db


def create_token(username: str) -> str:
    out = StringIO()
    call_command("drf_create_token", username, stdout=out)
    line = out.getvalue().strip()
    assert len(line.splitlines()) == 1
    return line.split()[2]  # "Generated token <key> for user <name>, ..." (awk '{print $3}')


def me(key: str) -> int:
    return Client().get("/api/v1/me/", headers={"Authorization": f"Token {key}"}).status_code


def tables_holding(value: str) -> list[str]:
    """Every model field, in every table, whose stored value contains ``value``."""
    found = []
    for model in apps.get_models():
        for field in model._meta.concrete_fields:
            if isinstance(field, (models.CharField, models.TextField)):
                lookup = {f"{field.attname}__contains": value}
                if model._default_manager.filter(**lookup).exists():
                    found.append(f"{model._meta.db_table}.{field.column}")
    return found


def test_item7_tokens_are_stored_only_as_hashes_and_work_once_printed() -> None:
    privacy = User.objects.create_user("privacy")
    key = create_token("privacy")
    assert me(key) == 200
    assert tables_holding(key) == []
    assert tables_holding(key[16:40]) == []  # not even the part after the lookup prefix
    token = ApiToken.objects.get(user=privacy)
    assert token.digest == hashlib.sha512(key.encode()).hexdigest()
    # Printed once: a second run makes a second, different token.
    assert create_token("privacy") != key
    assert ApiToken.objects.filter(user=privacy).count() == 2


def test_item7_a_staff_user_who_may_view_tokens_sees_a_prefix_at_most() -> None:
    User.objects.create_user("privacy")
    key = create_token("privacy")
    token = ApiToken.objects.get()
    clerk = User.objects.create_user("clerk", password="pw-not-used-12345", is_staff=True)
    clerk.user_permissions.add(Permission.objects.get(codename="view_apitoken"))
    client = Client()
    client.force_login(clerk)

    listing = client.get("/admin/access/apitoken/")
    assert listing.status_code == 200
    page = listing.content.decode()
    assert "privacy" in page
    assert key[:8] in page
    assert key[:9] not in page
    assert token.digest not in page
    assert token.token_key not in page
    # No page of the token, no way to add one that would print the key there.
    assert (
        client.get(f"/admin/access/apitoken/{token.pk}/change/").content.decode().count(key[:9])
        == 0
    )
    assert client.get("/admin/access/apitoken/add/").status_code == 403


def test_item7_tokens_expire() -> None:
    User.objects.create_user("agent")
    key = create_token("agent")
    token = ApiToken.objects.get()
    assert token.expiry is not None
    assert timedelta(days=29) < token.expiry - timezone.now() <= timedelta(days=30)
    ApiToken.objects.update(expiry=timezone.now() - timedelta(seconds=1))
    assert me(key) == 401
    assert not ApiToken.objects.exists()  # an expired token presented is deleted


def test_item7_reset_revokes_the_users_other_tokens() -> None:
    User.objects.create_user("agent")
    old = create_token("agent")
    out = StringIO()
    call_command("drf_create_token", "agent", "--reset", stdout=out)
    new = out.getvalue().split()[2]
    assert me(old) == 401
    assert me(new) == 200


def test_item7_a_malformed_token_header_is_a_401_not_a_500() -> None:
    client = Client(raise_request_exception=False)
    for header in ("Token \xff\xfe", "Token a b", "Token", "Token " + "0" * 64):
        assert client.get("/api/v1/me/", headers={"Authorization": header}).status_code == 401
