"""The field registry: every record type rumvault serves, and every field of it, declared once.

Everything that names a field asks here: the fieldset policy (what a fieldset
may contain, output order, what a hidden field drags along), the API's JSON
and CSV shapes and its OpenAPI components, the admin's columns and inlines,
the dashboard's summary and timeline, and ingest's column lengths (read from
the models, which own the storage).

Names and paths
    A field's ``name`` is its JSON path inside its record (``client_ip``,
    ``product.price``). Its *registry path* puts the record's prefix in front:
    session fields have none (``client_ip``), action fields ``actions.``
    (``actions.product.price``). A field with ``open_keys`` also has a path per
    key of its JSON object (``properties.loyalty_tier``,
    ``actions.request_attributes.order_id``). The path of a record type that
    is a collection of its parent (``actions``) stands for the records
    themselves. Fieldsets list registry paths; ``masked_fields`` lists names.

Derivations
    ``derived_from`` names the paths a field's value can be recomputed from
    (``action_count`` from the actions themselves, ``revenue`` from the
    purchases' prices). Hiding a field while showing its sources hides
    nothing, so a fieldset must contain the sources of what it contains
    (``missing_sources``), and the policy hides them too (``closure``).

Partial forms
    ``partial`` names the pure function (``privacy.partial``) that makes a
    field's partial form: what a principal with a *partial* grant of a
    fieldset containing the field sees instead of ``null`` (the user tag as
    ``j•••@example.com``). A field without one stays masked under a partial
    grant. Partial values are never usable for filtering, ordering or
    searching: a lookup on them is refused like one on a hidden field.

Summary
    ``SUMMARY`` declares the digest each session in a list carries
    (``summary``): the first failed action and the product events, made from
    the session's actions and kept on its row by every writer of actions
    (``sessions_app.summaries``); masked at read time. Each part is an action field and
    is masked like it; a digest as a whole is shown only where the paths it
    is selected by (``shown_with``) are visible, since *which* action failed
    tells what ``error_count`` tells.

Always visible, by design: ``id`` and ``application`` identify the row
(record access decides whether the caller sees it at all); ``started_at`` is
the pagination key and the since/until filter; ``user_id`` is the
per-application pseudonym that groups one customer's sessions without saying
who it is; an action's ``seq`` orders the timeline; a log record's ``time``
is its pagination key and ``session`` the link to the session it explains.

Data subjects
    Anonymising a person's records (``data_subjects``) keeps the fields
    declared ``kept_when_anonymised`` (keys, timings, counts, products,
    conversion) and clears every other one: a field is personal until declared
    otherwise, so a new field is removed, never silently kept. A child record
    type names the column linking it to its session (``parent_column``): a
    person's records are found through their sessions, and exported, cleared
    or erased with them.

Adding a record type is one ``RecordType`` declaration appended to
``RECORD_TYPES`` (log records were the second: ``logs.``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models

from logs.models import LogRecord
from privacy.partial import partial_coordinate, partial_ip, partial_user_tag
from sessions_app.models import ActionType, ProductEvent, UserAction, UserSession


class Kind(StrEnum):
    """How a value is typed, rendered and documented."""

    TEXT = "text"
    INTEGER = "integer"
    FLOAT = "float"
    DECIMAL = "decimal"
    BOOLEAN = "boolean"
    DATETIME = "datetime"
    IP = "ip"
    CHOICE = "choice"
    OBJECT = "object"  # a JSON object (properties, headers, request attributes)


@dataclass(frozen=True, kw_only=True)
class Field:
    name: str  # JSON path inside the record, e.g. "client_ip", "product.price"
    label: str  # for people: admin columns, dashboard, CSV readers
    kind: Kind
    help: str = ""  # the OpenAPI description
    # The model column; None for a value computed from other columns (the
    # application's slug). ``extra_columns`` are read too (the ciphertext of
    # an encrypted user tag).
    column: str | None = ""
    extra_columns: tuple[str, ...] = ()
    hideable: bool = True  # may go into a fieldset
    open_keys: bool = False  # each key of the JSON object is a path of its own
    derived_from: tuple[str, ...] = ()  # registry paths the value can be recomputed from
    in_list: bool = False  # a column of list views (admin changelist, dashboard rows)
    nullable: bool = False  # null also when visible (no data)
    choices: type[models.TextChoices] | None = None
    # Where the value is in an ingest beacon's record ("geo.city", "error.message"),
    # for the client strings masking rules may rewrite; None for anything else
    # (ids, times, numbers, validated codes, the user tag, which has its own storage).
    beacon: str | None = None
    # The column is an annotation the read layer's selectors add, not stored (a log
    # record's session, resolved on read).
    annotated: bool = False
    # The partial form under a partial grant (a pure function of ``privacy.partial``);
    # None: the field stays masked under a partial grant.
    partial: Callable[[Any], Any] | None = None
    # How a compact note names the field ("masked: user tag, IP, location");
    # fields with the same short label are named once.
    short_label: str = ""

    @property
    def short(self) -> str:
        return self.short_label or self.label.lower()

    # Kept when a data subject's records are anonymised; every other field is cleared.
    kept_when_anonymised: bool = False

    @cached_property
    def storage(self) -> str | None:
        # Cached: read once per field of every row on every read path.
        return self.name.replace(".", "_") if self.column == "" else self.column

    @property
    def json_path(self) -> tuple[str, ...]:
        return tuple(self.name.split("."))


@dataclass(frozen=True, eq=False)
class RecordType:
    name: str  # "session", "action"
    prefix: str  # prefix of its registry paths ("" or "actions.")
    model: type[models.Model]
    fields: tuple[Field, ...]
    # Columns read besides the fields' own (keys and the link to the parent).
    key_columns: tuple[str, ...] = ("id",)
    # The path that stands for the records themselves, for a child collection.
    collection_path: str | None = None
    # Where its records are in an ingest beacon ("" for the session itself, "actions").
    beacon_path: str = ""
    # A child record type's column holding its session's id (None: sessions themselves).
    parent_column: str | None = None
    _by_name: dict[str, Field] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_name", {f.name: f for f in self.fields})

    def __iter__(self) -> Iterator[Field]:
        return iter(self.fields)

    def field(self, name: str) -> Field:
        return self._by_name[name]

    def has(self, name: str) -> bool:
        return name in self._by_name

    def path(self, name: str) -> str:
        return self.prefix + name

    @cached_property
    def columns(self) -> tuple[str, ...]:
        """Every column the read layer fetches for this record type, each once."""
        names: list[str] = list(self.key_columns)
        for f in self.fields:
            for column in (f.storage, *f.extra_columns):
                if column is not None and column not in names:
                    names.append(column)
        return tuple(names)

    @cached_property
    def hideable(self) -> tuple[Field, ...]:
        return tuple(f for f in self.fields if f.hideable)

    @cached_property
    def client_strings(self) -> tuple[Field, ...]:
        """The client strings masking rules may rewrite (text fields and JSON objects)."""
        return tuple(f for f in self.fields if f.beacon is not None)

    @cached_property
    def selector_names(self) -> frozenset[str]:
        """What a rule selector may start with to name this record type."""
        return frozenset(n for n in (self.name, self.prefix.rstrip(".")) if n)

    @cached_property
    def has_partial_forms(self) -> bool:
        return any(f.partial is not None for f in self.fields)

    @cached_property
    def _stored(self) -> tuple[tuple[str, str], ...]:
        return tuple((f.name, f.storage) for f in self.fields if f.storage is not None)

    def values_of(self, row: Mapping[str, Any]) -> dict[str, Any]:
        """A row of ``columns`` as values by field name (fields without a column left out)."""
        return {name: row[column] for name, column in self._stored}

    def max_length(self, name: str) -> int:
        """The column's length (ingest truncates and validates to it)."""
        column = self.field(name).storage
        length = getattr(self.model._meta.get_field(column or name), "max_length", None)
        if not isinstance(length, int):
            raise LookupError(f"{self.name}.{name} has no column length")
        return length


_MASKED = "Null when masked (then named in masked_fields) or when there is no data."

SESSION = RecordType(
    name="session",
    prefix="",
    model=UserSession,
    key_columns=("id", "application_id"),
    fields=(
        Field(name="id", label="Id", kind=Kind.INTEGER, hideable=False,
              kept_when_anonymised=True, help="Use with /api/v1/sessions/{id}/."),
        Field(name="application", label="Application", kind=Kind.TEXT, column=None,
              hideable=False, in_list=True, kept_when_anonymised=True,
              help="Slug of the application."),
        # Kept when anonymised: the ingest idempotency key (a client id that held
        # personal data is stored as a keyed digest at ingest).
        Field(name="session_id", label="Session id", kind=Kind.TEXT, kept_when_anonymised=True,
              help="The client's session id (a keyed digest if it held personal data)."),
        Field(name="started_at", label="Started", kind=Kind.DATETIME, hideable=False,
              in_list=True, kept_when_anonymised=True, help="Start of the visit (UTC)."),
        Field(name="ended_at", label="Ended", kind=Kind.DATETIME, nullable=True,
              derived_from=("duration_ms",), kept_when_anonymised=True,
              help="End of the visit (UTC)."),
        Field(name="duration_ms", label="Duration", kind=Kind.INTEGER, nullable=True,
              in_list=True, derived_from=("ended_at", "actions.timestamp", "actions.duration_ms"),
              kept_when_anonymised=True, help="Duration in milliseconds."),
        Field(name="user_id", label="User id", kind=Kind.TEXT, hideable=False, nullable=True,
              in_list=True,
              help="Keyed pseudonym of the user tag (e.g. u1_3f9a...), the same for one person "
              "within one application and different between applications; visible to every "
              "reader; null for anonymous sessions."),
        Field(name="user_tag", label="User tag", kind=Kind.TEXT, nullable=True, in_list=True,
              extra_columns=("user_tag_encrypted",), partial=partial_user_tag,
              help="The user tag (normalised), revealed only with the fieldset that contains "
              "it; also null for applications storing a pseudonym only. Partial form: "
              "j\u2022\u2022\u2022@example.com."),
        Field(name="client_ip", label="Client IP", kind=Kind.IP, nullable=True, in_list=True,
              partial=partial_ip, short_label="IP",
              help="Client IP, masked at ingest per the application's settings. Partial form: "
              "the first two octets (81.2.\u2022.\u2022) or IPv6 groups."),
        Field(name="geo_latitude", label="Latitude", kind=Kind.FLOAT, nullable=True,
              partial=partial_coordinate, short_label="location",
              help="Latitude. Partial form: whole degrees."),
        Field(name="geo_longitude", label="Longitude", kind=Kind.FLOAT, nullable=True,
              partial=partial_coordinate, short_label="location",
              help="Longitude. Partial form: whole degrees."),
        Field(name="country", label="Country", kind=Kind.TEXT, in_list=True,
              kept_when_anonymised=True, help="ISO 3166 country code."),
        Field(name="city", label="City", beacon="geo.city", kind=Kind.TEXT, help="City."),
        Field(name="browser", label="Browser", beacon="browser", kind=Kind.TEXT,
              kept_when_anonymised=True, help="Browser."),
        Field(name="os", label="OS", beacon="os", kind=Kind.TEXT, kept_when_anonymised=True,
              help="Operating system."),
        Field(name="device", label="Device", beacon="device", kind=Kind.TEXT,
              kept_when_anonymised=True, help="Device class."),
        Field(name="properties", label="Properties", beacon="properties", kind=Kind.OBJECT,
              open_keys=True,
              help="Allowed session properties; a masked properties.<key> keeps its key "
              "with null."),
        Field(name="action_count", label="Actions", kind=Kind.INTEGER, in_list=True,
              derived_from=("actions",), kept_when_anonymised=True, help="Number of actions."),
        Field(name="error_count", label="Errors", kind=Kind.INTEGER, in_list=True,
              derived_from=("actions.type", "actions.http_status", "actions.error_message"),
              kept_when_anonymised=True,
              help="Actions that failed (error, error message, or HTTP status 400 and up)."),
        Field(name="converted", label="Converted", kind=Kind.BOOLEAN, in_list=True,
              derived_from=("actions.product.event",), kept_when_anonymised=True,
              help="Whether something was bought."),
        Field(name="revenue", label="Revenue", kind=Kind.DECIMAL, in_list=True,
              derived_from=("actions.product.event", "actions.product.price",
                            "actions.product.quantity"),
              kept_when_anonymised=True, help="Sum of the purchases (decimal string)."),
    ),
)  # fmt: skip

ACTION = RecordType(
    name="action",
    prefix="actions.",
    model=UserAction,
    key_columns=("id", "session_id"),
    collection_path="actions",
    beacon_path="actions",
    parent_column="session_id",
    fields=(
        Field(name="seq", label="#", kind=Kind.INTEGER, hideable=False, in_list=True,
              kept_when_anonymised=True, help="Position in the session."),
        Field(name="type", label="Type", kind=Kind.CHOICE, choices=ActionType, in_list=True,
              kept_when_anonymised=True),
        Field(name="name", label="Name", beacon="name", kind=Kind.TEXT, in_list=True,
              help="Masked at ingest."),
        Field(name="url", label="URL", beacon="url", kind=Kind.TEXT, in_list=True,
              help="Masked at ingest."),
        Field(name="timestamp", label="Time", kind=Kind.DATETIME, in_list=True,
              kept_when_anonymised=True),
        Field(name="duration_ms", label="Duration", kind=Kind.INTEGER, nullable=True,
              in_list=True, kept_when_anonymised=True),
        Field(name="http_status", label="HTTP status", kind=Kind.INTEGER, nullable=True,
              in_list=True, kept_when_anonymised=True),
        Field(name="error_message", label="Error", beacon="error.message", kind=Kind.TEXT,
              in_list=True, help="Masked at ingest."),
        Field(name="error_stack", label="Stack trace", beacon="error.stack", kind=Kind.TEXT,
              help="Masked at ingest; in the built-in request-details fieldset."),
        Field(name="headers", label="Headers", beacon="headers", kind=Kind.OBJECT,
              help="Request headers; credentials dropped and values masked at ingest."),
        Field(name="request_attributes", label="Request attributes",
              beacon="request_attributes", kind=Kind.OBJECT, open_keys=True,
              help="Masked at ingest; a masked key keeps its key with null."),
        Field(name="product.sku", label="Product SKU", beacon="product.sku", kind=Kind.TEXT,
              kept_when_anonymised=True),
        Field(name="product.name", label="Product", beacon="product.name", kind=Kind.TEXT,
              kept_when_anonymised=True),
        Field(name="product.price", label="Price", kind=Kind.DECIMAL, nullable=True,
              kept_when_anonymised=True),
        Field(name="product.currency", label="Currency", kind=Kind.TEXT,
              kept_when_anonymised=True),
        Field(name="product.quantity", label="Quantity", kind=Kind.INTEGER, nullable=True,
              kept_when_anonymised=True),
        Field(name="product.event", label="Product event", kind=Kind.CHOICE,
              choices=ProductEvent, kept_when_anonymised=True),
        Field(name="trace_id", label="Trace id", kind=Kind.TEXT, nullable=True,
              help="W3C trace id of the request; backend log records with it belong to the "
              "session."),
    ),
)  # fmt: skip

LOG = RecordType(
    name="log",
    prefix="logs.",
    model=LogRecord,
    key_columns=("id", "application_id"),
    collection_path="logs",
    # An annotation (``logs.selectors.with_session``): log records link to their
    # session by what they carry, resolved on read, not by a foreign key.
    parent_column="session_pk",
    fields=(
        Field(name="id", label="Id", kind=Kind.INTEGER, hideable=False,
              kept_when_anonymised=True),
        Field(name="application", label="Application", kind=Kind.TEXT, column=None,
              hideable=False, in_list=True, kept_when_anonymised=True,
              help="Slug of the application."),
        # Resolved on read (logs.selectors): the session_id attribute, or a trace id
        # that one of the session's actions carries.
        Field(name="session", label="Session", kind=Kind.INTEGER, column="session_pk",
              annotated=True, hideable=False, nullable=True, kept_when_anonymised=True,
              help="Id of the session the record belongs to (/api/v1/sessions/{id}/), "
              "or null."),
        Field(name="time", label="Time", kind=Kind.DATETIME, hideable=False, in_list=True,
              kept_when_anonymised=True,
              help="When the event happened (UTC)."),
        Field(name="observed_time", label="Observed", kind=Kind.DATETIME, nullable=True,
              kept_when_anonymised=True,
              help="When the collector saw it (UTC)."),
        Field(name="severity_number", label="Severity", kind=Kind.INTEGER, in_list=True,
              kept_when_anonymised=True,
              derived_from=("logs.severity_text",),
              help="OpenTelemetry severity number: 1-4 trace, 5-8 debug, 9-12 info, "
              "13-16 warn, 17-20 error, 21-24 fatal, 0 unspecified."),
        Field(name="severity_text", label="Level", kind=Kind.TEXT, beacon="severity_text",
              kept_when_anonymised=True,
              derived_from=("logs.severity_number",),
              help="The level as the logger named it (e.g. ERROR)."),
        Field(name="service", label="Service", kind=Kind.TEXT, column="service_name",
              beacon="service", in_list=True, kept_when_anonymised=True,
              help="Resource attribute service.name."),
        Field(name="host", label="Host", kind=Kind.TEXT, column="host_name", beacon="host",
              kept_when_anonymised=True,
              help="Resource attribute host.name."),
        Field(name="host_group", label="Host group", kind=Kind.TEXT, beacon="host_group",
              kept_when_anonymised=True,
              help="Resource attribute rumvault.host_group."),
        Field(name="body", label="Message", kind=Kind.TEXT, in_list=True, beacon="body",
              help="Masked at ingest."),
        Field(name="attributes", label="Attributes", kind=Kind.OBJECT, open_keys=True,
              beacon="attributes",
              help="Masked at ingest (credentials dropped); a masked key keeps its key "
              "with null."),
        Field(name="resource", label="Resource", kind=Kind.OBJECT, open_keys=True,
              beacon="resource", help="Other resource attributes, masked at ingest."),
        Field(name="trace_id", label="Trace id", kind=Kind.TEXT, nullable=True),
        Field(name="span_id", label="Span id", kind=Kind.TEXT, nullable=True),
    ),
)  # fmt: skip

RECORD_TYPES: tuple[RecordType, ...] = (SESSION, ACTION, LOG)


@dataclass(frozen=True)
class Digest:
    """One part of a session's ``summary``, made from its actions (``sessions_app.summaries``).

    ``parts`` maps the digest's keys to the action fields they carry (each is
    masked like that action field); ``shown_with`` lists the registry paths
    that must be fully visible for the digest to be shown at all (otherwise it
    is ``null`` and ``summary.<name>`` is in ``masked_fields``).
    """

    name: str
    label: str
    shown_with: tuple[str, ...]
    parts: tuple[tuple[str, str], ...]  # (key in the digest, action field name)
    help: str = ""

    def path(self, key: str | None = None) -> str:
        """The name ``masked_fields`` uses (``summary.first_failure.message``)."""
        return f"{SUMMARY_KEY}.{self.name}" + ("" if key is None else f".{key}")


SUMMARY_KEY = "summary"
FIRST_FAILURE = Digest(
    name="first_failure",
    label="First failure",
    # Which action failed first tells what error_count tells; the actions themselves too.
    shown_with=("error_count", "actions"),
    parts=(
        ("seq", "seq"),
        ("type", "type"),
        ("name", "name"),
        ("http_status", "http_status"),
        ("message", "error_message"),
    ),
    help="The session's first failed action (an error, an error message, or HTTP status "
    "400 and up), its message masked at ingest; null when nothing failed, or when masked "
    "(then masked_fields names summary.first_failure).",
)
PRODUCTS = Digest(
    name="products",
    label="Products",
    shown_with=("actions.product.event",),
    parts=(("event", "product.event"), ("sku", "product.sku"), ("name", "product.name")),
    help="Product events of the session (viewed, added to cart, bought), one entry per "
    "event and product in order of first occurrence, with how many actions carried it; "
    "null when masked (then masked_fields names summary.products).",
)
SUMMARY: tuple[Digest, ...] = (FIRST_FAILURE, PRODUCTS)

# Fieldset paths that name a record type's whole collection ("actions").
_COLLECTIONS = {r.collection_path: r for r in RECORD_TYPES if r.collection_path}
# Keys of open objects: printable, no whitespace, bounded so names stay readable.
_OPEN_KEY = re.compile(r"^[^\s]{1,100}$")


@dataclass(frozen=True)
class Path:
    """A registry path, resolved: the record type, its field (None: the collection), a key."""

    record: RecordType
    field: Field | None
    key: str | None = None

    @property
    def text(self) -> str:
        if self.field is None:
            return self.record.collection_path or self.record.name
        name = self.field.name if self.key is None else f"{self.field.name}.{self.key}"
        return self.record.path(name)

    @property
    def name(self) -> str:
        """The path inside its record (``masked_fields`` uses this)."""
        return self.text.removeprefix(self.record.prefix)

    def covered_by(self, paths: Iterable[str]) -> bool:
        """Whether a set of paths hides this one (itself, its field, or its collection)."""
        names = set(paths)
        if self.text in names or self.record.collection_path in names:
            return True
        return (
            self.key is not None
            and self.field is not None
            and (self.record.path(self.field.name) in names)
        )


def _record_for(path: str) -> tuple[RecordType, str]:
    for record in RECORD_TYPES:
        if record.prefix and path.startswith(record.prefix):
            return record, path[len(record.prefix) :]
    return SESSION, path


def resolve(path: str) -> Path | None:
    """The registry path ``path`` names, or None if it names nothing hideable."""
    if path in _COLLECTIONS:
        return Path(_COLLECTIONS[path], None)
    record, name = _record_for(path)
    if record.has(name):
        f = record.field(name)
        return Path(record, f) if f.hideable else None
    for f in record.fields:
        if f.open_keys and name.startswith(f.name + "."):
            key = name[len(f.name) + 1 :]
            return Path(record, f, key) if _OPEN_KEY.match(key) else None
    return None


def is_fieldset_path(path: str) -> bool:
    return resolve(path) is not None


def fieldset_paths() -> list[str]:
    """Every path a fieldset may name (open objects also take ``<path>.<key>``)."""
    paths = [r.collection_path for r in RECORD_TYPES if r.collection_path]
    for record in RECORD_TYPES:
        paths += [record.path(f.name) for f in record.hideable]
    return paths


def _sources(path: Path) -> tuple[str, ...]:
    return () if path.field is None else path.field.derived_from


def missing_sources(paths: Iterable[str]) -> dict[str, list[str]]:
    """For each path whose sources the set does not hide: the sources to add."""
    chosen = list(paths)
    missing: dict[str, list[str]] = {}
    for text in chosen:
        path = resolve(text)
        if path is None:
            continue
        absent = [s for s in _sources(path) if not _resolved(s).covered_by(chosen)]
        if absent:
            missing[text] = absent
    return missing


def closure(paths: Iterable[str]) -> frozenset[str]:
    """``paths`` and, transitively, every source of what they contain."""
    result = set(paths)
    pending = list(result)
    while pending:
        path = resolve(pending.pop())
        for source in () if path is None else _sources(path):
            if source not in result:
                result.add(source)
                pending.append(source)
    return frozenset(result)


def _resolved(text: str) -> Path:
    path = resolve(text)
    if path is None:
        raise LookupError(f"the registry declares an unknown source {text!r}")
    return path


def validate_fieldset_fields(value: object) -> None:
    """A fieldset's ``fields``: distinct registry paths, closed under derivation."""
    if not isinstance(value, list) or not value:
        raise ValidationError("Enter a non-empty list of field names.")
    invalid = [item for item in value if not isinstance(item, str) or not is_fieldset_path(item)]
    if invalid:
        raise ValidationError(
            "Unknown field(s): %(fields)s. Allowed: %(allowed)s, or %(open)s.",
            params={
                "fields": ", ".join(map(str, invalid)),
                "allowed": ", ".join(fieldset_paths()),
                "open": " / ".join(
                    f"{record.path(f.name)}.<key>"
                    for record in RECORD_TYPES
                    for f in record.hideable
                    if f.open_keys
                ),
            },
        )
    if len(set(value)) != len(value):
        raise ValidationError("Field names must be distinct.")
    missing = missing_sources(value)
    if missing:
        raise ValidationError(
            "A hidden field must not be computable from visible ones. %(detail)s",
            params={
                "detail": " ".join(
                    f"{name} is derived from {', '.join(sources)}: add them too."
                    for name, sources in missing.items()
                )
            },
        )


# Separators a caller may use between a field and its key or lookup.
_SEPARATOR = re.compile(r"__|\.")


def fields_referenced_by(parameter: str) -> list[str]:
    """The fieldset-relevant paths a query parameter, ordering or body key refers to.

    ``client_ip__startswith`` -> ``["client_ip"]``;
    ``properties__tier`` / ``properties.tier`` -> ``["properties.tier", "properties"]``;
    ``actions__request_attributes__order_id`` -> the key's path, then the field's;
    ``actions__url__contains`` -> ``["actions.url"]`` (the most specific first,
    so a refusal names it). A key's field counts too, because a Django lookup
    reads like a key (``properties__has_key``); a field's record or collection
    does not: a lookup on ``actions.url`` touches no other action field, so a
    caller who can see URLs gets "unknown parameter", not a 403 for some other
    hidden action field (a hidden collection still covers ``actions.url``).
    Used to refuse lookups on hidden fields before asking whether a parameter
    is known at all, so a hidden field is always a 403 naming it.
    """
    parts = _SEPARATOR.split(parameter)
    found: list[str] = []
    # The longest prefix of the parts that resolves, then shorter ones down to
    # the first that is a field or a collection rather than a key.
    for end in range(len(parts), 0, -1):
        path = resolve(".".join(parts[:end]))
        if path is None:
            continue
        if path.text not in found:
            found.append(path.text)
        if path.key is None:
            break
    return found or [parts[0]]


# --- masking-rule selectors -----------------------------------------------------------


@dataclass(frozen=True)
class RuleTarget:
    """A client string a masking rule rewrites: a field, and for a JSON object one key
    (``key``) or every key (``None``)."""

    record: RecordType
    field: Field
    key: str | None = None


class SelectorInvalid(ValueError):
    """The selector names nothing a rule can rewrite; the message says why."""


WILDCARD = "*"


def rule_targets(selector: str) -> tuple[RuleTarget, ...]:
    """The client strings a masking-rule selector names; ``SelectorInvalid`` if none.

    Grammar (a record type is named by its name or its path prefix: ``session``,
    ``action``/``actions``, and any record type added to ``RECORD_TYPES``):

    * ``*``: every client string of every record type;
    * ``<record>.*``: every client string of one record type (``actions.*``);
    * a registry path with or without its record (``city``, ``session.city``,
      ``actions.error_message``);
    * ``<group>.*`` for the fields of a group (``actions.product.*``);
    * ``<object>.*`` or ``<object>.<key>`` for the values of a JSON object's keys
      (``properties.*``, ``actions.request_attributes.street``, ``actions.headers.referer``).
    """
    if not isinstance(selector, str) or not selector:
        raise SelectorInvalid("give a selector, e.g. actions.error_message or actions.*")
    if selector == WILDCARD:
        return tuple(RuleTarget(r, f) for r in RECORD_TYPES for f in r.client_strings)
    head, dot, rest = selector.partition(".")
    record = next((r for r in RECORD_TYPES if head in r.selector_names), None)
    if record is None or not dot:
        record, rest = SESSION, selector
    if rest == WILDCARD:
        return tuple(RuleTarget(record, f) for f in record.client_strings)
    for f in record.fields:
        if rest == f.name:
            return (RuleTarget(record, _client_string(record, f)),)
        if f.kind is Kind.OBJECT and rest.startswith(f.name + "."):
            key = rest[len(f.name) + 1 :]
            target = _client_string(record, f)
            if key == WILDCARD:
                return (RuleTarget(record, target),)
            if not _OPEN_KEY.match(key):
                raise SelectorInvalid("a key must be 1-100 characters without whitespace")
            return (RuleTarget(record, target, key),)
    if rest.endswith("." + WILDCARD):
        group = rest[: -len(WILDCARD)]
        members = [f for f in record.client_strings if f.name.startswith(group)]
        if members:
            return tuple(RuleTarget(record, f) for f in members)
    raise SelectorInvalid(
        f"names no field of the {record.name} record; its client strings are "
        + ", ".join(record.path(f.name) for f in record.client_strings)
    )


def _client_string(record: RecordType, f: Field) -> Field:
    if f.beacon is None:
        raise SelectorInvalid(
            f"{record.path(f.name)} is not a client string a rule can rewrite; those are "
            + ", ".join(record.path(c.name) for c in record.client_strings)
        )
    return f


def is_record_wide(selector: str) -> bool:
    """Whether the selector takes every client string of a record type (or of all)."""
    if selector == WILDCARD:
        return True
    head, _, rest = selector.partition(".")
    return rest == WILDCARD and any(head in r.selector_names for r in RECORD_TYPES)
