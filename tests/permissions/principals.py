"""Principals for read-side tests: users, groups and token-authenticated API clients."""

from __future__ import annotations

from django.contrib.auth.models import Group, User
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from fieldsets.models import BUILTIN_SENSITIVE
from permissions.services import grant_fieldset, grant_record_access
from sessions_app.models import Application

SENSITIVE = BUILTIN_SENSITIVE


def make_user(username: str, *, superuser: bool = False, groups: tuple[Group, ...] = ()) -> User:
    if superuser:
        user = User.objects.create_superuser(username, password="pw-not-used-12345")
    else:
        user = User.objects.create_user(username, password="pw-not-used-12345")
    user.groups.add(*groups)
    return user


def reader(
    username: str,
    *,
    applications: tuple[Application, ...] = (),
    fieldset_on: tuple[Application, ...] = (),
) -> User:
    """Record access to ``applications``; the sensitive fieldset on ``fieldset_on``."""
    user = make_user(username)
    for application in applications:
        grant_record_access(user=user, application=application)
    for application in fieldset_on:
        grant_fieldset(fieldset_name=SENSITIVE, user=user, application=application)
    return user


def api_client(user: User | None = None) -> APIClient:
    client = APIClient()
    if user is not None:
        token, _ = Token.objects.get_or_create(user=user)
        client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client
