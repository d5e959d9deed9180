"""The field registry: which paths a fieldset may hold, what they are derived from, and which
fields a query parameter touches."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from fieldsets.registry import (
    ACTION,
    LOG,
    RECORD_TYPES,
    SESSION,
    closure,
    fields_referenced_by,
    fieldset_paths,
    is_fieldset_path,
    missing_sources,
    resolve,
    validate_fieldset_fields,
)
from logs.models import LogRecord
from sessions_app.models import UserAction, UserSession


@pytest.mark.parametrize(
    "name",
    [
        *fieldset_paths(),
        "properties.tier",
        "properties.a.b",
        "actions.request_attributes.order_id",
        "actions.product.price",
        "actions",
    ],
)
def test_fieldset_paths(name: str) -> None:
    assert is_fieldset_path(name)


@pytest.mark.parametrize(
    "name",
    [
        "id",
        "application",
        "started_at",
        "user_id",
        "masked_fields",
        "properties.",
        "x",
        "actions.seq",
        "actions.headers.cookie",  # headers are one field, not an open object
        "actions.unknown",
        "url",  # an action field without its prefix
    ],
)
def test_not_fieldset_paths(name: str) -> None:
    assert not is_fieldset_path(name)


def test_every_stored_field_names_a_column_of_its_model() -> None:
    models = {SESSION: UserSession, ACTION: UserAction, LOG: LogRecord}
    for record in RECORD_TYPES:
        columns = {f.attname for f in models[record]._meta.concrete_fields}
        annotations = {f.storage for f in record.fields if f.annotated}
        for name in record.columns:
            assert name in columns or name in annotations, f"{record.name}.{name}"
    assert annotations == {"session_pk"}  # the log record's session, resolved on read


def test_every_declared_source_is_a_registry_path() -> None:
    for record in RECORD_TYPES:
        for f in record.fields:
            for source in f.derived_from:
                assert resolve(source) is not None, f"{f.name} <- {source}"


@pytest.mark.parametrize(
    ("fields", "missing"),
    [
        (["action_count"], {"action_count": ["actions"]}),
        (["action_count", "actions"], {}),
        (
            ["error_count"],
            {"error_count": ["actions.type", "actions.http_status", "actions.error_message"]},
        ),
        (["error_count", "actions"], {}),  # the whole collection covers its fields
        (["converted", "actions.product.event"], {}),
        (
            ["duration_ms"],
            {"duration_ms": ["ended_at", "actions.timestamp", "actions.duration_ms"]},
        ),
        (["city", "properties.tier"], {}),
    ],
)
def test_missing_sources_names_what_to_add(
    fields: list[str], missing: dict[str, list[str]]
) -> None:
    assert missing_sources(fields) == missing


def test_a_fieldset_hiding_a_derived_field_but_not_its_sources_is_refused() -> None:
    with pytest.raises(ValidationError) as refused:
        validate_fieldset_fields(["revenue"])
    message = " ".join(refused.value.messages)
    for source in ("actions.product.price", "actions.product.quantity", "actions.product.event"):
        assert source in message
    validate_fieldset_fields(
        ["revenue", "actions.product.price", "actions.product.quantity", "actions.product.event"]
    )


def test_closure_follows_derivations_transitively() -> None:
    # ended_at <- duration_ms <- ended_at, actions.timestamp, actions.duration_ms
    assert closure(["ended_at"]) == {
        "ended_at",
        "duration_ms",
        "actions.timestamp",
        "actions.duration_ms",
    }


@pytest.mark.parametrize(
    ("parameter", "fields"),
    [
        ("client_ip", ["client_ip"]),
        ("client_ip__startswith", ["client_ip"]),
        ("user_tag__iexact", ["user_tag"]),
        ("properties__tier", ["properties.tier", "properties"]),
        ("properties__tier__in", ["properties.tier.in", "properties.tier", "properties"]),
        ("properties.tier", ["properties.tier", "properties"]),
        ("properties", ["properties"]),
        ("actions__url__contains", ["actions.url"]),
        ("actions__count", ["actions"]),
        (
            "actions__request_attributes__order_id",
            ["actions.request_attributes.order_id", "actions.request_attributes"],
        ),
        ("search", ["search"]),
    ],
)
def test_fields_referenced_by(parameter: str, fields: list[str]) -> None:
    assert fields_referenced_by(parameter) == fields


def test_log_paths_resolve_with_their_open_keys_and_derivations() -> None:
    assert resolve("logs.attributes.http.route").key == "http.route"
    assert resolve("logs.body").record is LOG
    assert resolve("logs").field is None
    assert missing_sources(["logs.severity_number"]) == {
        "logs.severity_number": ["logs.severity_text"]
    }
    assert resolve("logs.session") is None  # the link is visible to every reader
    assert fields_referenced_by("logs.attributes__order_id")[0] == "logs.attributes.order_id"
