"""Validation of an ingest beacon: the whole batch, every problem at once.

Hand-written over the parsed JSON rather than DRF serializers: ingest is the
hot path, and this does one pass with no per-field object machinery.

Rules that shape this module:

* every error is ``{"path": <RFC 6901 JSON pointer>, "message": ...}`` and the
  batch is rejected as a whole (the service writes nothing);
* messages never repeat a submitted value (a user tag, an IP, a URL with a card
  number in it); object keys appear in a path only when they look like plain
  identifiers, so even a key cannot smuggle an email back out;
* unknown keys are errors (fail closed): a new field a client starts sending is
  refused until someone decided how to protect it;
* everything the database could choke on (NUL characters, lone surrogates,
  out-of-range integers, non-finite numbers) is caught here, so bad input is a
  ``400`` and never a ``500``.

The output is a list of :class:`CleanSession` with parsed values (aware UTC
datetimes, ``Decimal`` prices), so the service never parses anything twice.
"""

from __future__ import annotations

import ipaddress
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, TypeVar

from fieldsets.registry import ACTION, SESSION
from privacy.properties import drop_input_value
from privacy.user_tags import normalise_user_tag
from sessions_app.models import ActionType, ProductEvent

ACTION_TYPES = tuple(ActionType.values)
PRODUCT_EVENTS = tuple(ProductEvent.values)

# Bounds of the database columns (PostgreSQL integer, varchar lengths).
MAX_INT32 = 2_147_483_647
MAX_QUANTITY = 1_000_000
# Column lengths come from the registry (which reads them off the models).
SESSION_ID_MAX_LENGTH = SESSION.max_length("session_id")
COLUMN_MAX_LENGTHS = {
    name: SESSION.max_length(name) for name in ("city", "browser", "os", "device")
}
ACTION_NAME_MAX_LENGTH = ACTION.max_length("name")
PRODUCT_SKU_MAX_LENGTH = ACTION.max_length("product.sku")
PRODUCT_NAME_MAX_LENGTH = ACTION.max_length("product.name")
MAP_KEY_MAX_LENGTH = 200
MAX_NESTING = 8
TIMESTAMP_MAX_LENGTH = 64
# A hostile batch could produce millions of errors; past this many the client
# has enough to fix, and the response stays small.
MAX_ERRORS = 1000

BATCH_KEYS = frozenset({"sessions"})
SESSION_KEYS = frozenset(
    {
        "session_id",
        "started_at",
        "ended_at",
        "user_tag",
        "client_ip",
        "do_not_track",
        "geo",
        "browser",
        "os",
        "device",
        "properties",
        "actions",
    }
)
GEO_KEYS = frozenset({"country", "city", "latitude", "longitude"})
ACTION_KEYS = frozenset(
    {
        "seq",
        "type",
        "name",
        "url",
        "timestamp",
        "duration_ms",
        "http_status",
        "error",
        "headers",
        "request_attributes",
        "product",
        "trace_id",
    }
)
ERROR_KEYS = frozenset({"message", "stack"})
PRODUCT_KEYS = frozenset({"sku", "name", "price", "currency", "quantity", "event"})

# NUL and unpaired surrogates: valid JSON, but neither PostgreSQL nor UTF-8 accepts them.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
_SAFE_KEY = re.compile(r"[A-Za-z0-9_.-]{1,64}")
_PRICE = re.compile(r"\d{1,10}(?:\.\d{1,2})?")
_COUNTRY = re.compile(r"[A-Za-z]{2}")
_CURRENCY = re.compile(r"[A-Z]{3}")
_HEX = re.compile(r"[0-9a-f]+")
TRACE_ID_LENGTH = 32
SPAN_ID_LENGTH = 16


def hex_id(value: str, length: int) -> str | None:
    """A W3C trace (32) or span (16) id in lower-case hex, or None if it is not one.

    All zeros is the W3C "invalid" id: no record can be linked by it.
    """
    text = value.lower()
    if len(text) != length or not _HEX.fullmatch(text) or text.strip("0") == "":
        return None
    return text


@dataclass(frozen=True, slots=True)
class Limits:
    max_sessions: int
    max_actions: int
    max_string_length: int
    max_user_tag_length: int


class BeaconInvalid(Exception):
    """The beacon breaks the contract; ``errors`` lists every problem found."""

    def __init__(self, errors: list[dict[str, str]]) -> None:
        super().__init__(f"{len(errors)} validation error(s)")
        self.errors = errors


@dataclass(slots=True)
class CleanAction:
    seq: int
    type: str
    timestamp: datetime
    name: str = ""
    url: str = ""
    duration_ms: int | None = None
    http_status: int | None = None
    error_message: str = ""
    error_stack: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    request_attributes: dict[str, Any] = field(default_factory=dict)
    product_sku: str = ""
    product_name: str = ""
    product_price: Decimal | None = None
    product_currency: str = ""
    product_quantity: int | None = None
    product_event: str = ""
    trace_id: str | None = None


@dataclass(slots=True)
class CleanSession:
    session_id: str
    started_at: datetime
    ended_at: datetime | None = None
    user_tag: str | None = None  # already normalised
    client_ip: str | None = None
    do_not_track: bool = False
    country: str = ""
    city: str = ""
    latitude: float | None = None
    longitude: float | None = None
    browser: str = ""
    os: str = ""
    device: str = ""
    properties: dict[str, Any] = field(default_factory=dict)
    actions: list[CleanAction] = field(default_factory=list)


_T = TypeVar("_T")


class TooManyErrors(Exception):
    pass


class ErrorCollector:
    """Errors as JSON pointers and messages, for every ingest channel (beacons, JSON
    and OTLP log records): at most ``MAX_ERRORS``, then the run stops."""

    def __init__(self) -> None:
        self.errors: list[dict[str, str]] = []

    def error(self, path: str, message: str) -> None:
        self.errors.append({"path": path, "message": message})
        if len(self.errors) >= MAX_ERRORS:
            raise TooManyErrors


def collected(
    collector: ErrorCollector,
    run: Callable[[], _T],
    invalid: Callable[[list[dict[str, str]]], Exception],
) -> _T:
    """``run()``'s result, or ``invalid(errors)`` raised with every error it collected."""
    try:
        result = run()
    except TooManyErrors:
        collector.errors.append(
            {"path": "", "message": f"too many errors; only the first {MAX_ERRORS} are listed"}
        )
        raise invalid(collector.errors) from None
    if collector.errors:
        raise invalid(collector.errors)
    return result


def validate_beacon(payload: object, *, limits: Limits) -> list[CleanSession]:
    """Return the cleaned sessions, or raise :class:`BeaconInvalid` with every error."""
    validator = _Validator(limits)
    return collected(validator, lambda: validator.batch(payload), BeaconInvalid)


def _child(path: str, key: object) -> str:
    """The pointer to ``key`` under ``path``; the parent's if the key is not a plain name."""
    if isinstance(key, int):
        return f"{path}/{key}"
    if isinstance(key, str) and _SAFE_KEY.fullmatch(key):
        return f"{path}/{key}"  # no "~" or "/" in a safe key, so nothing to escape
    return path


def _describe(kind: str) -> str:
    return f"an {kind}" if kind[0] in "aeiou" else f"a {kind}"


class _Validator(ErrorCollector):
    def __init__(self, limits: Limits) -> None:
        super().__init__()
        self.limits = limits

    # --- structure --------------------------------------------------------

    def batch(self, payload: object) -> list[CleanSession]:
        if not isinstance(payload, dict):
            self.error("", "the body must be a JSON object with a 'sessions' array")
            return []
        self.unknown_keys(payload, BATCH_KEYS, "")
        raw_sessions = payload.get("sessions")
        if not isinstance(raw_sessions, list):
            self.error("/sessions", "is required and must be an array")
            return []
        if not raw_sessions:
            self.error("/sessions", "must contain at least one session")
            return []
        if len(raw_sessions) > self.limits.max_sessions:
            # Refused outright: the client has to split the batch anyway.
            self.error("/sessions", f"must contain at most {self.limits.max_sessions} sessions")
            return []
        sessions: list[CleanSession] = []
        first_index: dict[str, int] = {}
        for index, raw in enumerate(raw_sessions):
            path = f"/sessions/{index}"
            session = self.session(raw, path)
            # Checked on the raw value, so a duplicate is reported even when the
            # session has other errors too.
            session_id = raw.get("session_id") if isinstance(raw, dict) else None
            if isinstance(session_id, str):
                seen = first_index.setdefault(session_id, index)
                if seen != index:
                    self.error(
                        f"{path}/session_id", f"duplicates the session_id of /sessions/{seen}"
                    )
            if session is not None:
                sessions.append(session)
        return sessions

    def unknown_keys(self, raw: dict[Any, Any], known: frozenset[str], path: str) -> None:
        if raw.keys() <= known:  # the common case, without building a set
            return
        for key in raw.keys() - known:
            self.error(_child(path, key), "is not a known field")

    def session(self, raw: object, path: str) -> CleanSession | None:
        if not isinstance(raw, dict):
            self.error(path, "must be an object")
            return None
        self.unknown_keys(raw, SESSION_KEYS, path)
        session_id = self.string(raw, "session_id", path, SESSION_ID_MAX_LENGTH, required=True)
        if session_id == "":
            self.error(f"{path}/session_id", "must not be empty")
            session_id = None
        started_at = self.timestamp(raw, "started_at", path, required=True)
        ended_at = self.timestamp(raw, "ended_at", path)
        if started_at and ended_at and ended_at < started_at:
            self.error(f"{path}/ended_at", "must not be before started_at")
        session = CleanSession(
            session_id=session_id or "",
            started_at=started_at or datetime.min.replace(tzinfo=UTC),
            ended_at=ended_at,
            user_tag=self.user_tag(raw, path),
            client_ip=self.ip_address(raw, path),
            do_not_track=self.boolean(raw, "do_not_track", path),
            browser=self.string(raw, "browser", path, COLUMN_MAX_LENGTHS["browser"]) or "",
            os=self.string(raw, "os", path, COLUMN_MAX_LENGTHS["os"]) or "",
            device=self.string(raw, "device", path, COLUMN_MAX_LENGTHS["device"]) or "",
            properties=self.free_map(raw, "properties", path),
        )
        self.geo(raw, path, session)
        raw_actions = raw.get("actions")
        if raw_actions is not None:
            session.actions = self.actions(raw_actions, f"{path}/actions")
        if session_id is None or started_at is None:
            return None
        return session

    def geo(self, raw: dict[str, Any], path: str, session: CleanSession) -> None:
        geo = raw.get("geo")
        if geo is None:
            return
        path = f"{path}/geo"
        if not isinstance(geo, dict):
            self.error(path, "must be an object")
            return
        self.unknown_keys(geo, GEO_KEYS, path)
        country = self.string(geo, "country", path, 2)
        if country and not _COUNTRY.fullmatch(country):
            self.error(f"{path}/country", "must be a two-letter ISO 3166-1 country code")
        else:
            session.country = (country or "").upper()
        session.city = self.string(geo, "city", path, COLUMN_MAX_LENGTHS["city"]) or ""
        session.latitude = self.number(geo, "latitude", path, -90, 90)
        session.longitude = self.number(geo, "longitude", path, -180, 180)

    def actions(self, raw_actions: object, path: str) -> list[CleanAction]:
        if not isinstance(raw_actions, list):
            self.error(path, "must be an array")
            return []
        if len(raw_actions) > self.limits.max_actions:
            self.error(path, f"must contain at most {self.limits.max_actions} actions")
            return []
        actions: list[CleanAction] = []
        first_index: dict[int, int] = {}
        for index, raw in enumerate(raw_actions):
            action = self.action(raw, f"{path}/{index}")
            seq = raw.get("seq") if isinstance(raw, dict) else None
            if isinstance(seq, int) and not isinstance(seq, bool):
                seen = first_index.setdefault(seq, index)
                if seen != index:
                    self.error(f"{path}/{index}/seq", f"duplicates the seq of {path}/{seen}")
            if action is not None:
                actions.append(action)
        return actions

    def action(self, raw: object, path: str) -> CleanAction | None:
        if not isinstance(raw, dict):
            self.error(path, "must be an object")
            return None
        # User input is never stored: the key is accepted and thrown away unread.
        # (Only a key outside ACTION_KEYS can be one that drop_input_value drops.)
        if not raw.keys() <= ACTION_KEYS:
            raw = drop_input_value(raw)
        self.unknown_keys(raw, ACTION_KEYS, path)
        seq = self.integer(raw, "seq", path, 0, MAX_INT32, required=True)
        action_type = self.choice(raw, "type", path, ACTION_TYPES, required=True)
        timestamp = self.timestamp(raw, "timestamp", path, required=True)
        duration = self.number(raw, "duration_ms", path, 0, MAX_INT32)
        action = CleanAction(
            seq=seq if seq is not None else -1,
            type=action_type or "",
            timestamp=timestamp or datetime.min.replace(tzinfo=UTC),
            name=self.string(raw, "name", path, ACTION_NAME_MAX_LENGTH) or "",
            url=self.string(raw, "url", path, self.limits.max_string_length) or "",
            # Browsers measure in fractional milliseconds; whole ones are plenty.
            duration_ms=None if duration is None else round(duration),
            http_status=self.integer(raw, "http_status", path, 100, 599),
            headers=self.headers(raw, path),
            request_attributes=self.free_map(raw, "request_attributes", path),
        )
        self.error_details(raw, path, action)
        self.product(raw, path, action)
        action.trace_id = self.trace_id(raw, path)
        if seq is None or action_type is None or timestamp is None:
            return None
        return action

    def trace_id(self, raw: dict[str, Any], path: str) -> str | None:
        value = self.string(raw, "trace_id", path, TRACE_ID_LENGTH)
        if value is None:
            return None
        trace_id = hex_id(value, TRACE_ID_LENGTH)
        if trace_id is None:
            self.error(f"{path}/trace_id", "must be 32 hexadecimal digits, not all zero")
        return trace_id

    def error_details(self, raw: dict[str, Any], path: str, action: CleanAction) -> None:
        details = raw.get("error")
        if details is None:
            return
        path = f"{path}/error"
        if not isinstance(details, dict):
            self.error(path, "must be an object")
            return
        self.unknown_keys(details, ERROR_KEYS, path)
        limit = self.limits.max_string_length
        action.error_message = self.string(details, "message", path, limit) or ""
        action.error_stack = self.string(details, "stack", path, limit) or ""

    def product(self, raw: dict[str, Any], path: str, action: CleanAction) -> None:
        product = raw.get("product")
        if product is None:
            return
        path = f"{path}/product"
        if not isinstance(product, dict):
            self.error(path, "must be an object")
            return
        self.unknown_keys(product, PRODUCT_KEYS, path)
        action.product_event = (
            self.choice(product, "event", path, PRODUCT_EVENTS, required=True) or ""
        )
        action.product_sku = self.string(product, "sku", path, PRODUCT_SKU_MAX_LENGTH) or ""
        action.product_name = self.string(product, "name", path, PRODUCT_NAME_MAX_LENGTH) or ""
        action.product_price = self.price(product, path)
        action.product_quantity = self.integer(product, "quantity", path, 1, MAX_QUANTITY)
        currency = self.string(product, "currency", path, 3)
        if currency and not _CURRENCY.fullmatch(currency):
            self.error(f"{path}/currency", "must be a three-letter ISO 4217 code in upper case")
        else:
            action.product_currency = currency or ""

    # --- scalar fields ----------------------------------------------------

    def present(self, raw: dict[str, Any], key: str, path: str, *, required: bool) -> Any:
        value = raw.get(key)
        if value is None and required:
            self.error(f"{path}/{key}", "is required")
        return value

    def wrong_type(self, path: str, kind: str) -> None:
        self.error(path, f"must be {_describe(kind)}")

    def string(
        self, raw: dict[str, Any], key: str, path: str, max_length: int, *, required: bool = False
    ) -> str | None:
        value = self.present(raw, key, path, required=required)
        if value is None:
            return None
        if not isinstance(value, str):
            self.wrong_type(f"{path}/{key}", "string")
            return None
        if self.check_text(value, f"{path}/{key}", max_length):
            return value
        return None

    def check_text(self, value: str, path: str, max_length: int) -> bool:
        if len(value) > max_length:
            self.error(path, f"must be at most {max_length} characters")
            return False
        if _UNSTORABLE.search(value):
            self.error(path, "must not contain NUL characters or unpaired surrogates")
            return False
        return True

    def check_key(self, key: object, path: str) -> bool:
        """A key of a free-form map; errors point at the map, never repeat the key."""
        if _storable(key, MAP_KEY_MAX_LENGTH):
            return True
        if not isinstance(key, str):
            self.error(path, "keys must be strings")
        elif len(key) > MAP_KEY_MAX_LENGTH:
            self.error(path, f"keys must be at most {MAP_KEY_MAX_LENGTH} characters")
        else:
            self.error(path, "keys must not contain NUL characters or unpaired surrogates")
        return False

    def user_tag(self, raw: dict[str, Any], path: str) -> str | None:
        limit = self.limits.max_user_tag_length
        # Checked before normalising so a huge value costs nothing to reject.
        value = self.string(raw, "user_tag", path, limit)
        if value is None:
            return None
        normalised = normalise_user_tag(value)
        if len(normalised) > limit:  # lower-casing can lengthen a few characters
            self.error(f"{path}/user_tag", f"must be at most {limit} characters")
            return None
        return normalised or None

    def ip_address(self, raw: dict[str, Any], path: str) -> str | None:
        value = self.string(raw, "client_ip", path, 64)
        if value is None:
            return None
        try:
            address = ipaddress.ip_address(value)
        except ValueError:
            address = None
        # A zone id ("fe80::1%eth0") is valid Python but not storable as an inet.
        if address is None or getattr(address, "scope_id", None):
            self.error(f"{path}/client_ip", "must be an IPv4 or IPv6 address")
            return None
        return str(address)

    def boolean(self, raw: dict[str, Any], key: str, path: str) -> bool:
        value = raw.get(key)
        if value is None:
            return False
        if not isinstance(value, bool):
            self.wrong_type(f"{path}/{key}", "boolean")
            return False
        return value

    def integer(
        self,
        raw: dict[str, Any],
        key: str,
        path: str,
        minimum: int,
        maximum: int,
        *,
        required: bool = False,
    ) -> int | None:
        value = self.present(raw, key, path, required=required)
        if value is None:
            return None
        if not isinstance(value, int) or isinstance(value, bool):
            self.wrong_type(f"{path}/{key}", "integer")
            return None
        if not minimum <= value <= maximum:
            self.error(f"{path}/{key}", f"must be between {minimum} and {maximum}")
            return None
        return value

    def number(
        self, raw: dict[str, Any], key: str, path: str, minimum: float, maximum: float
    ) -> float | None:
        value = raw.get(key)
        if value is None:
            return None
        if not isinstance(value, int | float) or isinstance(value, bool):
            self.wrong_type(f"{path}/{key}", "number")
            return None
        if not math.isfinite(value) or not minimum <= value <= maximum:
            self.error(f"{path}/{key}", f"must be between {minimum} and {maximum}")
            return None
        return value

    def choice(
        self,
        raw: dict[str, Any],
        key: str,
        path: str,
        choices: tuple[str, ...],
        *,
        required: bool = False,
    ) -> str | None:
        value = self.present(raw, key, path, required=required)
        if value is None:
            return None
        if not isinstance(value, str) or value not in choices:  # never echoes the value
            self.error(f"{path}/{key}", f"must be one of: {', '.join(choices)}")
            return None
        return value

    def price(self, product: dict[str, Any], path: str) -> Decimal | None:
        value = product.get("price")
        if value is None:
            return None
        # A string keeps cents exact; a JSON number is accepted via its shortest repr.
        text = (
            repr(value) if isinstance(value, int | float) and not isinstance(value, bool) else value
        )
        if not isinstance(text, str) or not _PRICE.fullmatch(text):
            self.error(
                f"{path}/price",
                "must be a non-negative decimal with at most 10 digits and 2 decimal places",
            )
            return None
        return Decimal(text)

    def timestamp(
        self, raw: dict[str, Any], key: str, path: str, *, required: bool = False
    ) -> datetime | None:
        value = self.present(raw, key, path, required=required)
        if value is None:
            return None
        path = f"{path}/{key}"
        if not isinstance(value, str) or len(value) > TIMESTAMP_MAX_LENGTH:
            self.error(path, "must be an ISO 8601 timestamp string")
            return None
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            self.error(path, "must be an ISO 8601 timestamp")
            return None
        if parsed.tzinfo is None or parsed.utcoffset() is None:
            self.error(path, "must include a timezone (e.g. 'Z' or '+01:00')")
            return None
        try:
            return parsed.astimezone(UTC)
        except OverflowError:
            self.error(path, "is out of range")
            return None

    # --- free-form maps ---------------------------------------------------

    def headers(self, raw: dict[str, Any], path: str) -> dict[str, str]:
        headers = raw.get("headers")
        if headers is None:
            return {}
        path = f"{path}/headers"
        if not isinstance(headers, dict):
            self.error(path, "must be an object")
            return {}
        limit = self.limits.max_string_length
        for name, value in headers.items():
            # Paths are built only for errors: this loop runs for every header of every action.
            if _storable(name, MAP_KEY_MAX_LENGTH) and _storable(value, limit):
                continue
            if not self.check_key(name, path):
                continue
            if not isinstance(value, str):
                self.error(_child(path, name), "header values must be strings")
            else:
                self.check_text(value, _child(path, name), limit)
        return headers

    def free_map(self, raw: dict[str, Any], key: str, path: str) -> dict[str, Any]:
        """A JSON object of the client's own keys (properties, request attributes)."""
        value = raw.get(key)
        if value is None:
            return {}
        path = f"{path}/{key}"
        if not isinstance(value, dict):
            self.error(path, "must be an object")
            return {}
        self.free_value(value, path, depth=1)
        return value

    def free_value(self, value: object, path: str, *, depth: int) -> None:
        if isinstance(value, str):
            self.check_text(value, path, self.limits.max_string_length)
        elif isinstance(value, float):
            if not math.isfinite(value):
                self.error(path, "must be a finite number")
        elif isinstance(value, dict | list):
            if depth > MAX_NESTING:
                self.error(path, f"must not nest deeper than {MAX_NESTING} levels")
                return
            limit = self.limits.max_string_length
            if isinstance(value, list):
                for index, item in enumerate(value):
                    if not _storable(item, limit):
                        self.free_value(item, f"{path}/{index}", depth=depth + 1)
                return
            for name, item in value.items():
                if _storable(name, MAP_KEY_MAX_LENGTH) and _storable(item, limit):
                    continue  # the common case: a short string, no path built
                if self.check_key(name, path):
                    self.free_value(item, _child(path, name), depth=depth + 1)
        elif value is not None and not isinstance(value, int | bool):
            self.error(path, "must be a JSON value")


# The field checks, for the log records' JSON channel (logs.ingest.validation).
FieldValidator = _Validator


def _storable(value: object, max_length: int) -> bool:
    """A string the database takes as is: not too long, no NUL, no lone surrogate."""
    return type(value) is str and len(value) <= max_length and not _UNSTORABLE.search(value)
