"""Hypothesis fuzzing of ``POST /api/v1/ingest/sessions/``.

Properties:

* every malformed beacon gets a ``400`` (or ``413``) with ``{"errors": [...]}``,
  each error a ``message`` and a ``path`` that is an RFC 6901 JSON pointer
  resolving in the submitted document (or to the object that misses a
  required key); the database is unchanged (row counts and a checksum of
  every session and action row); the response never repeats a submitted user
  tag or client IP;
* every valid beacon gets a ``200`` listing its sessions in order.

Malformed beacons come from two sources: *mutations* (a random valid beacon
with one random location corrupted in a way the contract forbids: wrong type,
out of range, missing, oversized, unstorable characters, naive timestamp,
unknown key, duplicate id, ...) and *whole-body junk* (non-object top level,
random JSON, bodies that are not JSON at all, wrong content type, too large).
"""

from __future__ import annotations

import copy
import hashlib
import inspect
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from django.db.models import Count
from django.test import Client
from hypothesis import event, given, note, settings
from hypothesis import strategies as st
from pytest_django.fixtures import Settings as SettingsWrapper

from sessions_app import services
from sessions_app.applications import application_create
from sessions_app.ingest import validation
from sessions_app.ingest import views as ingest_views
from sessions_app.models import UserAction, UserSession

INGEST_URL = "/api/v1/ingest/sessions/"
MAX_INT32 = 2**31 - 1
STRING_LIMIT = 4096  # RUMVAULT_INGEST_MAX_STRING_LENGTH's default
# Lowered for these tests, so that an oversized body is cheap to build. No
# malformed beacon below comes near it unless it is meant to.
BODY_LIMIT = 256 * 1024
ACTION_TYPES = ["page_view", "xhr", "click", "custom", "error"]
PRODUCT_EVENTS = ["view", "add_to_cart", "purchase"]
ALLOWED_PROPERTIES = ["loyalty_tier", "cart", "flags"]
SEEDED_IDS = ["fz-0", "fz-1", "fz-2"]
_NOT_JSON = object()  # the "document" of a body that is not JSON


# --- valid beacons ----------------------------------------------------------------------

# Any character the contract accepts in a string: everything but NUL and lone surrogates.
_CHARS = st.characters(exclude_characters="\x00", exclude_categories=("Cs",))


def _text(max_size: int, min_size: int = 0) -> st.SearchStrategy[str]:
    return st.text(_CHARS, min_size=min_size, max_size=max_size)


def _nullable(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.none(), strategy)  # null is the same as an absent key


_OFFSETS = [
    UTC,
    timezone(timedelta(hours=5, minutes=30)),
    timezone(timedelta(hours=-8)),
    timezone(timedelta(hours=14)),
]
# Any moment that stays within years 1-9999 once converted to UTC.
_AWARE = st.datetimes(
    min_value=datetime(1, 1, 2),
    max_value=datetime(9999, 12, 30),
    timezones=st.sampled_from(_OFFSETS),
)
_LATEST = datetime(9999, 12, 30, tzinfo=UTC)


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


_USER_TAGS = st.one_of(
    st.builds(
        "{}.{}@{}".format,
        st.from_regex(r"[a-z]{3,10}", fullmatch=True),
        st.integers(0, 99_999),
        st.sampled_from(["example.com", "Shop.Example.org", "exämple.at"]),
    ),
    _text(250, 1),
)
SPECIAL_IPS = [
    "::ffff:203.0.113.42",
    "::",
    "0.0.0.0",  # noqa: S104 - an address a browser may report, not a bind
    "255.255.255.255",
    "fe80::1",
    "::1",
    "10.1.2.3",
    "192.168.0.1",
    "127.0.0.1",
    "2001:db8::1",
    "64:ff9b::203.0.113.42",
]
_IPS = st.one_of(
    st.ip_addresses().map(str),
    st.sampled_from(SPECIAL_IPS),
)

_JSON_LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    _text(40),
)


def _json_values(depth: int) -> st.SearchStrategy[Any]:
    if depth == 0:
        return _JSON_LEAVES
    inner = _json_values(depth - 1)
    return st.one_of(
        _JSON_LEAVES,
        st.lists(inner, max_size=3),
        st.dictionaries(_text(20), inner, max_size=3),
    )


_FREE_MAPS = st.dictionaries(
    st.one_of(st.sampled_from(ALLOWED_PROPERTIES), _text(20)), _json_values(3), max_size=4
)
_GEO = st.fixed_dictionaries(
    {},
    optional={
        "country": st.from_regex(r"[A-Za-z]{2}", fullmatch=True),
        "city": _nullable(_text(120)),
        "latitude": _nullable(st.floats(-90, 90)),
        "longitude": _nullable(st.floats(-180, 180)),
    },
)


def _products(events: list[str], integer_digits: int, max_quantity: int) -> Any:
    return st.fixed_dictionaries(
        {"event": st.sampled_from(events)},
        optional={
            "sku": _text(100),
            "name": _text(200),
            # \d is any Unicode digit, exactly as the validator's own pattern reads it.
            "price": st.one_of(
                st.from_regex(rf"\d{{1,{integer_digits}}}(\.\d{{1,2}})?", fullmatch=True),
                st.integers(0, 10**integer_digits - 1),
            ),
            "currency": st.from_regex(r"[A-Z]{3}", fullmatch=True),
            "quantity": st.integers(1, max_quantity),
        },
    )


# A session's purchases may total at most 999999999999.99 (its revenue column): purchases
# stay far below that, even summed over every example that re-sends a session id.
_PRODUCT = st.one_of(
    _products(["view", "add_to_cart"], integer_digits=10, max_quantity=1_000_000),
    _products(["purchase"], integer_digits=6, max_quantity=100),
)
_URLS = st.one_of(
    st.builds(
        "https://shop.example.com/{}?q={}".format,
        _text(60),
        st.sampled_from(["jane.doe@example.com", "4111111111111111", "AT611904300234573201", "1"]),
    ),
    _text(300),
)
_ACTION_WITHOUT_SEQ = st.fixed_dictionaries(
    {"type": st.sampled_from(ACTION_TYPES), "timestamp": _AWARE.map(_iso)},
    optional={
        "name": _nullable(_text(500)),
        "url": _nullable(_URLS),
        "duration_ms": _nullable(st.one_of(st.integers(0, MAX_INT32), st.floats(0, MAX_INT32 - 1))),
        "http_status": _nullable(st.integers(100, 599)),
        "error": _nullable(
            st.fixed_dictionaries({}, optional={"message": _text(300), "stack": _text(300)})
        ),
        "headers": _nullable(st.dictionaries(_text(30), _text(100), max_size=4)),
        "request_attributes": _nullable(_FREE_MAPS),
        "product": _nullable(_PRODUCT),
        "input_value": _text(30),  # accepted and thrown away unread
    },
)
_ACTIONS = st.tuples(
    st.lists(_ACTION_WITHOUT_SEQ, max_size=4),
    st.integers(0, MAX_INT32 - 3),  # distinct seqs from here, up to the column's limit
    st.randoms(use_true_random=True),
).map(
    lambda drawn: [
        {"seq": drawn[1] + offset, **action}
        for offset, action in zip(drawn[2].sample(range(4), len(drawn[0])), drawn[0], strict=True)
    ]
)
_SESSION_IDS = st.one_of(
    st.sampled_from(SEEDED_IDS), st.from_regex(r"fz-[a-z0-9]{1,12}", fullmatch=True), _text(128, 1)
)


@st.composite
def _sessions(draw: st.DrawFn, session_id: str) -> dict[str, Any]:
    started = draw(_AWARE)
    session: dict[str, Any] = {"session_id": session_id, "started_at": _iso(started)}
    optional: dict[str, st.SearchStrategy[Any]] = {
        "ended_at": st.integers(0, 10**12).map(
            lambda ms: _iso(started + min(timedelta(milliseconds=ms), _LATEST - started))
        ),
        "user_tag": _USER_TAGS,
        "client_ip": _IPS,
        "do_not_track": st.booleans(),
        "geo": _GEO,
        "browser": _text(120),
        "os": _text(120),
        "device": _text(40),
        "properties": _FREE_MAPS,
        "actions": _ACTIONS,
    }
    for name in draw(st.sets(st.sampled_from(sorted(optional)))):
        session[name] = draw(optional[name])
    return session


VALID_BEACONS = st.lists(_SESSION_IDS, min_size=1, max_size=3, unique=True).flatmap(
    lambda ids: st.tuples(*(_sessions(session_id) for session_id in ids)).map(
        lambda sessions: {"sessions": list(sessions)}
    )
)


# --- the contract, as far as corrupting it goes ---------------------------------------


@dataclass(frozen=True)
class Spec:
    """What the contract allows at one location of a beacon."""

    kind: str
    required: bool = False
    max_length: int = 0
    minimum: float = 0
    maximum: float = 0
    choices: tuple[str, ...] = ()
    children: dict[str, Spec] = field(default_factory=dict)
    items: Spec | None = None


def _string(max_length: int, *, required: bool = False) -> Spec:
    return Spec("string", required=required, max_length=max_length)


PRODUCT_SPEC = Spec(
    "object",
    children={
        "event": Spec("choice", required=True, choices=tuple(PRODUCT_EVENTS)),
        "sku": _string(100),
        "name": _string(200),
        "price": Spec("price"),
        "currency": Spec("currency"),
        "quantity": Spec("integer", minimum=1, maximum=1_000_000),
    },
)
ACTION_SPEC = Spec(
    "object",
    required=True,
    children={
        "seq": Spec("integer", required=True, minimum=0, maximum=MAX_INT32),
        "type": Spec("choice", required=True, choices=tuple(ACTION_TYPES)),
        "timestamp": Spec("timestamp", required=True),
        "name": _string(500),
        "url": _string(STRING_LIMIT),
        "duration_ms": Spec("number", minimum=0, maximum=MAX_INT32),
        "http_status": Spec("integer", minimum=100, maximum=599),
        "error": Spec(
            "object",
            children={"message": _string(STRING_LIMIT), "stack": _string(STRING_LIMIT)},
        ),
        "headers": Spec("headers"),
        "request_attributes": Spec("free_map"),
        "product": PRODUCT_SPEC,
        "trace_id": Spec("trace_id"),
    },
)
SESSION_SPEC = Spec(
    "object",
    required=True,
    children={
        "session_id": _string(128, required=True),
        "started_at": Spec("timestamp", required=True),
        "ended_at": Spec("timestamp"),
        "user_tag": _string(250),
        "client_ip": Spec("ip"),
        "do_not_track": Spec("boolean"),
        "geo": Spec(
            "object",
            children={
                "country": Spec("country"),
                "city": _string(120),
                "latitude": Spec("number", minimum=-90, maximum=90),
                "longitude": Spec("number", minimum=-180, maximum=180),
            },
        ),
        "browser": _string(120),
        "os": _string(120),
        "device": _string(40),
        "properties": Spec("free_map"),
        "actions": Spec("array", items=ACTION_SPEC),
    },
)
BATCH_SPEC = Spec(
    "object",
    required=True,
    children={"sessions": Spec("array", required=True, items=SESSION_SPEC)},
)

Path = tuple[str | int, ...]


def _locations(value: Any, spec: Spec, path: Path = ()) -> Iterator[tuple[Path, Spec]]:
    """Every location the spec describes in ``value``, absent optional keys included."""
    yield path, spec
    if spec.kind == "object" and isinstance(value, dict):
        for name, child in spec.children.items():
            yield from _locations(value.get(name), child, (*path, name))
    elif spec.kind == "array" and isinstance(value, list) and spec.items is not None:
        for index, item in enumerate(value):
            yield from _locations(item, spec.items, (*path, index))


def _get(document: Any, path: Path) -> Any:
    for token in path:
        document = document[token] if isinstance(document, list) else document.get(token)
    return document


def _replace(document: Any, path: Path, value: Any) -> Any:
    changed = copy.deepcopy(document)
    if not path:
        return value
    parent = _get(changed, path[:-1])
    parent[path[-1]] = value
    return changed


def _delete(document: Any, path: Path) -> Any:
    changed = copy.deepcopy(document)
    parent = _get(changed, path[:-1])
    del parent[path[-1]]
    return changed


# --- invalid values per kind of location ----------------------------------------------

_ANY_JSON = _json_values(2)
# Wrong-type values, built per type rather than filtered (filters starve Hypothesis).
_NUMBERS = st.one_of(st.integers(), st.floats(allow_nan=False, allow_infinity=False))
_STRINGS = _text(40)
_LISTS = st.lists(_JSON_LEAVES, max_size=2)
_OBJECTS = st.dictionaries(_text(5), _JSON_LEAVES, max_size=2)
_NON_STRINGS = st.one_of(st.booleans(), _NUMBERS, _LISTS, _OBJECTS)
_NON_OBJECTS = st.one_of(st.booleans(), _NUMBERS, _STRINGS, _LISTS)
_NON_ARRAYS = st.one_of(st.booleans(), _NUMBERS, _STRINGS, _OBJECTS)
_NON_BOOLEANS = st.one_of(_NUMBERS, _STRINGS, _LISTS, _OBJECTS)
_NAN_LIKE = st.sampled_from(["NaN", "nan", "Infinity", "-Infinity", "inf", "1e999", "", " "])
_UNSTORABLE_SUFFIX = st.sampled_from(["\x00", "\ud800", "\udfff", "a\x00b"])


def _oversized(current: Any, limit: int) -> st.SearchStrategy[str]:
    # Keeps the original (a user tag, say) inside, so an echo of it would show.
    base = current if isinstance(current, str) else "x"
    return st.integers(1, 64).map(lambda extra: base + "x" * (limit + extra - len(base)))


def _invalid_values(spec: Spec, current: Any) -> st.SearchStrategy[Any]:
    """Values the contract forbids at a location of this spec (``None``: only if required)."""
    base = current if isinstance(current, str) else "v"
    options: list[st.SearchStrategy[Any]] = []
    if spec.required:
        options.append(st.none())
    kind = spec.kind
    if kind == "string":
        options += [
            _NON_STRINGS,
            _oversized(current, spec.max_length),
            _UNSTORABLE_SUFFIX.map(lambda bad: base + bad),
        ]
    elif kind == "timestamp":
        naive = _AWARE.map(lambda moment: moment.replace(tzinfo=None).isoformat())
        options += [
            _NON_STRINGS,
            naive,
            _NAN_LIKE,
            st.sampled_from(
                [
                    "2026-02-30T10:00:00Z",
                    "28/11/2026 10:00",
                    "2026-11-28T25:00:00Z",
                    "0001-01-01T00:00:00+01:00",  # before year 1 once in UTC
                    "9999-12-31T23:59:59-14:00",  # after year 9999 once in UTC
                    "2026-11-28T10:00:00Z" + " " * 60,  # over 64 characters
                ]
            ),
        ]
    elif kind == "ip":
        options += [
            _NON_STRINGS,
            _NAN_LIKE,
            st.sampled_from(
                [
                    "256.1.2.3",
                    "203.0.113",
                    "203.0.113.42/24",
                    "fe80::1%eth0",
                    "2001:db8::g",
                    "::1::",
                    "localhost",
                    "203.0.113.42 ",
                ]
            ),
        ]
    elif kind == "boolean":
        options += [_NON_BOOLEANS, st.sampled_from(["true", "false", "1", "0"])]
    elif kind == "integer":
        low, high = int(spec.minimum), int(spec.maximum)
        options += [
            st.sampled_from([1.5, float(low), "1", True, False, [], {}]),
            _NAN_LIKE,
            st.one_of(st.integers(max_value=low - 1), st.integers(min_value=high + 1)),
        ]
    elif kind == "number":
        options += [
            st.sampled_from(["1", True, False, [], {}]),
            _NAN_LIKE,
            st.one_of(
                st.integers(max_value=int(spec.minimum) - 1),
                st.integers(min_value=int(spec.maximum) + 1),
                st.floats(max_value=spec.minimum - 1e-6, allow_infinity=False),
                st.floats(min_value=spec.maximum + 1e-6, allow_infinity=False),
            ),
        ]
    elif kind == "choice":
        options += [
            _NON_STRINGS,
            _STRINGS.filter(lambda value: value not in spec.choices),
            st.sampled_from([choice.upper() for choice in spec.choices]),
        ]
    elif kind == "country":
        options += [_NON_STRINGS, st.sampled_from(["AUT", "A1", "Ö1", "a ", "1"])]
    elif kind == "trace_id":
        options += [
            _NON_STRINGS,
            st.sampled_from(["", "0" * 32, "xyz", "5b8efff7", "5b8efff798038103d269b633813fc60c0"]),
            st.text(alphabet="ghijk", min_size=32, max_size=32),
        ]
    elif kind == "currency":
        options += [_NON_STRINGS, st.sampled_from(["eur", "EURO", "E1R", "€", "US"])]
    elif kind == "price":
        options += [
            st.sampled_from([True, [], {}, "-1", "1.234", "1e3", "NaN", "12345678901", " 1", "1."]),
            st.sampled_from([-1, 1.234, 1e20, -0.5]),
        ]
    elif kind == "object":
        options += [_NON_OBJECTS]
    elif kind == "array":
        options += [_NON_ARRAYS]
    elif kind == "headers":
        options += [
            _NON_OBJECTS,
            st.tuples(_text(20), st.one_of(st.none(), _NON_STRINGS)).map(lambda kv: {kv[0]: kv[1]}),
            st.tuples(_text(20), _UNSTORABLE_SUFFIX).map(lambda kv: {kv[0]: "v" + kv[1]}),
        ]
    elif kind == "free_map":
        deep: Any = "bottom"
        for _ in range(10):
            deep = [deep]
        options += [
            _NON_OBJECTS,
            st.just({"cart": deep}),  # nested deeper than 8 levels
            _UNSTORABLE_SUFFIX.map(lambda bad: {"cart": "v" + bad}),
            _UNSTORABLE_SUFFIX.map(lambda bad: {"k" + bad: 1}),
            st.just({"cart": "x" * (STRING_LIMIT + 1)}),
            st.just({"k" * 201: 1}),
        ]
    else:  # pragma: no cover - a new kind needs its invalid values
        raise AssertionError(kind)
    return st.one_of(options)


# --- malformed beacons ----------------------------------------------------------------


@dataclass
class Malformed:
    kind: str
    document: Any  # the parsed JSON sent, or _NOT_JSON
    body: bytes | None = None  # None: the document, encoded as JSON
    content_type: str = "application/json"


def _encode(document: Any, *, ascii_only: bool = True) -> bytes:
    # Without ensure_ascii a lone surrogate goes out as raw (CESU-8) bytes: not UTF-8,
    # so not JSON (RFC 8259), refused as a whole body (the error path is "").
    return json.dumps(document, ensure_ascii=ascii_only).encode("utf-8", "surrogatepass")


@st.composite
def _mutations(draw: st.DrawFn) -> Malformed:
    """A valid beacon with one location corrupted."""
    beacon = draw(VALID_BEACONS)
    locations = [(path, spec) for path, spec in _locations(beacon, BATCH_SPEC) if path]
    # A uniform pick (Hypothesis' own choices lean towards the first entries, the batch's).
    path, spec = draw(st.randoms(use_true_random=True)).choice(locations)
    current = _get(beacon, path)
    parent = _get(beacon, path[:-1])
    if spec.required and isinstance(parent, dict) and draw(st.booleans()):
        return Malformed(f"missing {spec.kind}", _delete(beacon, path))
    bad = draw(_invalid_values(spec, current))
    return Malformed(f"invalid {spec.kind}", _replace(beacon, path, bad))


def _objects(beacon: Any) -> list[tuple[Path, Spec]]:
    return [
        (path, spec)
        for path, spec in _locations(beacon, BATCH_SPEC)
        if spec.kind == "object" and isinstance(_get(beacon, path), dict)
    ]


@st.composite
def _unknown_keys(draw: st.DrawFn) -> Malformed:
    beacon = draw(VALID_BEACONS)
    path, spec = draw(st.randoms(use_true_random=True)).choice(_objects(beacon))
    key = draw(
        st.one_of(_text(30), st.sampled_from(["input_value", "user_email", "Password", "~/0"]))
    )
    # An action's input_value and password keys are dropped unread, by contract.
    dropped = spec is ACTION_SPEC and (
        "password" in key.casefold() or key.casefold() == "input_value"
    )
    if dropped:
        key = "no_such_field"
    elif key in spec.children:
        key += "_unknown"
    changed = copy.deepcopy(beacon)
    _get(changed, path)[key] = draw(_ANY_JSON)
    return Malformed("unknown key", changed)


STRUCTURAL_FAULTS = [
    "duplicate session_id",
    "duplicate seq",
    "ended before started",
    "empty batch",
    "too many sessions",
    "too many actions",
    "negative duration",
    "revenue overflow",
]


@st.composite
def _structural(draw: st.DrawFn) -> Malformed:
    """Rules that span locations: duplicates, order of times, batch limits."""
    beacon = draw(VALID_BEACONS)
    sessions = beacon["sessions"]
    session = draw(st.sampled_from(sessions))
    choice = draw(st.sampled_from(STRUCTURAL_FAULTS))
    if choice == "duplicate session_id":
        sessions.append(copy.deepcopy(session))
    elif choice == "duplicate seq":
        action = {"seq": 7, "type": "click", "timestamp": session["started_at"]}
        session.setdefault("actions", [])
        session["actions"] = [*(session["actions"] or []), action, {**action, "type": "xhr"}]
    elif choice == "ended before started":
        started = datetime.fromisoformat(session["started_at"])
        session["ended_at"] = _iso(started - timedelta(seconds=draw(st.integers(1, 10**6))))
    elif choice == "empty batch":
        beacon["sessions"] = []
    elif choice == "too many sessions":
        beacon["sessions"] = [{}] * 501
    elif choice == "too many actions":
        session["actions"] = [{}] * 1001
    elif choice == "revenue overflow":  # each purchase valid, their total beyond the column
        product = {"event": "purchase", "price": "9999999999.99", "quantity": 1_000_000}
        action = {"seq": 2, "type": "click", "timestamp": session["started_at"]}
        session["actions"] = [{**action, "product": product}]
    else:
        action = {"seq": 1, "type": "xhr", "timestamp": session["started_at"]}
        action["duration_ms"] = draw(st.one_of(st.integers(max_value=-1), st.floats(-1e12, -0.001)))
        session["actions"] = [action]
    return Malformed(choice, beacon)


_NOT_BATCHES = st.one_of(
    st.lists(_ANY_JSON, max_size=3),
    _text(50),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.none(),
    st.dictionaries(_text(10), _ANY_JSON, max_size=3),
    st.fixed_dictionaries({"sessions": st.one_of(st.none(), _NON_ARRAYS)}),
    st.fixed_dictionaries(
        {"sessions": st.lists(st.one_of(st.none(), _NON_OBJECTS), min_size=1, max_size=3)}
    ),
)


def _raw(kind: str, body: bytes, content_type: str = "application/json") -> Malformed:
    return Malformed(kind, _NOT_JSON, body, content_type)


_RAW_BODIES = st.sampled_from(
    [
        _raw("NaN literal", b'{"sessions": [{"session_id": "s", "duration_ms": NaN}]}'),
        _raw("Infinity literal", b'{"sessions": Infinity}'),
        _raw("truncated JSON", b'{"sessions": [{"session_id": "s-1", "started_at": "2026-'),
        _raw("invalid UTF-8", b'{"sessions": [{"session_id": "\xff\xfe"}]}'),
        _raw("empty body", b""),
        _raw("trailing garbage", b'{"sessions": []} []'),
        _raw("deep nesting", b"[" * 100_000 + b"]" * 100_000),
        _raw("oversized body", b'{"sessions": ["' + b"x" * BODY_LIMIT + b'"]}'),
        _raw("form body", b"sessions=1", "application/x-www-form-urlencoded"),
        _raw("text body", b'{"sessions": []}', "text/plain"),
    ]
)

# Explicit weights: Hypothesis' own choice between strategies is far from even.
_SOURCES = [
    (_mutations(), 50),
    (_unknown_keys(), 12),
    (_structural(), 15),
    (_NOT_BATCHES.map(lambda document: Malformed("not a batch", document)), 10),
    (_RAW_BODIES, 13),
]
MALFORMED = st.randoms(use_true_random=True).flatmap(
    lambda rnd: rnd.choices([source for source, _ in _SOURCES], [w for _, w in _SOURCES])[0]
)


# --- checks -----------------------------------------------------------------------------


def _pointer_tokens(pointer: str) -> list[str]:
    """The reference tokens of an RFC 6901 pointer; AssertionError if it is not one."""
    assert isinstance(pointer, str), pointer
    if pointer == "":
        return []
    assert pointer.startswith("/"), f"{pointer!r} is not a JSON pointer"
    tokens = []
    for raw in pointer[1:].split("/"):
        stripped = raw.replace("~0", "").replace("~1", "")
        assert "~" not in stripped, f"bad escape in {pointer!r}"
        tokens.append(raw.replace("~1", "/").replace("~0", "~"))
    return tokens


def _resolves(document: Any, pointer: str) -> bool:
    """Whether the pointer names a location of ``document``, or a key its object lacks."""
    tokens = _pointer_tokens(pointer)
    node = document
    for position, token in enumerate(tokens):
        last = position == len(tokens) - 1
        if isinstance(node, dict):
            if token not in node:
                return last  # a missing key: the pointer names where it belongs
            node = node[token]
        elif isinstance(node, list):
            if not token.isdigit() or (token != "0" and token.startswith("0")):
                return False
            if int(token) >= len(node):
                return False
            node = node[int(token)]
        else:
            return False
    return True


def _sensitive_values(document: Any) -> Iterator[str]:
    """Submitted user tags and client IPs long enough to be recognised in a response."""
    if isinstance(document, dict):
        for key, value in document.items():
            if key in ("user_tag", "client_ip") and isinstance(value, str):
                if len(value.strip()) >= 6:
                    yield value
            else:
                yield from _sensitive_values(value)
    elif isinstance(document, list):
        for item in document:
            yield from _sensitive_values(item)


# Text a message may contain whatever was sent: the messages are written in these
# modules. A submitted value found in it proves nothing (Hypothesis draws strings
# from the project's own constants, so a tag like "DURATI" does come up).
_VOCABULARY = "\n".join(
    inspect.getsource(module) for module in (validation, ingest_views, services)
).casefold()


def _assert_no_echo(document: Any, errors: list[dict[str, str]]) -> None:
    """No message repeats a submitted tag or IP.

    Paths need no such check: each one resolves in the document, so every token
    in it is an array index or one of the document's own keys.
    """
    messages = [error["message"].casefold() for error in errors]
    for value in _sensitive_values(document):
        for form in {value.casefold(), value.strip().casefold()}:
            if len(form) < 6 or form in _VOCABULARY:
                continue
            for message in messages:
                assert form not in message, "a submitted user tag or IP is in a message"


def _database_state() -> tuple[int, int, str]:
    digest = hashlib.sha256()
    for model in (UserSession, UserAction):
        rows = list(model.objects.order_by("pk").values())
        digest.update(json.dumps(rows, default=str, sort_keys=True).encode())
    return UserSession.objects.count(), UserAction.objects.count(), digest.hexdigest()


def _assert_stored_sessions_are_consistent() -> None:
    """Invariants of every stored session, however many beacons built it."""
    stored = dict(
        UserAction.objects.values("session").annotate(n=Count("id")).values_list("session", "n")
    )
    columns = ("pk", "session_id", "started_at", "ended_at", "duration_ms", "action_count")
    for row in UserSession.objects.values(*columns, "error_count", "revenue"):
        where = f"session {row['session_id']!r}"
        assert row["ended_at"] is None or row["ended_at"] >= row["started_at"], (where, row)
        assert row["duration_ms"] is None or row["duration_ms"] >= 0, (where, row)
        assert row["action_count"] == stored.get(row["pk"], 0), (where, row)
        assert 0 <= row["error_count"] <= row["action_count"], (where, row)
        assert row["revenue"] >= 0, (where, row)


def _post(client: Client, token: str, body: bytes, content_type: str) -> Any:
    return client.post(
        INGEST_URL, data=body, content_type=content_type, HTTP_AUTHORIZATION=f"Bearer {token}"
    )


# --- fixtures ---------------------------------------------------------------------------


@dataclass
class Ingest:
    client: Client
    token: str


def _application(slug: str, **privacy_settings: Any) -> Ingest:
    _, token = application_create(slug=slug, name=slug, **privacy_settings)
    return Ingest(Client(), token)


SEED_BEACON = {
    "sessions": [
        {
            "session_id": session_id,
            "started_at": "2026-11-28T10:00:00Z",
            "user_tag": f"seed.{number}@example.com",
            "client_ip": "203.0.113.42",
            "properties": {"loyalty_tier": "gold"},
            "actions": [
                {"seq": 0, "type": "page_view", "timestamp": "2026-11-28T10:00:01Z"},
                {
                    "seq": 1,
                    "type": "click",
                    "timestamp": "2026-11-28T10:00:02Z",
                    "product": {"event": "purchase", "price": "9.90", "quantity": 2},
                },
            ],
        }
        for number, session_id in enumerate(SEEDED_IDS)
    ]
}


@pytest.fixture
def seeded(db: None, settings: SettingsWrapper) -> Ingest:
    settings.RUMVAULT_INGEST_MAX_BODY_BYTES = BODY_LIMIT
    ingest = _application("fuzz-ingest", allowed_properties=ALLOWED_PROPERTIES)
    response = _post(
        ingest.client, ingest.token, json.dumps(SEED_BEACON).encode(), "application/json"
    )
    assert response.status_code == 200, response.content
    return ingest


# --- properties -------------------------------------------------------------------------


@given(malformed=MALFORMED, ascii_only=st.booleans())
@settings(max_examples=100)
def test_a_malformed_beacon_is_refused_with_pointers_and_changes_nothing(
    seeded: Ingest, malformed: Malformed, ascii_only: bool
) -> None:
    event(malformed.kind)
    body = malformed.body
    document = malformed.document
    if body is None:
        body = _encode(document, ascii_only=ascii_only)
        try:
            body.decode("utf-8")
        except UnicodeDecodeError:
            document = _NOT_JSON
    note(f"kind={malformed.kind} body={body[:2000]!r}")
    before = _database_state()

    response = _post(seeded.client, seeded.token, body, malformed.content_type)

    assert response.status_code in (400, 413), (response.status_code, response.content[:500])
    assert response["Content-Type"].startswith("application/json")
    payload = response.json()
    assert set(payload) == {"errors"}
    errors = payload["errors"]
    assert isinstance(errors, list)
    assert errors
    for error in errors:
        assert set(error) == {"path", "message"}, error
        assert isinstance(error["message"], str)
        assert error["message"]
        _pointer_tokens(error["path"])
        if document is _NOT_JSON:
            assert error["path"] == "", error
        else:
            assert _resolves(document, error["path"]), error
    assert _database_state() == before
    if document is not _NOT_JSON:
        _assert_no_echo(document, errors)


CONFIGURATIONS: dict[str, dict[str, Any]] = {
    "defaults": {"allowed_properties": ALLOWED_PROPERTIES},
    "strict": {
        "allowed_properties": ALLOWED_PROPERTIES,
        "ip_masking": "public",
        "user_tag_storage": "encrypted",
        "do_not_track": "disable",
        "mask_personal_data_in_uris": False,
    },
    "pseudonyms": {
        "user_tag_storage": "pseudonym_only",
        "do_not_track": "ignore",
        "ip_masking": "off",
    },
}


@pytest.fixture(params=sorted(CONFIGURATIONS))
def configured(request: pytest.FixtureRequest, db: None) -> Ingest:
    return _application(f"fuzz-{request.param}", **CONFIGURATIONS[request.param])


@given(beacon=VALID_BEACONS)
@settings(max_examples=40)
def test_a_valid_beacon_is_stored(configured: Ingest, beacon: dict[str, Any]) -> None:
    response = _post(configured.client, configured.token, _encode(beacon), "application/json")

    assert response.status_code == 200, response.content[:2000]
    results = response.json()["sessions"]
    assert [result["session_id"] for result in results] == [
        session["session_id"] for session in beacon["sessions"]
    ]
    for result, session in zip(results, beacon["sessions"], strict=True):
        # Nothing but these three keys, so no submitted tag or IP can come back.
        assert set(result) == {"session_id", "status", "actions_added"}
        assert result["status"] in ("created", "updated", "discarded")
        assert 0 <= result["actions_added"] <= len(session.get("actions") or [])
    _assert_stored_sessions_are_consistent()


def test_resending_a_session_with_an_earlier_start_keeps_it_consistent(db: None) -> None:
    """Found by ``test_a_valid_beacon_is_stored``: a stored session ends before it starts.

    A re-sent beacon may carry another ``started_at`` (clients restart, clocks
    jump). ``started_at`` is not among the columns an update changes, but the
    re-sent ``ended_at`` is taken as is, so the session ends before it started
    and ``duration_ms`` is negative.
    """
    ingest = _application("fuzz-resend")
    first = {"session_id": "s-1", "started_at": "2026-11-28T10:00:00Z"}
    again = {**first, "started_at": "2026-11-27T10:00:00Z", "ended_at": "2026-11-27T10:05:00Z"}
    for session in (first, again):
        body = json.dumps({"sessions": [session]}).encode()
        assert _post(ingest.client, ingest.token, body, "application/json").status_code == 200
    _assert_stored_sessions_are_consistent()


def test_the_mutations_know_every_field_of_the_contract() -> None:
    """The spec the mutations corrupt has exactly the validator's fields, at every level."""
    geo = SESSION_SPEC.children["geo"]
    error = ACTION_SPEC.children["error"]
    assert set(BATCH_SPEC.children) == validation.BATCH_KEYS
    assert set(SESSION_SPEC.children) == validation.SESSION_KEYS
    assert set(geo.children) == validation.GEO_KEYS
    assert set(ACTION_SPEC.children) == validation.ACTION_KEYS
    assert set(error.children) == validation.ERROR_KEYS
    assert set(PRODUCT_SPEC.children) == validation.PRODUCT_KEYS
    assert list(validation.ACTION_TYPES) == ACTION_TYPES
    assert list(validation.PRODUCT_EVENTS) == PRODUCT_EVENTS
