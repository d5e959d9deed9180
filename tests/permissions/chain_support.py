"""Helpers for audit-chain tests: records to chain, and tampering past the database guards."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.core.management import call_command
from django.db import connection

from permissions.audit import Actor, audit_reveal
from permissions.models import AuditRecord
from permissions.policy import Disclosure

TABLE = AuditRecord._meta.db_table
PG_TRIGGER = "permissions_auditrecord_append_only"
_sqlite_guard = importlib.import_module(
    "permissions.migrations.0005_audit_append_only_trigger_sqlite"
)


def write_records(count: int, *, start: int = 0) -> list[AuditRecord]:
    records = []
    for number in range(start, start + count):
        record = audit_reveal(
            actor=Actor(username=f"user{number}", path=f"/api/v1/sessions/{number}/", method="GET"),
            disclosure=Disclosure(session_ids=[number], applications={"shop"}, fieldsets={"f"}),
        )
        assert record is not None
        records.append(record)
    return records


@contextmanager
def guards_lifted() -> Iterator[None]:
    """What a database owner can do: switch the append-only triggers off, then on again."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                f"ALTER TABLE {TABLE} DISABLE TRIGGER permissions_auditrecord_append_only"
            )
        else:
            for statement in _sqlite_guard.DROP[:2]:
                cursor.execute(statement)
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute(f"ALTER TABLE {TABLE} ENABLE TRIGGER {PG_TRIGGER}")
            else:
                for statement in _sqlite_guard.CREATE:
                    cursor.execute(statement)


def raw(sql: str, params: list[Any] | None = None) -> None:
    with guards_lifted(), connection.cursor() as cursor:
        cursor.execute(sql, params or [])


def verify_exit_code() -> int:
    try:
        call_command("verify_audit", stdout=_Sink(), stderr=_Sink())
    except SystemExit as exit_:
        return int(exit_.code or 0)
    return 0


class _Sink:
    def __init__(self) -> None:
        self.text = ""

    def write(self, text: str) -> None:
        self.text += text

    def flush(self) -> None:
        pass
