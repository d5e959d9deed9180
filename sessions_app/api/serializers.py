"""Read serializers: DRF ``BaseSerializer`` classes over the read layer's masked records.

DRF's wiring (``get_serializer``, ``many=True``, ``serializer.data``) at the
speed of a dict copy: a ``ModelSerializer`` list page of 500 sessions would
run 10,000 field objects; these render each record with one precomputed
plan per record type from the registry (``fieldsets.registry``), formatting
like DRF's defaults (ISO 8601 with ``Z``, decimals as strings).

Masking and the audit happen in the read layer: ``SessionListSerializer``
hands its rows to ``request.reader.present_sessions`` (one audit record per
page), the detail view passes an already masked ``MaskedSession``.
``sessions_app.api.schema`` documents the shapes, from the same registry.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from rest_framework import serializers

from fieldsets.registry import ACTION, LOG, SESSION, SUMMARY_KEY, Kind, RecordType
from sessions_app.reads import Masked, MaskedSession, Reader

MASKED_FIELDS = "masked_fields"
PARTIAL_FIELDS = "partial_fields"


def iso_datetime(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is not UTC:  # the database's values are UTC already
        value = value.astimezone(UTC)
    return value.isoformat()[:-6] + "Z"  # "+00:00", as in UTC it always ends


def decimal_text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


_FORMAT: dict[Kind, Callable[[Any], Any]] = {
    Kind.DATETIME: iso_datetime,
    Kind.DECIMAL: decimal_text,
}


class _Layout:
    """How one record type's values become JSON: key order, formatting, nested groups."""

    def __init__(self, record: RecordType, *, summarised: bool = False) -> None:
        self.summarised = summarised  # sessions carry their summary
        self.has_partial_forms = record.has_partial_forms
        self.flat: list[tuple[str, Callable[[Any], Any] | None]] = []
        self.groups: dict[str, list[tuple[str, str, Callable[[Any], Any] | None]]] = {}
        for f in record.fields:
            formatter = _FORMAT.get(f.kind)
            if len(f.json_path) == 1:
                self.flat.append((f.name, formatter))
            else:
                group, key = f.json_path
                if group not in self.groups:
                    self.flat.append((group, None))  # placeholder keeps the key order
                    self.groups[group] = []
                self.groups[group].append((f.name, key, formatter))

    def render(
        self,
        values: Mapping[str, Any],
        masked: list[str],
        *,
        partial: list[str] | None = None,
        summary: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """The record's JSON; a session also gets ``summary`` and ``partial_fields``."""
        data: dict[str, Any] = {}
        for name, formatter in self.flat:
            if name in self.groups:
                group = {
                    key: formatter(values[source]) if formatter else values[source]
                    for source, key, formatter in self.groups[name]
                }
                # A group with nothing in it (an action without a product) is null.
                data[name] = group if any(v not in (None, "") for v in group.values()) else None
            else:
                value = values[name]
                data[name] = formatter(value) if formatter and value is not None else value
        data[MASKED_FIELDS] = masked
        if self.has_partial_forms:
            data[PARTIAL_FIELDS] = partial or []
        if self.summarised:
            data[SUMMARY_KEY] = dict(summary) if summary is not None else None
        return data


SESSION_LAYOUT = _Layout(SESSION, summarised=True)
ACTION_LAYOUT = _Layout(ACTION)
LOG_LAYOUT = _Layout(LOG)
_LAYOUTS: dict[str, _Layout] = {
    SESSION.name: SESSION_LAYOUT,
    ACTION.name: ACTION_LAYOUT,
    LOG.name: LOG_LAYOUT,
}


def layout_for(record: RecordType) -> _Layout:
    """The JSON layout of any record type (data-subject exports render every type)."""
    if record.name not in _LAYOUTS:
        _LAYOUTS[record.name] = _Layout(record)
    return _LAYOUTS[record.name]


# The keys of a session (a log record) in JSON and the CSV header, in order.
SESSION_KEYS: tuple[str, ...] = (
    *(name for name, _ in SESSION_LAYOUT.flat),
    MASKED_FIELDS,
    PARTIAL_FIELDS,
    SUMMARY_KEY,
)
LOG_KEYS: tuple[str, ...] = (*(name for name, _ in LOG_LAYOUT.flat), MASKED_FIELDS)


def render_session(item: Masked) -> dict[str, Any]:
    return SESSION_LAYOUT.render(
        item.values, item.masked, partial=item.partial, summary=item.summary
    )


class SessionListSerializer(serializers.ListSerializer):  # type: ignore[type-arg]
    """A page of session rows: masked and audited by the request's reader, then rendered.

    ``context``: ``reader``; for a customer search ``search`` and ``query``;
    ``export`` for a CSV download.
    """

    def to_representation(self, data: Any) -> list[dict[str, Any]]:
        reader: Reader = self.context["reader"]
        page = reader.present_sessions(
            data,
            search=self.context.get("search"),
            query=self.context.get("query"),
            export=self.context.get("export", False),
            summaries=True,
        )
        return [render_session(item) for item in page]


class SessionSerializer(serializers.BaseSerializer):  # type: ignore[type-arg]
    """One masked session (``many=True``: rows of a page, see ``SessionListSerializer``)."""

    class Meta:
        list_serializer_class = SessionListSerializer

    def to_representation(self, instance: Masked) -> dict[str, Any]:
        return render_session(instance)


class SessionDetailSerializer(serializers.BaseSerializer):  # type: ignore[type-arg]
    """A masked session with its masked actions and log records (null when hidden)."""

    def to_representation(self, instance: MaskedSession) -> dict[str, Any]:
        data = render_session(instance)
        data["actions"] = (
            None
            if instance.actions is None
            else [ACTION_LAYOUT.render(a.values, a.masked) for a in instance.actions]
        )
        data["logs"] = (
            None
            if instance.logs is None
            else [LOG_LAYOUT.render(record.values, record.masked) for record in instance.logs]
        )
        return data


class LogListSerializer(serializers.ListSerializer):  # type: ignore[type-arg]
    """A page of log rows: masked and audited by the request's reader, then rendered.

    ``context``: ``reader``; ``export`` for a CSV download. The list's query
    never reads an application whose log records are hidden as a whole; should
    one come through anyway it is left out, never shown.
    """

    def to_representation(self, data: Any) -> list[dict[str, Any]]:
        reader: Reader = self.context["reader"]
        page = reader.present_logs(data, export=self.context.get("export", False))
        render = LOG_LAYOUT.render
        return [render(item.values, item.masked) for item in page if item is not None]


class LogSerializer(serializers.BaseSerializer):  # type: ignore[type-arg]
    """One masked log record (``many=True``: a page of rows, see ``LogListSerializer``)."""

    class Meta:
        list_serializer_class = LogListSerializer

    def to_representation(self, instance: Masked) -> dict[str, Any]:
        return LOG_LAYOUT.render(instance.values, instance.masked)


def serialize_audit_record(row: dict[str, Any]) -> dict[str, Any]:
    return {**row, "created_at": iso_datetime(row["created_at"])}
