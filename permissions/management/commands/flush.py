"""Django's ``flush``, able to empty the append-only audit table on SQLite too.

On PostgreSQL ``flush`` truncates, which the audit trigger (migration 0003)
lets through. On SQLite ``flush`` deletes rows, which the audit trigger
(migration 0005) refuses unless ``permissions_audit_purge`` holds a row: this
command writes that row in the same transaction as the flush and removes it
before committing, so the guard is never left down. Django's test cases call
``flush`` by name, so they get this command too.
"""

from __future__ import annotations

from typing import Any

from django.core.management.commands import flush
from django.db import connections, transaction

PURGE_TABLE = "permissions_audit_purge"


class Command(flush.Command):
    def handle(self, **options: Any) -> None:
        database = options["database"]
        connection = connections[database]
        if (
            connection.vendor != "sqlite"
            or PURGE_TABLE not in connection.introspection.table_names()
        ):
            super().handle(**options)
            return
        table = connection.ops.quote_name(PURGE_TABLE)
        with transaction.atomic(using=database):
            with connection.cursor() as cursor:
                cursor.execute(f"INSERT INTO {table} (purging) VALUES (1)")  # noqa: S608
            super().handle(**options)
            with connection.cursor() as cursor:
                cursor.execute(f"DELETE FROM {table}")  # noqa: S608
