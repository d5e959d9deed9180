"""On SQLite too, the database itself refuses UPDATE and DELETE of audit records.

Mirrors 0003 (PostgreSQL). Statements are idempotent (IF NOT EXISTS): a migration
test that drops model tables without reversing migrations leaves the side table. There, TRUNCATE is no row event, so an operator
and the test suite's ``flush`` can still empty the table on purpose; SQLite
has no TRUNCATE (``flush`` runs ``DELETE FROM``), so the delete trigger
stands down only while ``permissions_audit_purge`` holds a row. Only
``permissions``' own ``flush`` command writes that row, inside the flush's
transaction, and removes it again: a stray ``DELETE`` or ``UPDATE`` (raw SQL,
``dbshell``, another program) is refused with "audit records are
append-only". Like TRUNCATE on PostgreSQL, emptying the table stays possible
for whoever can write the schema; refusing that is the database role's job.

SQLite rebuilds a table (and drops its triggers) when a later migration
alters it in ways ALTER TABLE cannot; this migration therefore runs after
0004, and a test checks that the guard is in place after all migrations.
"""

from django.db import migrations

CREATE = [
    "CREATE TABLE IF NOT EXISTS permissions_audit_purge (purging integer NOT NULL)",
    """
    CREATE TRIGGER IF NOT EXISTS permissions_auditrecord_no_update
    BEFORE UPDATE ON permissions_auditrecord
    BEGIN
        SELECT RAISE(ABORT, 'audit records are append-only');
    END
    """,
    """
    CREATE TRIGGER IF NOT EXISTS permissions_auditrecord_no_delete
    BEFORE DELETE ON permissions_auditrecord
    WHEN NOT EXISTS (SELECT 1 FROM permissions_audit_purge)
    BEGIN
        SELECT RAISE(ABORT, 'audit records are append-only');
    END
    """,
]
DROP = [
    "DROP TRIGGER IF EXISTS permissions_auditrecord_no_delete",
    "DROP TRIGGER IF EXISTS permissions_auditrecord_no_update",
    "DROP TABLE IF EXISTS permissions_audit_purge",
]


def create_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        for statement in CREATE:
            schema_editor.execute(statement)


def drop_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        for statement in DROP:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("permissions", "0004_auditrecord_settings_change")]

    operations = [migrations.RunPython(create_trigger, drop_trigger)]
