"""On PostgreSQL, the database itself refuses UPDATE and DELETE of audit records.

The model and querysets already refuse them; the trigger also stops raw SQL
and a compromised or careless application role. TRUNCATE is not a row event,
so an operator (and the test suite's flush) can still empty the table on
purpose. SQLite has no equivalent that leaves the test flush working, so
there the application-level guard stands alone.
"""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION rumvault_audit_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit records are append-only' USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER permissions_auditrecord_append_only
    BEFORE UPDATE OR DELETE ON permissions_auditrecord
    FOR EACH ROW EXECUTE FUNCTION rumvault_audit_append_only();
"""
DROP = """
DROP TRIGGER IF EXISTS permissions_auditrecord_append_only ON permissions_auditrecord;
DROP FUNCTION IF EXISTS rumvault_audit_append_only();
"""


def create_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def drop_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("permissions", "0002_read_sessions_permission")]

    operations = [migrations.RunPython(create_trigger, drop_trigger)]
