"""Inserting many rows of one model: ``COPY`` on PostgreSQL, ``bulk_create`` elsewhere;
updating many (``update_rows``: re-masking, the stored summaries).

Ingest writes each batch's sessions and actions (``sessions_app.services``)
and log records (``logs.services``) with these. Django's ``bulk_create``
builds one ``INSERT`` with a parameter per value; PostgreSQL's ``COPY``
(psycopg 3's ``Cursor.copy``) streams the rows instead. Against an unmasked
ORM ``bulk_create`` of the same rows on PostgreSQL, the whole pipeline went
from 0.68 to 0.79-0.81 for sessions (``bench/ingest.py``) and from 0.59 to
0.93 for OTLP log records (``bench/logs.py``) with it (``bench/README.md``).

Every value passes its field's ``pre_save`` and ``get_db_prep_save``, as in
``bulk_create``, except where that is provably the identity on what ``COPY``
writes (``_PASS_THROUGH``): a ``str`` for a text column, an ``int`` for an
integer one, a ``bool`` for a boolean, an aware ``datetime``, ``None`` for any
of them (``bench/README.md`` has what that saves).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from operator import attrgetter
from typing import Any

from django.db import connections, models
from django.db.backends.base.base import BaseDatabaseWrapper

# Field classes (exactly these, not subclasses, whose methods may differ) whose
# ``get_db_prep_save`` returns a value of these types unchanged, or one ``COPY``
# writes as the same text: on PostgreSQL an integer field wraps an ``int`` in
# psycopg's ``Int2``/``Int4``/``Int8``, written as the same digits.
# ``tests/config/test_bulk.py`` stores both forms of each and compares the rows.
_INTEGER_FIELDS = (
    models.IntegerField,
    models.SmallIntegerField,
    models.BigIntegerField,
    models.PositiveIntegerField,
    models.PositiveSmallIntegerField,
    models.PositiveBigIntegerField,
    models.AutoField,
    models.BigAutoField,
    models.SmallAutoField,
)
_PASS_THROUGH: dict[type[models.Field[Any, Any]], tuple[type, ...]] = {
    models.CharField: (str,),
    models.TextField: (str,),
    models.BooleanField: (bool,),
    models.DateTimeField: (datetime,),  # aware only: see _prepare
    **{field_class: (int,) for field_class in _INTEGER_FIELDS},
}

Prepare = Callable[[Any], Any]


def _pass_through_types(field: models.Field[Any, Any]) -> tuple[type, ...]:
    if isinstance(field, models.ForeignKey):
        # The key's value is the target's: ForeignKey.get_db_prep_save delegates to it.
        return _pass_through_types(field.target_field)
    return _PASS_THROUGH.get(type(field), ())


def _prepare(field: models.Field[Any, Any], connection: BaseDatabaseWrapper) -> Prepare:
    """``field.get_db_prep_save`` for ``COPY``, skipped where it changes nothing written."""
    prep = field.get_db_prep_save
    kinds = _pass_through_types(field)
    if not kinds:
        return lambda value: prep(value, connection)
    if kinds == (datetime,):
        # A naive datetime is made aware (with a warning) by DateTimeField; only an
        # aware one is passed as it is.
        def prepare_datetime(value: Any) -> Any:
            if value is None or (type(value) is datetime and value.utcoffset() is not None):
                return value
            return prep(value, connection)

        return prepare_datetime

    def prepare(value: Any) -> Any:
        # ``type(...) in``, not isinstance: a bool is an int, and a str subclass could
        # be anything; those take the field's own path.
        if value is None or type(value) in kinds:
            return value
        return prep(value, connection)

    return prepare


def _copy(
    connection: BaseDatabaseWrapper,
    model: type[models.Model],
    fields: Sequence[models.Field[Any, Any]],
    rows: Iterable[Sequence[Any]],
) -> None:
    """``COPY`` of ``rows`` (values in the order of ``fields``), in the current transaction."""
    quote = connection.ops.quote_name
    columns = ", ".join(quote(field.column or field.attname) for field in fields)
    statement = f"COPY {quote(model._meta.db_table)} ({columns}) FROM STDIN"
    prepares = [_prepare(field, connection) for field in fields]
    # Errors as Django's (IntegrityError, OperationalError...): psycopg's own cursor is
    # used, below the wrapper that translates them for ``cursor.execute``.
    with (
        connection.wrap_database_errors,
        connection.cursor() as cursor,
        cursor.cursor.copy(statement) as copy,
    ):
        for row in rows:
            copy.write_row([prepare(value) for prepare, value in zip(prepares, row, strict=True)])


def _concrete_fields(model: type[models.Model], *, with_pk: bool) -> list[models.Field[Any, Any]]:
    return [
        field
        for field in model._meta.concrete_fields
        if (with_pk or not field.primary_key) and field.column is not None
    ]


def _values(
    fields: Sequence[models.Field[Any, Any]], rows: Sequence[models.Model]
) -> Iterable[list[Any]]:
    """Each instance's values as ``bulk_create`` takes them: through ``pre_save``
    (``auto_now`` and ``auto_now_add`` set the time there), plain attributes otherwise."""
    getters = [_getter(field) for field in fields]
    for row in rows:
        yield [getter(row) for getter in getters]


def _getter(field: models.Field[Any, Any]) -> Callable[[models.Model], Any]:
    if type(field).pre_save is models.Field.pre_save:
        return attrgetter(field.attname)  # what Field.pre_save does

    def pre_save(row: models.Model) -> Any:
        return field.pre_save(row, True)

    return pre_save


def bulk_insert(
    model: type[models.Model], rows: Sequence[models.Model], *, using: str = "default"
) -> None:
    """Insert ``rows`` of ``model`` in the current transaction; their ids are not read back.

    The ids come from the table's sequence. Callers that need the new ids use
    ``bulk_insert_with_ids``.
    """
    connection = connections[using]
    if connection.vendor != "postgresql" or not rows:
        model._default_manager.using(using).bulk_create(rows)
        return
    fields = _concrete_fields(model, with_pk=False)
    _copy(connection, model, fields, _values(fields, rows))


def bulk_insert_with_ids(
    model: type[models.Model], rows: Sequence[models.Model], *, using: str = "default"
) -> None:
    """Insert ``rows`` in the current transaction and set their primary keys, as
    ``bulk_create`` does.

    On PostgreSQL the ids are taken from the table's sequence first (one query,
    ``nextval`` for each row) and written with the rows by ``COPY``: two
    statements whatever the number of rows, and no ``INSERT`` for Django to
    compile (a parameter per value, 2,800 for a batch of 100 sessions). A
    conflict (a unique constraint) raises ``IntegrityError`` as ``bulk_create``
    would; the ids taken are then skipped, as after any rolled-back insert.
    """
    connection = connections[using]
    if connection.vendor != "postgresql" or not rows:
        model._default_manager.using(using).bulk_create(rows)
        return
    pk = model._meta.pk
    if pk is None:
        raise ValueError(f"{model.__name__} has no primary key")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [connection.ops.quote_name(model._meta.db_table), pk.column, len(rows)],
        )
        ids = sorted(row[0] for row in cursor.fetchall())
    for row, new_id in zip(rows, ids, strict=True):
        setattr(row, pk.attname, new_id)
    fields = _concrete_fields(model, with_pk=True)
    _copy(connection, model, fields, _values(fields, rows))
    for row in rows:
        row._state.adding = False
        row._state.db = using


def copy_values(
    model: type[models.Model],
    attnames: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    using: str = "default",
) -> None:
    """Insert ``rows``, tuples of the values of ``attnames`` in that order, without
    making a model instance for each (``COPY`` on PostgreSQL; elsewhere the
    instances are made for ``bulk_create``). Every column but the id must be named.
    """
    connection = connections[using]
    named = set(attnames)
    missing = {f.attname for f in _concrete_fields(model, with_pk=False)} - named
    if missing:  # COPY would store NULL there, bulk_create the field's default
        raise ValueError(f"copy_values needs every column but the id; missing: {sorted(missing)}")
    if not rows:
        return
    if connection.vendor != "postgresql":
        model._default_manager.using(using).bulk_create(
            [model(**dict(zip(attnames, row, strict=True))) for row in rows]
        )
        return
    by_attname = {field.attname: field for field in model._meta.concrete_fields}
    _copy(connection, model, [by_attname[attname] for attname in attnames], rows)


# --- updating many rows of one application ------------------------------------------

UPDATE_CHUNK = 1000


def update_rows(
    model: type[models.Model],
    rows: list[tuple[int, dict[str, Any]]],
    fields: list[str],
    *,
    application_id: int,
    using: str = "default",
) -> None:
    """Set ``fields`` of rows given as (primary key, values) of one application:
    ``bulk_update`` without its cost. Each statement names the application
    (``docs/scaling.md``, "Routable by application").

    Django's ``bulk_update`` builds a ``CASE WHEN id = ...`` per row and column,
    which costs more than the masking itself at re-masking's volumes: in
    ``bench/remask.py`` on PostgreSQL (15 batches of 200 changed sessions,
    alternate runs on the shared 2-core machine at a load average of 5-6),
    writing the sessions took 2.1-2.3 s with ``bulk_update`` and 0.15-0.18 s
    here. Here each chunk is one statement joining the rows on their primary
    key: on PostgreSQL ``FROM unnest(<one array per column>)``
    (a short, constant statement whatever the chunk size), elsewhere ``FROM
    (VALUES ...)`` (SQLite 3.33+). Values go through each field's
    ``get_db_prep_save`` (JSON as ``save()`` would write it). On PostgreSQL
    each array has its column's type, except that text columns take ``text[]``
    (a cast to ``varchar(n)`` would cut an overlong value, the column refuses
    it) and JSON columns take their JSON as text, cast to ``jsonb``.
    """
    connection = connections[using]
    quote = connection.ops.quote_name
    columns: list[Any] = [model._meta.get_field(name) for name in fields]
    table = quote(model._meta.db_table)
    key = quote(model._meta.pk.column)  # type: ignore[arg-type]  # a primary key has a column
    # Both models name their application in this column (sessions_app.0013 for actions).
    within = f"{table}.{quote('application_id')} = %s"
    postgres = connection.vendor == "postgresql"
    arrays = [_array_type(field, connection) for field in columns]
    assignments = ", ".join(
        f"{quote(field.column)} = v.c{index}{arrays[index][1] if postgres else ''}"
        for index, field in enumerate(columns)
    )
    names = ["pk", *(f"c{index}" for index in range(len(columns)))]
    for start in range(0, len(rows), UPDATE_CHUNK):
        chunk = rows[start : start + UPDATE_CHUNK]
        prepared = [
            [_prepared(field, values[field.name], connection) for field in columns]
            for _, values in chunk
        ]
        if postgres:
            typed = ", ".join(["%s::bigint[]", *(f"%s::{array}" for array, _ in arrays)])
            params: list[Any] = [[pk for pk, _ in chunk]]
            params += [[row[index] for row in prepared] for index in range(len(columns))]
            source = f"unnest({typed}) AS v({', '.join(names)})"
            # Names are quoted model metadata, values are bound parameters.
            sql = f"UPDATE {table} SET {assignments} FROM {source} WHERE {table}.{key} = v.pk AND {within}"  # noqa: S608, E501
        else:
            params = [
                value for (pk, _), row in zip(chunk, prepared, strict=True) for value in (pk, *row)
            ]
            values = ", ".join(["(" + ", ".join(["%s"] * len(names)) + ")"] * len(chunk))
            sql = (
                f"WITH v({', '.join(names)}) AS (VALUES {values}) "  # noqa: S608 (as above)
                f"UPDATE {table} SET {assignments} FROM v WHERE {table}.{key} = v.pk AND {within}"
            )
        params.append(application_id)
        with connection.cursor() as cursor:
            cursor.execute(sql, params)  # names quoted, values bound


def _array_type(field: Any, connection: BaseDatabaseWrapper) -> tuple[str, str]:
    """The PostgreSQL array type a column's values are passed as, and the cast they get."""
    internal = field.get_internal_type()
    if internal == "JSONField":
        return "text[]", "::jsonb"
    if internal in ("CharField", "TextField"):
        return "text[]", ""
    return f"{field.db_type(connection)}[]", ""


def _prepared(field: Any, value: Any, connection: BaseDatabaseWrapper) -> Any:
    # None is SQL NULL, as ``save()`` writes it to a nullable JSON column.
    if field.get_internal_type() == "JSONField" and value is not None:
        return json.dumps(value, cls=field.encoder)
    return field.get_db_prep_save(value, connection)
