"""Test data: applications and stored sessions.

``stored_session`` writes rows the way the ingest service stores them (user tag
normalised, blind index and pseudonym computed, tag kept per the application's
storage mode), so read-side tests see realistic data.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from logs.models import LogRecord
from privacy.user_tags import UserTagStorage
from sessions_app import user_tags
from sessions_app.applications import application_create
from sessions_app.models import Application, UserAction, UserSession

BASE_TIME = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
_session_numbers = itertools.count(1)


def make_application(slug: str = "shop", **privacy_settings: Any) -> Application:
    return application_create(slug=slug, name=slug.title(), **privacy_settings)[0]


def stored_session(
    application: Application,
    *,
    user_tag: str | None = None,
    actions: int = 0,
    **fields: Any,
) -> UserSession:
    number = next(_session_numbers)
    values: dict[str, Any] = {
        "session_id": f"s-{number:05d}",
        "started_at": BASE_TIME + timedelta(minutes=number),
        "client_ip": "203.0.113.0",
        "geo_latitude": 48.2,
        "geo_longitude": 16.4,
        "country": "AT",
        "city": "Vienna",
        "browser": "Chrome 131",
        "os": "Android 15",
        "device": "mobile",
        **fields,
    }
    if user_tag is not None:
        normalised = user_tags.normalise(user_tag)
        values["user_tag_blind_index"] = user_tags.blind_index_for(normalised)
        values["user_id"] = user_tags.pseudonym_for(normalised, application_id=application.pk)
        if application.user_tag_storage == UserTagStorage.RAW:
            values["user_tag"] = normalised
        elif application.user_tag_storage == UserTagStorage.ENCRYPTED:
            values["user_tag_encrypted"] = user_tags.encrypt(
                normalised, application_id=application.pk
            )
    session = UserSession.objects.create(application=application, **values)
    if actions:
        UserAction.objects.bulk_create(
            UserAction(
                session=session,
                seq=seq,
                type="page_view",
                name=f"Loading of /page/{seq}",
                url=f"https://shop.example.com/page/{seq}",
                timestamp=session.started_at + timedelta(seconds=seq),
                duration_ms=100 + seq,
                http_status=200,
                product_price=Decimal("9.90") if seq == 0 else None,
            )
            for seq in range(actions)
        )
        UserSession.objects.filter(pk=session.pk).update(action_count=actions)
        session.refresh_from_db()
    return session


def stored_log(application: Application, **fields: Any) -> LogRecord:
    """A log record as ingest stores it (already masked; ``session_ref`` links it)."""
    number = next(_session_numbers)
    values: dict[str, Any] = {
        "time": BASE_TIME + timedelta(minutes=number, seconds=30),
        "severity_number": 17,
        "severity_text": "ERROR",
        "body": f"Payment gateway timeout #{number}",
        "service_name": "checkout",
        "host_name": "web-1",
        "attributes": {"order_id": f"A-{number:06d}"},
        **fields,
    }
    return LogRecord.objects.create(application=application, **values)
