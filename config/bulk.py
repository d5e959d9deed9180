"""Inserting many rows of one model: ``COPY`` on PostgreSQL, ``bulk_create`` elsewhere.

Ingest writes each batch's actions (``sessions_app.services``) and log records
(``logs.services``) with ``bulk_insert``. Django's ``bulk_create`` builds one
``INSERT`` with a parameter per value; PostgreSQL's ``COPY`` (psycopg 3's
``Cursor.copy``) streams the rows instead. Against an unmasked ORM
``bulk_create`` of the same rows on PostgreSQL, the whole pipeline went from
0.68 to 0.79-0.81 for sessions (``bench/ingest.py``) and from 0.59 to 0.93 for
OTLP log records (``bench/logs.py``) with it (``bench/README.md``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import connections, models


def bulk_insert(
    model: type[models.Model], rows: Sequence[models.Model], *, using: str = "default"
) -> None:
    """Insert ``rows`` of ``model`` in the current transaction; their ids are not read back.

    Values go through each field's ``get_db_prep_save``, as in ``bulk_create``;
    the ids come from the table's sequence. Callers that need the new ids use
    ``bulk_create``.
    """
    connection = connections[using]
    if connection.vendor != "postgresql" or not rows:
        model._default_manager.using(using).bulk_create(rows)
        return
    fields = [
        (f, f.column)
        for f in model._meta.concrete_fields
        if not f.primary_key and f.column is not None
    ]
    quote = connection.ops.quote_name
    columns = ", ".join(quote(column) for _, column in fields)
    statement = f"COPY {quote(model._meta.db_table)} ({columns}) FROM STDIN"
    with connection.cursor() as cursor, cursor.cursor.copy(statement) as copy:
        for row in rows:
            values: list[Any] = [
                f.get_db_prep_save(getattr(row, f.attname), connection) for f, _ in fields
            ]
            copy.write_row(values)
