"""Builders for ingest beacons and helpers to post them and read rows back."""

from __future__ import annotations

import copy
import json
from typing import Any

from django.test import Client

from sessions_app.applications import application_create
from sessions_app.models import Application, UserAction, UserSession

INGEST_URL = "/api/v1/ingest/sessions/"
TAG = "jane.doe@example.com"
PUBLIC_IP = "81.2.69.142"

SESSION: dict[str, Any] = {
    "session_id": "s-0001",
    "started_at": "2026-11-28T10:00:00Z",
    "ended_at": "2026-11-28T10:12:00Z",
    "user_tag": TAG,
    "client_ip": PUBLIC_IP,
    "do_not_track": False,
    "geo": {"country": "AT", "city": "Vienna", "latitude": 48.2082, "longitude": 16.3738},
    "browser": "Chrome 131",
    "os": "Android 15",
    "device": "mobile",
    "properties": {"loyalty_tier": "gold"},
    "actions": [],
}


def action(seq: int, **fields: Any) -> dict[str, Any]:
    return {
        "seq": seq,
        "type": "page_view",
        "name": f"Loading of /page/{seq}",
        "url": f"https://shop.example.com/page/{seq}",
        "timestamp": f"2026-11-28T10:{seq % 60:02d}:00Z",
        "duration_ms": 100,
        **fields,
    }


def session(**fields: Any) -> dict[str, Any]:
    built = copy.deepcopy(SESSION)
    built.update(fields)
    return built


def batch(*sessions: dict[str, Any]) -> dict[str, Any]:
    return {"sessions": list(sessions) or [session()]}


def new_application(slug: str = "shop", **privacy_settings: Any) -> tuple[Application, str]:
    return application_create(slug=slug, name=slug.title(), **privacy_settings)


def post(client: Client, token: str | None, body: Any, **extra: Any) -> Any:
    data = body if isinstance(body, bytes | str) else json.dumps(body)
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token is not None else {}
    return client.post(
        INGEST_URL,
        data=data,
        content_type=extra.pop("content_type", "application/json"),
        **headers,
        **extra,
    )


def stored_session(session_id: str = "s-0001") -> UserSession:
    return UserSession.objects.get(session_id=session_id)


def stored_action(seq: int = 0, session_id: str = "s-0001") -> UserAction:
    return UserAction.objects.get(session__session_id=session_id, seq=seq)


def row_text(instance: UserSession | UserAction) -> str:
    """Every stored column of a row as one string, for "appears nowhere" checks."""
    values = type(instance).objects.filter(pk=instance.pk).values().get()
    return json.dumps(values, default=str)
