"""Principals for read-side tests: users, groups and token-authenticated API clients."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import Group, User
from rest_framework.test import APIClient

from access.services import api_token_create
from fieldsets.models import BUILTIN_FIELDSETS, BUILTIN_REQUEST_DETAILS, BUILTIN_SENSITIVE
from permissions.services import grant_fieldset, grant_record_access
from sessions_app.models import Application, UserSession
from tests.factories import make_application, stored_session, stored_sessions

SENSITIVE = BUILTIN_SENSITIVE
REQUEST_DETAILS = BUILTIN_REQUEST_DETAILS
REQUEST_DETAILS_FIELDS = frozenset(BUILTIN_FIELDSETS[REQUEST_DETAILS][1])


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
        _, key = api_token_create(user=user)
        client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


JANE = "jane.doe@example.com"
BOB = "bob@example.com"


@dataclass
class World:
    """Four applications, sessions of two customers, and five principals.

    - ``shop`` stores tags raw, ``vault`` encrypted, ``pseudo`` as pseudonym
      only; ``secret`` is read only by the global reader and the superuser.
    - ``agent``: record access to shop, vault, pseudo; no fieldset.
    - ``lead``: like agent, plus the sensitive fieldset on shop (own grant).
    - ``member``: record access and the fieldset on shop through group ``helpdesk``.
    - ``globe``: record access and the fieldset for every application (global).
    - ``root``: superuser.
    """

    apps: dict[str, Application]
    sessions: dict[str, UserSession]
    users: dict[str, User]
    group: Group

    def readable(self, username: str) -> set[str]:
        return READABLE[username]

    def revealed(self, username: str) -> set[str]:
        return REVEALED[username]


READABLE = {
    "agent": {"shop", "vault", "pseudo"},
    "lead": {"shop", "vault", "pseudo"},
    "member": {"shop"},
    "globe": {"shop", "vault", "pseudo", "secret"},
    "root": {"shop", "vault", "pseudo", "secret"},
}
REVEALED = {
    "agent": set(),
    "lead": {"shop"},
    "member": {"shop"},
    "globe": {"shop", "vault", "pseudo", "secret"},
    "root": {"shop", "vault", "pseudo", "secret"},
}
PRINCIPALS = tuple(READABLE)


def build_world() -> World:
    apps = {
        "shop": make_application("shop"),
        "vault": make_application("vault", user_tag_storage="encrypted"),
        "pseudo": make_application("pseudo", user_tag_storage="pseudonym_only"),
        "secret": make_application("secret"),
    }
    jane = {"user_tag": "  Jane.Doe@Example.COM ", "actions": 2}
    shop_jane, shop_bob, shop_anonymous = stored_sessions(
        apps["shop"],
        [
            jane,
            {"user_tag": BOB, "actions": 1},
            # No tag, no IP, no coordinates: nothing to mask, so nothing listed.
            {"client_ip": None, "geo_latitude": None, "geo_longitude": None},
        ],
    )
    sessions = {
        slug: shop_jane if slug == "shop" else stored_session(app, **jane)
        for slug, app in apps.items()
    }
    sessions["shop-bob"] = shop_bob
    sessions["shop-anonymous"] = shop_anonymous
    shop, vault, pseudo = apps["shop"], apps["vault"], apps["pseudo"]
    group = Group.objects.create(name="helpdesk")
    users = {
        "agent": reader("agent", applications=(shop, vault, pseudo)),
        "lead": reader("lead", applications=(shop, vault, pseudo), fieldset_on=(shop,)),
        "member": make_user("member", groups=(group,)),
        "globe": make_user("globe"),
        "root": make_user("root", superuser=True),
    }
    grant_record_access(group=group, application=shop)
    grant_fieldset(fieldset_name=SENSITIVE, group=group, application=shop)
    grant_record_access(user=users["globe"])
    grant_fieldset(fieldset_name=SENSITIVE, user=users["globe"])
    return World(apps=apps, sessions=sessions, users=users, group=group)
