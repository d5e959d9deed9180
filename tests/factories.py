"""Test data: applications and stored sessions, written through the ingest service.

``stored_session`` and ``stored_sessions`` build an ingest beacon from keyword
arguments and hand it to ``sessions_app.services.session_ingest``, the one
way sessions get into the database: user tags are normalised, hashed,
encrypted or dropped, IPs and coordinates masked, counters computed, all by
the product's own rules. Nothing here re-derives a storage rule.

Keyword arguments name *stored* fields (``client_ip``, ``error_count``,
``duration_ms``...). Each becomes the beacon input that produces it:

* session columns (``session_id``, ``started_at``, ``ended_at``, ``client_ip``,
  ``country``, ``city``, ``geo_latitude``, ``geo_longitude``, ``browser``, ``os``,
  ``device``, ``properties``, ``do_not_track``) are sent as they are (``None``
  or ``""``: not sent);
* ``duration_ms=N`` sends ``ended_at`` N ms after ``started_at``;
* ``actions=N`` sends N page views (the first with a product price); a list
  of beacon action dicts sends those (``seq`` and ``timestamp`` filled in);
* ``error_count=N`` adds N failed XHRs; ``converted=True`` or ``revenue=X``
  adds a purchase (of X), so the counters are ingest's own;
* ``action_count`` is only checked.

After ingest the factory reads the rows back and checks that every asked-for
value is what was stored. Ingest masks by the application's settings, so a
test asking for ``geo_latitude=48.21`` on an application that rounds
coordinates fails here with a message, instead of silently testing 48.2.

Batch with ``stored_sessions``: one ingest call (one transaction, a constant
number of queries) for many sessions.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db.models import Prefetch

from logs.models import LogRecord
from sessions_app.applications import application_create
from sessions_app.models import Application, UserAction, UserSession
from sessions_app.services import session_ingest

BASE_TIME = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
_session_numbers = itertools.count(1)


def restart_numbering() -> None:
    """Number each test's sessions from 1 again (``tests.conftest`` does it per test).

    A session starts ``number`` minutes after ``BASE_TIME``: with one count for
    the whole run, a test that ran after 1,440 factory sessions found its
    sessions on the next day, and its date filters failed depending on the order.
    """
    global _session_numbers
    _session_numbers = itertools.count(1)


DEFAULTS: dict[str, Any] = {
    "client_ip": "203.0.113.0",
    "geo_latitude": 48.2,
    "geo_longitude": 16.4,
    "country": "AT",
    "city": "Vienna",
    "browser": "Chrome 131",
    "os": "Android 15",
    "device": "mobile",
}
# Stored column -> key of the beacon's "geo" object.
_GEO = {
    "country": "country",
    "city": "city",
    "geo_latitude": "latitude",
    "geo_longitude": "longitude",
}
_PLAIN = ("session_id", "client_ip", "browser", "os", "device", "properties", "do_not_track")
_DERIVED = ("duration_ms", "error_count", "converted", "revenue", "action_count")
_KNOWN = {"started_at", "ended_at", *_GEO, *_PLAIN, *_DERIVED}
DEFAULT_REVENUE = Decimal("9.90")


class IngestStoredSomethingElse(AssertionError):
    """A factory asked for a value the application's privacy settings do not store."""


def make_application(slug: str = "shop", **privacy_settings: Any) -> Application:
    return application_create(slug=slug, name=slug.title(), **privacy_settings)[0]


def stored_session(
    application: Application,
    *,
    user_tag: str | None = None,
    actions: int | Sequence[Mapping[str, Any]] = 0,
    **fields: Any,
) -> UserSession:
    """One session of ``application``, ingested; see the module docstring for ``fields``."""
    return stored_sessions(application, [{"user_tag": user_tag, "actions": actions, **fields}])[0]


def stored_sessions(
    application: Application, specs: Iterable[Mapping[str, Any]]
) -> list[UserSession]:
    """Sessions of ``application``, one per spec (``stored_session``'s keyword
    arguments), ingested in as few batches as the ingest limit allows; in order."""
    wanted = [_Spec(spec) for spec in specs]
    explicit = [spec.session_id for spec in wanted if spec.explicit_actions]
    limit = settings.RUMVAULT_INGEST_MAX_SESSIONS
    for start in range(0, len(wanted), limit):
        chunk = wanted[start : start + limit]
        session_ingest(
            application=application, payload={"sessions": [spec.beacon for spec in chunk]}
        )
    rows = UserSession.objects.filter(
        application=application, session_id__in=[spec.session_id for spec in wanted]
    )
    if explicit:  # actions given as dicts: their texts are checked too
        rows = rows.prefetch_related(
            Prefetch("actions", UserAction.objects.filter(session__session_id__in=explicit))
        )
    by_id = {row.session_id: row for row in rows}
    stored = []
    for spec in wanted:
        row = by_id.get(spec.session_id)
        if row is None:
            raise IngestStoredSomethingElse(
                f"session {spec.session_id!r} was not stored as sent (discarded by "
                "Do-Not-Track, or its id holds something ingest digests)"
            )
        row.application = application  # as the caller holds it, no query to follow
        spec.check(row)
        if spec.explicit_actions:
            spec.check_actions(row)
        stored.append(row)
    return stored


class _Spec:
    """One session's keyword arguments as a beacon, and the stored values to check."""

    def __init__(self, spec: Mapping[str, Any]) -> None:
        fields = dict(spec)
        user_tag = fields.pop("user_tag", None)
        actions = fields.pop("actions", 0)
        unknown = fields.keys() - _KNOWN
        if unknown:
            raise TypeError(f"stored_session() does not know {sorted(unknown)}")
        self.expected = {name: value for name, value in fields.items() if name != "started_at"}
        number = next(_session_numbers)
        started: datetime = fields.get("started_at") or BASE_TIME + timedelta(minutes=number)
        values = {**DEFAULTS, "session_id": f"s-{number:05d}", **fields}
        self.session_id: str = values["session_id"]
        beacon: dict[str, Any] = {"started_at": started.isoformat()}
        if user_tag is not None:
            beacon["user_tag"] = user_tag
        for name in _PLAIN:
            if values.get(name) not in (None, ""):
                beacon[name] = values[name]
        geo = {
            key: values[name] for name, key in _GEO.items() if values.get(name) not in (None, "")
        }
        if geo:
            beacon["geo"] = geo
        ended = _ended_at(started, values)
        if ended is not None:
            beacon["ended_at"] = ended.isoformat()
        beacon["actions"] = _actions(started, actions, values)
        self.beacon = beacon
        self.explicit_actions = not isinstance(actions, int)

    def check(self, row: UserSession) -> None:
        for name, asked in self.expected.items():
            stored = getattr(row, name)
            if name == "revenue":
                asked = Decimal(asked)
            elif name == "properties":
                asked = asked or {}
            elif name in _TEXT and asked is None:
                asked = ""
            _compare(name, asked, stored, row.application)

    def check_actions(self, row: UserSession) -> None:
        """The texts of actions given as dicts (URLs and errors are masked at ingest)."""
        stored = {action.seq: action for action in row.actions.all()}
        for action in self.beacon["actions"]:
            error = action.get("error") or {}
            asked = {
                "name": action.get("name"),
                "url": action.get("url"),
                "error_message": error.get("message"),
                "error_stack": error.get("stack"),
            }
            seq = action["seq"]
            for name, value in asked.items():
                if value is not None:
                    where = f"actions[{seq}].{name}"
                    _compare(where, value, getattr(stored[seq], name), row.application)


def _compare(name: str, asked: Any, stored: Any, application: Application) -> None:
    if stored != asked:
        raise IngestStoredSomethingElse(
            f"{name}: asked for {asked!r}, ingest stored {stored!r} under the settings of "
            f"application {application.slug!r}; ask for the stored value or create the "
            "application with other privacy settings"
        )


_TEXT = ("country", "city", "browser", "os", "device")


def _ended_at(started: datetime, values: Mapping[str, Any]) -> datetime | None:
    ended: datetime | None = values.get("ended_at")
    duration = values.get("duration_ms")
    if duration is not None:
        if ended is not None:
            raise TypeError("give ended_at or duration_ms, not both")
        return started + timedelta(milliseconds=duration)
    return ended


def _actions(
    started: datetime, actions: int | Sequence[Mapping[str, Any]], values: Mapping[str, Any]
) -> list[dict[str, Any]]:
    if isinstance(actions, int):
        beacon = [_page_view(seq) for seq in range(actions)]
    else:
        beacon = [dict(action) for action in actions]
    for _ in range(values.get("error_count") or 0):
        beacon.append(
            {"type": "xhr", "name": "POST /api/cart", "url": "https://shop.example.com/api/cart",
             "duration_ms": 250, "http_status": 500,
             "error": {"message": "Internal Server Error"}}
        )  # fmt: skip
    revenue = values.get("revenue")
    converted = values.get("converted")
    if revenue is not None and Decimal(revenue) > 0 and converted is False:
        raise TypeError("revenue comes from purchases: it needs converted")
    if converted or (revenue is not None and Decimal(revenue) > 0):
        price = DEFAULT_REVENUE if revenue is None else Decimal(revenue)
        beacon.append(
            {"type": "click", "name": "Place order",
             "product": {"sku": "DRESS-42", "name": "Red dress", "price": str(price),
                         "currency": "EUR", "quantity": 1, "event": "purchase"}}
        )  # fmt: skip
    for seq, action in enumerate(beacon):
        action.setdefault("seq", seq)
        action.setdefault("type", "page_view")
        action.setdefault("timestamp", (started + timedelta(seconds=seq)).isoformat())
    return beacon


def _page_view(seq: int) -> dict[str, Any]:
    action: dict[str, Any] = {
        "type": "page_view",
        "name": f"Loading of /page/{seq}",
        "url": f"https://shop.example.com/page/{seq}",
        "duration_ms": 100 + seq,
        "http_status": 200,
    }
    if seq == 0:
        action["product"] = {"price": "9.90", "event": "view"}
    return action


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
