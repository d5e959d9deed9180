"""Schema fuzzing of the API with schemathesis, against the served ``/api/schema/``.

Every operation of the OpenAPI document is fuzzed in-process through the real
WSGI application (``config.wsgi.application``: every middleware, real
authentication, real database), with a bounded number of examples:

* positive data (what the schema allows), as a reader with partial grants
  and as a superuser: no 5xx, the status code is documented, the content type
  is documented, the body and headers match the documented schema;
* negative data (what the schema forbids), as the reader: the same, plus the
  request must be refused with a 4xx.

Nothing is excluded: the operations are collected from the schema itself, so
a new endpoint is fuzzed the day it is documented. Ingest is fuzzed here with
its bearer token, and ``test_ingest_fuzz.py`` adds malformed beacons built
from the contract (mutations the schema alone cannot describe). Two things schemathesis
cannot judge are checked here by hand, and said so below: CSV bodies (no
JSON schema to validate, see ``_csv_export_is_well_formed``) and empty filter
values (see ``_refuses_negative_data``).

Database: the WSGI handler closes the connection at the end of each request
(``close_old_connections``), which inside pytest-django's wrapping transaction
would poison it, so these tests use ``transactional_db``: each request
commits like in production and the database is flushed after each test.

``schemathesis.pytest.from_fixture`` (the lazy loader) does not work with
pytest 9 in schemathesis 4.32.5 (it touches ``Function._nodeid``, which is
gone), so the operations are parametrized here and each one is driven by
``APIOperation.as_strategy`` under ``@given``.
"""

from __future__ import annotations

import base64
import csv
import io
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest
import schemathesis
from django.contrib.auth import get_user_model
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import APIOperation, Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from access.services import api_token_create
from config.wsgi import application as wsgi_application
from permissions.services import grant_fieldset, grant_record_access
from privacy.user_tags import UserTagStorage
from sessions_app.api.serializers import SESSION_KEYS
from sessions_app.applications import application_create
from tests.factories import stored_session

SCHEMA_PATH = "/api/schema/?format=json"
INGEST_PREFIX = "/api/v1/ingest/"
SENSITIVE = "builtin-sensitive-user-events-and-sessions"
POSITIVE_EXAMPLES = 20
NEGATIVE_EXAMPLES = 15

# Loaded once at collection to parametrize the tests: the schema is public and
# generated from code, so this request needs neither credentials nor the
# database. Each test loads it again as its principal (the schema it fuzzes).
_COLLECTED = schemathesis.openapi.from_wsgi(SCHEMA_PATH, wsgi_application)
_RESULTS = list(_COLLECTED.get_all_operations())
OPERATIONS = sorted(result.ok().label for result in _RESULTS if isinstance(result, Ok))


def _has_inputs(label: str) -> bool:
    """Whether negative data exists for the operation (parameters or a body to break)."""
    operation = _COLLECTED.find_operation_by_label(label)
    assert operation is not None
    # Not headers or cookies: the only ones are the security schemes' (Authorization,
    # sessionid), which every call overrides with the principal's credentials.
    return bool(list(operation.path_parameters) or list(operation.query) or list(operation.body))


# Operations without parameters or body have nothing schemathesis could make
# invalid (it filters out every attempt); they are fuzzed in positive mode
# only. Their undocumented query parameters are covered by
# ``test_an_unknown_query_parameter_gets_a_documented_status``.
NEGATIVE_OPERATIONS = [label for label in OPERATIONS if _has_inputs(label)]


@dataclass
class FuzzWorld:
    """Data the fuzzed requests can find, and the credentials to send."""

    headers: dict[str, dict[str, str]] = field(default_factory=dict)
    ingest_token: str = ""
    session_ids: list[int] = field(default_factory=list)
    user_tags: list[str] = field(default_factory=list)


@pytest.fixture
def fuzz_world(transactional_db: None) -> FuzzWorld:
    """Three applications: revealed to the reader, masked for the reader, foreign.

    The reader holds record access to two of them and the sensitive fieldset
    for one; the superuser holds everything (including the audit trail).
    """
    world = FuzzWorld()
    properties = ["loyalty_tier"]
    revealed, world.ingest_token = application_create(
        slug="fuzz-shop", name="Fuzz Shop", allowed_properties=properties
    )
    masked, _ = application_create(
        slug="fuzz-vault",
        name="Fuzz Vault",
        user_tag_storage=UserTagStorage.ENCRYPTED,
        allowed_properties=properties,
    )
    foreign, _ = application_create(slug="fuzz-foreign", name="Fuzz Foreign")
    for number, application in enumerate([revealed, masked, foreign, revealed, masked]):
        tag = f"Customer.{number}@Example.com"
        world.user_tags.append(tag)
        purchase = {"converted": True, "revenue": Decimal("79.90")} if number == 3 else {}
        session = stored_session(
            application,
            user_tag=tag,
            actions=number % 3,
            properties={"loyalty_tier": "gold"} if number % 2 else {},
            error_count=1 if number == 1 else 0,
            **purchase,
        )
        world.session_ids.append(session.pk)
    world.session_ids.append(stored_session(revealed, client_ip=None, country="").pk)

    users = get_user_model().objects
    reader = users.create_user("fuzz-reader", password="unused-password")
    grant_record_access(user=reader, application=revealed)
    grant_record_access(user=reader, application=masked)
    grant_fieldset(fieldset_name=SENSITIVE, user=reader, application=revealed)
    admin = users.create_superuser("fuzz-admin", password="unused-password")
    for name, user in (("reader", reader), ("superuser", admin)):
        world.headers[name] = {"Authorization": f"Token {api_token_create(user=user)[1]}"}

    # A few audit records, so the audit trail has rows to page through.
    client = Client(headers=world.headers["reader"])
    assert client.get("/api/v1/sessions/").status_code == 200
    search = {"user_tag": world.user_tags[0]}
    assert client.post("/api/v1/sessions/search/", search, "application/json").status_code == 200
    return world


def _credentials(operation: APIOperation, world: FuzzWorld, principal: str) -> dict[str, str]:
    if operation.path.startswith(INGEST_PREFIX):  # ingest authenticates with its own token
        return {"Authorization": f"Bearer {world.ingest_token}"}
    return world.headers[principal]


def _cases(operation: APIOperation, mode: GenerationMode, world: FuzzWorld) -> Any:
    """Cases for the operation; positive ones also aim at rows that exist.

    Random ids and tags almost never hit a stored session, so half the
    positive cases use a real session id (readable, masked or foreign) or a
    real user tag, which exercises the 200 bodies and the masking in them.
    """
    generated = operation.as_strategy(generation_mode=mode)
    if mode is not GenerationMode.POSITIVE:
        return generated
    names = {parameter.name for parameter in operation.iter_parameters()}
    if operation.path.endswith("{id}/") and "id" in names:
        existing = st.sampled_from(world.session_ids).flatmap(
            lambda pk: operation.as_strategy(path_parameters={"id": pk})
        )
        return st.one_of(generated, existing)
    if operation.path.endswith("/search/"):
        existing = st.sampled_from(world.user_tags).flatmap(
            lambda tag: operation.as_strategy(body={"user_tag": tag.upper()})
        )
        return st.one_of(generated, existing)
    return generated


# --- checks beyond schemathesis' built-ins --------------------------------------------


def _csv_export_is_well_formed(ctx: Any, response: Any, case: Case) -> None:
    """The CSV export, which schemathesis cannot validate (its schema is just ``string``).

    A 200 in ``text/csv`` must be the documented export: the session keys as
    header, then rows of exactly that width, with ``masked_fields`` as JSON.
    """
    content_type = response.headers.get("Content-Type", [""])
    if isinstance(content_type, list):
        content_type = content_type[0] if content_type else ""
    if response.status_code != 200 or not content_type.startswith("text/csv"):
        return
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8"))))
    assert rows, "empty CSV export"
    assert rows[0] == list(SESSION_KEYS), f"CSV header {rows[0]!r}"
    masked_column = rows[0].index("masked_fields")
    for row in rows[1:]:
        assert len(row) == len(SESSION_KEYS), f"CSV row of {len(row)} cells"
        assert isinstance(json.loads(row[masked_column]), list)


def _refuses_negative_data(ctx: Any, response: Any, case: Case) -> Any:
    """``negative_data_rejection``, except for an empty filter value in the query.

    ``?has_errors=`` (an empty value for a boolean or date filter) means "no
    filter" by django-filter's convention, which the read API keeps on
    purpose (``StrictBooleanField`` refuses every other non-boolean). It has
    no effect on which rows come back, so accepting it is not a leak.
    """
    if any(value == "" for value in (case.query or {}).values()):
        return None
    return negative_data_rejection(ctx, response, case)


CONFORMANCE: list[Callable[..., Any]] = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    _csv_export_is_well_formed,
]


def _fuzz(
    label: str, mode: GenerationMode, principal: str, world: FuzzWorld, examples: int
) -> None:
    headers = world.headers[principal]
    schema = schemathesis.openapi.from_wsgi(SCHEMA_PATH, wsgi_application, headers=headers)
    operation = schema.find_operation_by_label(label)
    assert operation is not None, f"{label} is no longer in the schema served to {principal}"
    credentials = _credentials(operation, world, principal)
    checks = (
        [*CONFORMANCE, _refuses_negative_data] if mode is GenerationMode.NEGATIVE else CONFORMANCE
    )

    @given(case=_cases(operation, mode, world))
    @settings(max_examples=examples, suppress_health_check=[HealthCheck.too_slow])
    def run(case: Case) -> None:
        response = case.call(headers=credentials)
        case.validate_response(response, checks=checks, headers=credentials)

    run()


# --- tests -----------------------------------------------------------------------------


def test_every_operation_of_the_schema_is_loadable_and_fuzzed() -> None:
    errors = [str(result.err()) for result in _RESULTS if not isinstance(result, Ok)]
    assert errors == []
    assert OPERATIONS, "the schema documents no operation"
    assert "GET /api/v1/sessions/" in OPERATIONS


@pytest.mark.parametrize("principal", ["reader", "superuser"])
@pytest.mark.parametrize("label", OPERATIONS)
def test_positive_fuzzing_conforms_to_the_schema(
    label: str, principal: str, fuzz_world: FuzzWorld
) -> None:
    _fuzz(label, GenerationMode.POSITIVE, principal, fuzz_world, POSITIVE_EXAMPLES)


@pytest.mark.parametrize("label", NEGATIVE_OPERATIONS)
def test_negative_fuzzing_is_refused_with_a_documented_4xx(
    label: str, fuzz_world: FuzzWorld
) -> None:
    _fuzz(label, GenerationMode.NEGATIVE, "reader", fuzz_world, NEGATIVE_EXAMPLES)


@pytest.mark.parametrize("label", OPERATIONS)
def test_an_unknown_query_parameter_gets_a_documented_status(
    label: str, fuzz_world: FuzzWorld
) -> None:
    """Every read endpoint refuses unknown parameters (400); the schema must say so."""
    schema = schemathesis.openapi.from_wsgi(SCHEMA_PATH, wsgi_application)
    operation = schema.find_operation_by_label(label)
    assert operation is not None
    body: dict[str, Any] = {}
    if operation.body:  # a valid body, so the unknown parameter is the only fault
        body = {"body": {"user_tag": fuzz_world.user_tags[0]}, "media_type": "application/json"}
    path_parameters: dict[str, Any] = {}
    if "{id}" in operation.path:
        path_parameters["id"] = fuzz_world.session_ids[0]
    if "{name}" in operation.path:
        path_parameters["name"] = SENSITIVE
    case = operation.Case(
        path_parameters=path_parameters,
        query={"no_such_parameter": "1"},
        **body,
    )
    credentials = _credentials(operation, fuzz_world, "superuser")
    response = case.call(headers=credentials)
    assert 400 <= response.status_code < 500
    case.validate_response(
        response, checks=[not_a_server_error, status_code_conformance], headers=credentials
    )


# --- found by the fuzzers: inputs schemathesis' generators do not reach ---------------
#
# Pinned deterministically so every run checks them, whatever the fuzzers draw.


def _operation(label: str) -> APIOperation:
    operation = _COLLECTED.find_operation_by_label(label)
    assert operation is not None, label
    return operation


def _call_and_check(case: Case, world: FuzzWorld) -> Any:
    credentials = world.headers["reader"]
    response = case.call(headers=credentials)
    case.validate_response(response, checks=CONFORMANCE, headers=credentials)
    return response


# JSON allows strings that UTF-8 and PostgreSQL do not: unpaired surrogates ("\ud800")
# and NUL. Schemathesis never generates them; a JSON body can carry them.
_HOSTILE_TEXT = st.text(st.characters(categories=["Cs", "Cc", "Ll", "Nd"]), max_size=8)
_JUNK_TEXT = st.one_of(
    st.text(max_size=300),
    _HOSTILE_TEXT,
    st.sampled_from(["\ud800", "a\x00b", "\udfff@example.com", "NaN", "-Infinity", " " * 400]),
)
_SEARCH_FILTERS = ["application", "since", "until", "user_id", "country", "browser", "device"]


@given(
    tag=_JUNK_TEXT,
    filters=st.dictionaries(st.sampled_from(_SEARCH_FILTERS), _JUNK_TEXT, max_size=3),
)
@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_search_with_any_json_string_is_answered_without_a_server_error(
    fuzz_world: FuzzWorld, tag: str, filters: dict[str, str]
) -> None:
    """Found: ``{"user_tag": "\\ud800"}`` is a 500 (UnicodeEncodeError in the blind index)."""
    case = _operation("POST /api/v1/sessions/search/").Case(
        body={"user_tag": tag, **filters}, media_type="application/json"
    )
    response = _call_and_check(case, fuzz_world)
    assert response.status_code in (200, 400)


@pytest.mark.parametrize("name", ["since", "until"])
@pytest.mark.parametrize("offset", ["+16:00", "-23:59", "+23:22"])
def test_a_date_filter_with_a_large_utc_offset_is_not_a_server_error(
    fuzz_world: FuzzWorld, name: str, offset: str
) -> None:
    """Found on PostgreSQL: ``?until=1241-07-18T01:03:46+23:22`` is a 500.

    Python parses offsets up to 23:59, PostgreSQL accepts up to 15:59, and the
    filter hands the datetime over with its original offset (DataError "time
    zone displacement out of range").
    """
    value = f"2026-11-28T10:00:00{offset}"
    listing = _operation("GET /api/v1/sessions/").Case(query={name: value})
    assert _call_and_check(listing, fuzz_world).status_code in (200, 400)
    search = _operation("POST /api/v1/sessions/search/").Case(
        body={"user_tag": fuzz_world.user_tags[0], name: value}, media_type="application/json"
    )
    assert _call_and_check(search, fuzz_world).status_code in (200, 400)


def test_a_tampered_cursor_with_a_large_utc_offset_is_not_a_server_error(
    fuzz_world: FuzzWorld,
) -> None:
    """Found on PostgreSQL, same cause: the cursor's sort value reaches the query as is."""
    position = {"o": "-started_at", "r": False, "v": "2026-11-28T10:00:00+23:00", "i": 1}
    cursor = base64.urlsafe_b64encode(json.dumps(position).encode()).decode("ascii")
    case = _operation("GET /api/v1/sessions/").Case(query={"cursor": cursor})
    assert _call_and_check(case, fuzz_world).status_code in (200, 400)


@pytest.mark.parametrize("value", [5, 1.5, True])
@pytest.mark.parametrize("name", ["since", "until"])
def test_a_date_filter_that_is_not_a_string_is_refused(
    fuzz_world: FuzzWorld, name: str, value: Any
) -> None:
    """Found: ``{"user_tag": "...", "until": 5}`` is a 500 (``int`` has no ``strip``).

    The search body is JSON, so a filter can arrive as a number or a boolean;
    django-filter's date-time field assumes the string a query string gives.
    """
    case = _operation("POST /api/v1/sessions/search/").Case(
        body={"user_tag": fuzz_world.user_tags[0], name: value}, media_type="application/json"
    )
    assert _call_and_check(case, fuzz_world).status_code == 400


@pytest.mark.parametrize("value", [5, True])
@pytest.mark.parametrize("name", ["user_id", "country", "browser", "device"])
def test_a_text_filter_that_is_not_a_string_is_refused(
    fuzz_world: FuzzWorld, name: str, value: Any
) -> None:
    """Found (negative fuzzing, ST201): ``{"country": 5}`` is read as ``"5"``, a 200.

    The schema types these filters as strings; a number is a client bug that
    should be a 400, not a filter on something the client did not write.
    """
    case = _operation("POST /api/v1/sessions/search/").Case(
        body={"user_tag": fuzz_world.user_tags[0], name: value}, media_type="application/json"
    )
    assert _call_and_check(case, fuzz_world).status_code == 400


@pytest.mark.parametrize("path_id", ["-1", "0x1", "%C2%BE"])
def test_a_session_id_the_url_pattern_refuses_is_a_json_404(
    fuzz_world: FuzzWorld, path_id: str
) -> None:
    """Found: ``GET /api/v1/sessions/-1/`` is Django's HTML 404 page; 404 is documented as JSON.

    The schema types ``id`` as any integer, the URL pattern ``<int:pk>`` only
    matches digits, and outside DRF a 404 is rendered by Django's HTML handler.
    """
    response = Client(headers=fuzz_world.headers["reader"]).get(f"/api/v1/sessions/{path_id}/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")


@pytest.mark.parametrize("label", ["GET /api/v1/sessions/", "POST /api/v1/sessions/search/"])
def test_an_unsupported_format_gets_a_documented_status(fuzz_world: FuzzWorld, label: str) -> None:
    """Found: ``?format=xml`` is DRF's content-negotiation 404, which is not documented."""
    operation = _operation(label)
    body: dict[str, Any] = {}
    if operation.body:
        body = {"body": {"user_tag": fuzz_world.user_tags[0]}, "media_type": "application/json"}
    case = operation.Case(query={"format": "xml"}, **body)
    assert 400 <= _call_and_check(case, fuzz_world).status_code < 500
