"""Oracle suite over action fields: every read path x every action field of a fieldset x
every lookup form.

For each registry path a fieldset can name on actions (each ``actions.<field>``,
``actions.request_attributes.<key>`` and the ``actions`` collection) one
custom fieldset holds just that path. Two principals read the same session,
ingested through the ingest service with a distinctive value planted in every
action field:

* ``outsider`` holds every fieldset except that one: it never sees the planted
  value on any read path, gets the field named in each action's
  ``masked_fields`` (JSON paths), and every lookup touching the field is a 403
  naming it;
* ``holder`` holds every fieldset: it sees the value on every path that shows
  the field (the positive control, so a needle that never renders cannot pass
  for "masked"), the response is audited with the fieldset's name, and the
  same lookups are merely unknown parameters (400).

The only difference between the two principals is the fieldset under test.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from access.services import api_token_create
from fieldsets.models import Fieldset
from fieldsets.registry import ACTION, resolve
from permissions.models import AuditRecord
from permissions.services import grant_fieldset, grant_record_access
from sessions_app.applications import application_create
from sessions_app.models import UserAction, UserSession
from sessions_app.services import session_ingest

pytestmark = pytest.mark.django_db

TAG = "planted.customer@example.com"
PROBE = "probe"  # the custom fieldset under test
ATTRIBUTE_KEY = "order_ref"

# Action 0 carries a distinctive value in every field; action 1 is plain.
PLANTED_ACTION: dict[str, Any] = {
    "seq": 0,
    "type": "click",
    "name": "planted-name-zebra",
    "url": "https://shop.example.com/planted-url-zebra",
    "timestamp": "2026-11-28T10:17:43.250Z",
    "duration_ms": 48613,
    "http_status": 418,
    "error": {"message": "planted-error-zebra", "stack": "planted-stack-zebra"},
    "trace_id": "7a11ed0ace7a11ed0ace7a11ed0ace01",
    "headers": {"X-Planted-Hdr": "planted-header-zebra"},
    "request_attributes": {ATTRIBUTE_KEY: "planted-attr-zebra", "basket": "planted-basket-kiwi"},
    "product": {
        "sku": "PLANTED-SKU-ZEBRA",
        "name": "Planted Product Zebra",
        "price": "731.37",
        "currency": "XPT",
        "quantity": 937,
        "event": "add_to_cart",
    },
}
PLAIN_ACTION: dict[str, Any] = {
    "seq": 1,
    "type": "page_view",
    "name": "Loading of /home",
    "url": "https://shop.example.com/home",
    "timestamp": "2026-11-28T10:01:00Z",
}

# How each planted value can show on a page (JSON, HTML, dashboard formatting,
# admin date format), as regular expressions over the HTML-unescaped body.
NEEDLES: dict[str, tuple[str, ...]] = {
    "actions.type": (r"(?i)\bclick\b",),
    "actions.name": (r"planted-name-zebra",),
    "actions.url": (r"planted-url-zebra",),
    "actions.timestamp": (r"17:43", r"10:17"),  # ISO, dashboard offset +17:43.2, admin 10:17
    "actions.duration_ms": (r"\b48613\b", r"48\.6 s"),
    "actions.http_status": (r"\b418\b",),
    "actions.error_message": (r"planted-error-zebra",),
    "actions.error_stack": (r"planted-stack-zebra",),
    "actions.headers": (r"planted-header-zebra", r"(?i)x-planted-hdr"),
    "actions.request_attributes": (r"planted-attr-zebra", r"planted-basket-kiwi"),
    f"actions.request_attributes.{ATTRIBUTE_KEY}": (r"planted-attr-zebra",),
    "actions.product.sku": (r"PLANTED-SKU-ZEBRA",),
    "actions.product.name": (r"Planted Product Zebra",),
    "actions.product.price": (r"731\.37",),
    "actions.product.currency": (r"\bXPT\b",),
    "actions.product.quantity": (r"\b937\b",),
    "actions.product.event": (r"add_to_cart", r"Added to cart"),
    "actions.trace_id": (r"7a11ed0ace7a11ed0ace7a11ed0ace01",),
}
NEEDLES["actions"] = tuple(needle for needles in NEEDLES.values() for needle in needles)

# Every path a fieldset can name on actions: the registry's, plus one key and the collection.
ACTION_PATHS: tuple[str, ...] = (
    *(ACTION.path(f.name) for f in ACTION.hideable),
    f"actions.request_attributes.{ATTRIBUTE_KEY}",
    "actions",
)


def test_the_suite_covers_every_hideable_action_field() -> None:
    # Guards the suite: a field added to the registry needs a planted value here.
    assert set(NEEDLES) == set(ACTION_PATHS)
    assert {ACTION.path(f.name) for f in ACTION.hideable} <= set(NEEDLES)


@dataclass
class World:
    session: UserSession
    planted: UserAction
    outsider: User
    holder: User

    def browser(self, user: User) -> Client:
        client = Client()
        client.force_login(user)
        return client

    def api(self, user: User) -> Client:
        return Client(headers={"Authorization": f"Token {api_token_create(user=user)[1]}"})


def build_world(path: str) -> World:
    shop, _ = application_create(slug="shop", name="Shop")
    session_ingest(
        application=shop,
        payload={
            "sessions": [
                {
                    "session_id": "s-planted",
                    "started_at": "2026-11-28T10:00:00Z",
                    "ended_at": "2026-11-28T10:30:00Z",
                    "user_tag": TAG,
                    "actions": [PLANTED_ACTION, PLAIN_ACTION],
                }
            ]
        },
    )
    Fieldset.objects.create(name=PROBE, fields=[path])
    users = {}
    for username in ("outsider", "holder"):
        user = User.objects.create_user(username, password="pw-not-used-12345", is_staff=True)
        grant_record_access(user=user, application=shop)
        for name in Fieldset.objects.values_list("name", flat=True):
            if name != PROBE or username == "holder":
                grant_fieldset(fieldset_name=name, user=user, application=shop)
        users[username] = user
    session = UserSession.objects.get()
    return World(
        session=session,
        planted=UserAction.objects.get(session=session, seq=0),
        outsider=users["outsider"],
        holder=users["holder"],
    )


def readable(response: Any) -> str:
    """The body as a person reads it (HTML entities decoded)."""
    return html.unescape(response.content.decode())


def found(body: str, path: str) -> list[str]:
    return [needle for needle in NEEDLES[path] if re.search(needle, body)]


# --- read paths ---------------------------------------------------------------------
# Each returns the response of one principal; ``shows`` says which paths the page
# displays at all (the positive control needs a page that shows the field).


@dataclass(frozen=True)
class ReadPath:
    read: Callable[[World, User], Any]
    shows: Callable[[str], bool]
    # The markup of a "masked" cell, for paths that draw one for ``path`` (None: no badge).
    badge: Callable[[str], str | None] = lambda path: None


def _admin_badge(path: str) -> str | None:
    # Every admin column draws one; a hidden collection leaves no row to draw it in,
    # and a masked key shows as null inside its object (as in the API).
    resolved = resolve(path)
    shown = resolved is not None and resolved.field is not None and resolved.key is None
    return 'class="masked-badge"' if shown else None


def _dashboard_badge(path: str) -> str | None:
    # The timeline's cells; a product line and an error note simply leave out what is masked.
    name = path.removeprefix("actions.")
    drawn = ("type", "name", "url", "timestamp", "duration_ms", "headers", "request_attributes")
    return "badge-masked" if name.split(".")[0] in drawn else None


def _in_list(path: str) -> bool:
    # The admin's action columns on lists and inlines: the registry's in_list fields.
    if path == "actions":
        return True
    name = path.removeprefix("actions.")
    return ACTION.has(name) and ACTION.field(name).in_list


READ_PATHS: dict[str, ReadPath] = {
    "api-detail": ReadPath(
        lambda w, u: w.api(u).get(f"/api/v1/sessions/{w.session.pk}/"), lambda path: True
    ),
    "browsable-api-detail": ReadPath(
        lambda w, u: w.browser(u).get(
            f"/api/v1/sessions/{w.session.pk}/", headers={"Accept": "text/html"}
        ),
        lambda path: True,
    ),
    # The timeline shows everything but stack traces, trace ids (it shows the log records
    # they link instead), and a SKU only without a product name.
    "dashboard-session": ReadPath(
        lambda w, u: w.browser(u).get(f"/dashboard/sessions/{w.session.pk}/"),
        lambda path: path not in ("actions.error_stack", "actions.trace_id", "actions.product.sku"),
        _dashboard_badge,
    ),
    "admin-session-inline": ReadPath(
        lambda w, u: w.browser(u).get(f"/admin/sessions_app/usersession/{w.session.pk}/change/"),
        _in_list,
        _admin_badge,
    ),
    "admin-action-changelist": ReadPath(
        lambda w, u: w.browser(u).get("/admin/sessions_app/useraction/"), _in_list, _admin_badge
    ),
    "admin-action-change": ReadPath(
        lambda w, u: w.browser(u).get(f"/admin/sessions_app/useraction/{w.planted.pk}/change/"),
        lambda path: True,
        _admin_badge,
    ),
}


def audited_fieldsets(username: str) -> set[str]:
    return {
        name
        for names in AuditRecord.objects.filter(username=username).values_list(
            "fieldsets", flat=True
        )
        for name in names
    }


@pytest.mark.parametrize("path", ACTION_PATHS)
@pytest.mark.parametrize("read_path", READ_PATHS)
def test_a_hidden_action_field_never_shows_and_a_held_one_shows_audited(
    read_path: str, path: str
) -> None:
    world = build_world(path)
    reading = READ_PATHS[read_path]

    outsider = reading.read(world, world.outsider)
    if outsider.status_code == 200:
        assert found(readable(outsider), path) == [], f"{path} leaked on {read_path}"
    else:
        # Only a page of nothing but the hidden actions may be refused outright.
        assert (path, read_path) == ("actions", "admin-action-change"), outsider.status_code
    assert PROBE not in audited_fieldsets("outsider")

    holder = reading.read(world, world.holder)
    assert holder.status_code == 200
    if reading.shows(path):
        assert found(readable(holder), path), f"{path} not shown to its holder on {read_path}"
        assert PROBE in audited_fieldsets("holder")
        # Where a value was, the outsider is told it is masked (not shown "no data").
        badge = reading.badge(path)
        if badge is not None and outsider.status_code == 200:
            shown = readable(holder).count(badge)
            assert readable(outsider).count(badge) > shown, f"no masked badge on {read_path}"


@pytest.mark.parametrize("path", ACTION_PATHS)
def test_the_api_detail_names_the_hidden_field_in_each_action(path: str) -> None:
    world = build_world(path)
    data = world.api(world.outsider).get(f"/api/v1/sessions/{world.session.pk}/").json()
    held = world.api(world.holder).get(f"/api/v1/sessions/{world.session.pk}/").json()
    assert "actions" not in held["masked_fields"]
    if path == "actions":
        assert data["actions"] is None
        assert "actions" in data["masked_fields"]
        assert len(held["actions"]) == 2
        return
    assert "actions" not in data["masked_fields"]
    name = path.removeprefix("actions.")  # masked_fields names fields inside the action
    group, _, key = name.partition(".")
    for action, shown in zip(data["actions"], held["actions"], strict=True):
        assert shown["masked_fields"] == []
        value = shown[group] if not key else (shown[group] or {}).get(key)
        # Listed where the action has data in the field (the planted one always does).
        assert action["masked_fields"] == ([name] if value not in (None, "", {}) else [])
        if group == "product" and shown["product"] is not None:
            assert action["product"][key] is None
        elif group == "request_attributes" and key and shown[group]:
            # The key stays, with null; the other keys stay visible.
            assert action[group] == {**shown[group], key: None}
        elif not key:
            assert action[group] is None
    assert data["actions"][0]["masked_fields"] == [name]


# --- lookups ------------------------------------------------------------------------


def url_forms(path: str) -> list[str]:
    """Query strings naming ``path`` in every spelling and lookup a caller could try."""
    name = path.replace(".", "__")
    return [
        f"{name}=zebra",
        f"{name}__contains=zebra",
        f"{name}__gt=1",
        f"{name}__in=zebra",
        f"{name}__isnull=false",
        f"{path}=zebra",
        f"{name.upper()}=zebra",
    ]


def ordering_forms(path: str) -> list[str]:
    name = path.replace(".", "__")
    return [f"ordering={name}", f"ordering=-{path}", f"ordering={path.upper()}"]


def body_forms(path: str) -> list[dict[str, str]]:
    name = path.replace(".", "__")
    return [
        {name: "zebra"},
        {f"{name}__contains": "zebra"},
        {f"{name}__isnull": "false"},
        {path: "zebra"},
        {"ordering": f"-{name}"},
    ]


def refusal_names(response: Any, path: str) -> bool:
    if response["Content-Type"].startswith("application/json"):
        return bool(response.json().get("field") == path)
    return f"'{path}'" in readable(response)


def lookups(world: World, path: str) -> list[tuple[str, Callable[[User], Any]]]:
    """(description, the request as a principal) for every lookup form on every read path."""
    pk = world.session.pk
    attempts: list[tuple[str, Callable[[User], Any]]] = []

    def api(url: str) -> Callable[[User], Any]:
        return lambda user: world.api(user).get(url)

    def browser(url: str) -> Callable[[User], Any]:
        return lambda user: world.browser(user).get(url)

    def search(body: dict[str, str]) -> Callable[[User], Any]:
        return lambda user: world.api(user).post(
            "/api/v1/sessions/search/",
            data=json.dumps({"user_tag": TAG, **body}),
            content_type="application/json",
        )

    def find(name: str, value: str) -> Callable[[User], Any]:
        return lambda user: world.browser(user).post("/dashboard/", {"email": TAG, name: value})

    for form in url_forms(path) + ordering_forms(path):
        attempts.append((f"api {form}", api(f"/api/v1/sessions/?{form}")))
    for body in body_forms(path):
        attempts.append((f"search {body}", search(body)))
    for form in url_forms(path):
        for url in (
            "/admin/sessions_app/usersession/",
            "/dashboard/",
            f"/dashboard/sessions/{pk}/",
        ):
            attempts.append((f"{url} {form}", browser(f"{url}?{form}")))
        name, _, value = form.partition("=")
        attempts.append((f"dashboard POST {form}", find(name, value)))
    if path != "actions":
        # The action changelist's own lookups name fields of the action (url__contains).
        for form in url_forms(path.removeprefix("actions.")):
            attempts.append(
                (f"admin actions {form}", browser(f"/admin/sessions_app/useraction/?{form}"))
            )
    return attempts


@pytest.mark.parametrize("path", ACTION_PATHS)
def test_every_lookup_on_a_hidden_action_field_is_a_403_naming_it(path: str) -> None:
    world = build_world(path)
    for description, attempt in lookups(world, path):
        response = attempt(world.outsider)
        assert response.status_code == 403, f"{description}: {response.status_code}"
        assert refusal_names(response, path), f"{description}: field not named"
        assert found(readable(response), path) == [], description


@pytest.mark.parametrize("path", ACTION_PATHS)
def test_the_same_lookups_are_unknown_parameters_for_the_holder(path: str) -> None:
    world = build_world(path)
    for description, attempt in lookups(world, path):
        response = attempt(world.holder)
        assert response.status_code == 400, f"{description}: {response.status_code}"


def test_the_dashboard_takes_no_ordering_at_all() -> None:
    # Its pages have no sort parameter: an ordering is an unknown name (400) for
    # everyone, whatever field its value names.
    world = build_world("actions.url")
    for user in (world.outsider, world.holder):
        for form in ordering_forms("actions.url"):
            for url in ("/dashboard/", f"/dashboard/sessions/{world.session.pk}/"):
                assert world.browser(user).get(f"{url}?{form}").status_code == 400


def test_an_echoed_key_is_never_what_the_caller_typed() -> None:
    # A refusal on a key of a hidden object names the object, not the key the
    # caller made up (it could be anything, like any other unknown name).
    world = build_world("actions.request_attributes")
    typed = "caller-typed-key-7731"
    for url in (
        f"/api/v1/sessions/?actions__request_attributes__{typed}=1",
        f"/dashboard/?actions.request_attributes.{typed}=1",
    ):
        client = (
            world.api(world.outsider) if url.startswith("/api") else world.browser(world.outsider)
        )
        response = client.get(url)
        assert response.status_code == 403
        assert typed not in response.content.decode()
        assert refusal_names(response, "actions.request_attributes")


def test_a_lookup_on_a_visible_action_field_is_unknown_not_forbidden() -> None:
    # The outsider can see URLs (only request_attributes.order_ref is hidden from
    # it): a URL lookup is merely no filter we offer, as for a visible session field.
    world = build_world(f"actions.request_attributes.{ATTRIBUTE_KEY}")
    response = world.api(world.outsider).get("/api/v1/sessions/?actions__url__contains=zebra")
    assert response.status_code == 400
    assert "allowed" in response.json()


def test_planted_values_are_stored_as_sent() -> None:
    # Guards the needles: ingest masking keeps every planted value (none is personal data).
    world = build_world("actions.url")
    row = UserAction.objects.filter(pk=world.planted.pk).values().get()
    text = json.dumps(row, default=str)
    for path in ACTION_PATHS:
        if path not in ("actions.type", "actions.timestamp", "actions.duration_ms"):
            assert any(re.search(needle, text) for needle in NEEDLES[path]), path
