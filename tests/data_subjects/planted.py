"""A planted person across two applications, a bystander, and privacy officers.

Jane has sessions (with actions) in ``shop`` (tag stored raw, IP kept whole)
and ``vault`` (tag encrypted, IP masked); Bob, another customer, has sessions
in both too. Every value that identifies Jane, or that she typed, carries a
marker that appears nowhere else, so a test can look for it anywhere: in a
response, a receipt, or the bytes of the database file.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import Permission, User
from rest_framework.test import APIClient

from access.services import api_token_create
from permissions.services import grant_fieldset, grant_record_access
from sessions_app.applications import application_create
from sessions_app.models import Application, UserSession
from sessions_app.services import session_ingest

JANE = "Jane.Planted@Example.com"
JANE_NORMALISED = "jane.planted@example.com"
JANE_IP = "198.51.100.77"  # kept whole in shop (ip_masking=off)
# Free text only Jane's sessions carry (error messages, request attributes, properties).
JANE_TEXT = ("zebraquartzjane", "JQ-778899-ORDER", "platinum-jane-tier")
BOB = "bob.bystander@example.org"
BOB_IP = "203.0.113.201"
BOB_TEXT = ("walrusbob", "BB-112233-ORDER")
DRESS = {"sku": "DRESS-42", "name": "Red dress", "price": "79.90", "currency": "EUR",
         "quantity": 1}  # fmt: skip


def _action(seq: int, marker: str, order: str, **extra: Any) -> dict[str, Any]:
    return {
        "seq": seq,
        "type": "xhr",
        "name": f"POST /api/checkout {marker}",
        "url": f"https://shop.example.com/checkout/{marker}",
        "timestamp": f"2026-11-28T10:0{seq}:00Z",
        "duration_ms": 100 + seq,
        "http_status": 500 if seq == 1 else 200,
        "error": {"message": f"Payment failed for {marker}"} if seq == 1 else None,
        "request_attributes": {"order_id": order},
        **extra,
    }


def _session(session_id: str, tag: str, ip: str, texts: tuple[str, ...]) -> dict[str, Any]:
    actions = [
        _action(0, texts[0], texts[1], product={**DRESS, "event": "view"}),
        _action(1, texts[0], texts[1]),
        _action(2, texts[0], texts[1], product={**DRESS, "event": "purchase"}),
    ]
    for action in actions:
        if action["error"] is None:
            del action["error"]
    return {
        "session_id": session_id,
        "started_at": "2026-11-28T10:00:00Z",
        "ended_at": "2026-11-28T10:10:00Z",
        "user_tag": tag,
        "client_ip": ip,
        "geo": {"country": "AT", "city": "Vienna", "latitude": 48.2082, "longitude": 16.3738},
        "browser": "Chrome 131",
        "os": "Android 15",
        "device": "mobile",
        "properties": {"loyalty_tier": texts[-1]},
        "actions": actions,
    }


@dataclass
class Planted:
    shop: Application
    vault: Application
    jane: list[int]  # session ids
    bob: list[int]


def plant() -> Planted:
    shop = application_create(slug="shop", name="Shop", ip_masking="off",
                              allowed_properties=["loyalty_tier"])[0]  # fmt: skip
    vault = application_create(slug="vault", name="Vault", user_tag_storage="encrypted",
                               allowed_properties=["loyalty_tier"])[0]  # fmt: skip
    for application, prefix in ((shop, "s"), (vault, "v")):
        session_ingest(
            application=application,
            payload={
                "sessions": [
                    _session(f"{prefix}-jane-1", JANE, JANE_IP, JANE_TEXT),
                    _session(f"{prefix}-jane-2", JANE.upper(), JANE_IP, JANE_TEXT),
                    _session(f"{prefix}-bob-1", BOB, BOB_IP, (*BOB_TEXT, "silver")),
                ]
            },
        )
    ids = dict(UserSession.objects.values_list("session_id", "pk"))
    return Planted(
        shop=shop,
        vault=vault,
        jane=sorted(pk for sid, pk in ids.items() if "jane" in sid),
        bob=sorted(pk for sid, pk in ids.items() if "bob" in sid),
    )


OFFICER_PERMISSIONS = ("create_request", "approve_request", "run_request",
                       "view_datasubjectrequest")  # fmt: skip


def officer(username: str, *permissions: str) -> User:
    """A privacy officer: every application with the sensitive fieldset, the audit trail, and
    the given data-subject permissions (all of them by default)."""
    user = User.objects.create_user(username, password="pw-not-used-12345")
    grant_record_access(user=user)
    grant_fieldset(fieldset_name="builtin-sensitive-user-events-and-sessions", user=user)
    codenames = permissions or OFFICER_PERMISSIONS
    user.user_permissions.add(
        *Permission.objects.filter(content_type__app_label="data_subjects", codename__in=codenames),
        Permission.objects.get(codename="view_auditrecord"),
    )
    return User.objects.get(pk=user.pk)  # fresh permission cache


def client_for(user: User) -> APIClient:
    client = APIClient()
    _, key = api_token_create(user=user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def create(client: APIClient, kind: str, tag: str = JANE, **overrides: Any) -> Any:
    body = {"user_tag": tag, "kind": kind, "reason": "Customer asked by mail",
            "ticket": "ZD-4711", **overrides}  # fmt: skip
    return client.post("/api/v1/data-subject-requests/", body, format="json")
