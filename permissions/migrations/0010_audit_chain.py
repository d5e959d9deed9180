"""The audit trail becomes a hash chain; per-subject keys; kinds for grants, requests, keys.

Order matters on both databases:

1. the append-only guards stand down (SQLite: the triggers are dropped, the
   table is rebuilt below anyway; PostgreSQL: the trigger is disabled inside
   this migration's transaction);
2. the chain columns are added and every existing record is chained in
   ``created_at, id`` order, sealed under the current ``RUMVAULT_AUDIT_KEYS``
   key, and the sealed head is written;
3. ``seq`` becomes unique and required;
4. the guards come back, as the *last* operation, because SQLite rebuilds the
   table (dropping its triggers) for every ``AlterField``. PostgreSQL's
   trigger function now lets a ``DELETE`` through while the
   transaction-local setting ``rumvault.audit_purge`` is on, which only
   ``permissions.chain.chain_purge`` sets (behind a sealed checkpoint, so the
   verifier still tells a purge from a deletion); ``UPDATE`` stays refused.

On PostgreSQL, GIN indexes on ``applications`` and ``session_ids`` serve the
console's filters and "who looked at this customer?".
"""

import importlib

import django.utils.timezone

from django.conf import settings
from django.db import migrations, models

from privacy import audit_chain

sqlite_guard = importlib.import_module("permissions.migrations.0005_audit_append_only_trigger_sqlite")

PG_TABLE = "permissions_auditrecord"
PG_TRIGGER = "permissions_auditrecord_append_only"
PG_FUNCTION_PURGEABLE = """
CREATE OR REPLACE FUNCTION rumvault_audit_append_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' AND current_setting('rumvault.audit_purge', true) = 'on' THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'audit records are append-only' USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
"""
PG_FUNCTION_STRICT = """
CREATE OR REPLACE FUNCTION rumvault_audit_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit records are append-only' USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
"""
PG_INDEXES = [
    f"CREATE INDEX IF NOT EXISTS audit_applications_gin ON {PG_TABLE} "
    "USING gin (applications jsonb_path_ops)",
    f"CREATE INDEX IF NOT EXISTS audit_session_ids_gin ON {PG_TABLE} "
    "USING gin (session_ids jsonb_path_ops)",
]
PG_DROP_INDEXES = [
    "DROP INDEX IF EXISTS audit_applications_gin",
    "DROP INDEX IF EXISTS audit_session_ids_gin",
]
UNCHAINED = {"id", "hash", "seal"}
CHAIN_COLUMNS = ["seq", "prev_hash", "hash", "seal"]


def guards_down(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        for statement in sqlite_guard.DROP[:2]:  # the triggers; the purge table stays
            schema_editor.execute(statement)
    elif vendor == "postgresql":
        schema_editor.execute(f"ALTER TABLE {PG_TABLE} DISABLE TRIGGER {PG_TRIGGER}")


def guards_up(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        for statement in sqlite_guard.CREATE:
            schema_editor.execute(statement)
    elif vendor == "postgresql":
        schema_editor.execute(PG_FUNCTION_PURGEABLE)
        schema_editor.execute(f"ALTER TABLE {PG_TABLE} ENABLE TRIGGER {PG_TRIGGER}")
        for statement in PG_INDEXES:
            schema_editor.execute(statement)


def guards_up_reverse(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        for statement in PG_DROP_INDEXES:
            schema_editor.execute(statement)
        schema_editor.execute(PG_FUNCTION_STRICT)
        schema_editor.execute(f"ALTER TABLE {PG_TABLE} DISABLE TRIGGER {PG_TRIGGER}")
    elif vendor == "sqlite":
        for statement in sqlite_guard.DROP[:2]:
            schema_editor.execute(statement)


def guards_down_reverse(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        for statement in sqlite_guard.CREATE:
            schema_editor.execute(statement)
    elif vendor == "postgresql":
        schema_editor.execute(f"ALTER TABLE {PG_TABLE} ENABLE TRIGGER {PG_TRIGGER}")


def chain_existing_records(apps, schema_editor):
    """Chain every stored record, oldest first, exactly as ``permissions.chain`` would."""
    record_model = apps.get_model("permissions", "AuditRecord")
    head_model = apps.get_model("permissions", "AuditChainHead")
    using = schema_editor.connection.alias
    keyring = settings.RUMVAULT_AUDIT_KEYS
    names = [f.attname for f in record_model._meta.concrete_fields if f.attname not in UNCHAINED]
    seq, previous = 0, audit_chain.GENESIS
    batch = []
    records = record_model._base_manager.using(using).order_by("created_at", "id")
    for record in records.iterator(chunk_size=2000):
        seq += 1
        record.seq, record.prev_hash = seq, previous
        record.hash = audit_chain.link_hash({name: getattr(record, name) for name in names})
        record.seal = audit_chain.seal(record.hash, purpose=audit_chain.RECORD, keyring=keyring)
        previous = record.hash
        batch.append(record)
        if len(batch) == 2000:
            record_model._base_manager.using(using).bulk_update(batch, CHAIN_COLUMNS)
            batch = []
    if batch:
        record_model._base_manager.using(using).bulk_update(batch, CHAIN_COLUMNS)
    head_model._base_manager.using(using).create(
        pk=1,
        seq=seq,
        hash=previous,
        seal=audit_chain.seal(
            audit_chain.position(seq, previous), purpose=audit_chain.HEAD, keyring=keyring
        ),
    )


def unchain(apps, schema_editor):
    apps.get_model("permissions", "AuditChainHead")._base_manager.all().delete()


KINDS = [
    ("reveal", "Revealed fieldset values"),
    ("search", "User-tag search"),
    ("export", "Export that revealed fieldset values"),
    ("settings_change", "Changed an application's privacy settings"),
    ("grant_change", "Changed a grant, permission or group membership"),
    ("fieldset_change", "Created, changed or deleted a fieldset"),
    ("rules_change", "Changed masking rules"),
    ("remask", "Re-masked stored data"),
    ("request_create", "Created a data-subject request"),
    ("request_approve", "Approved a data-subject request"),
    ("request_run", "Ran a data-subject request"),
    ("key_rotation", "Rotated a keyring"),
    ("retention", "Purged data past its retention"),
]


class Migration(migrations.Migration):
    dependencies = [("permissions", "0009_reveal_reason_partial_grants")]

    operations = [
        migrations.RunPython(guards_down, guards_down_reverse),
        migrations.CreateModel(
            name="AuditChainHead",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("seq", models.BigIntegerField()),
                ("hash", models.CharField(max_length=64)),
                ("seal", models.CharField(max_length=80)),
                ("updated_at", models.DateTimeField(default=django.utils.timezone.now)),
            ],
            options={"verbose_name": "audit chain head"},
        ),
        migrations.CreateModel(
            name="AuditCheckpoint",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("seq", models.BigIntegerField(db_index=True)),
                ("hash", models.CharField(max_length=64)),
                ("reason", models.CharField(max_length=32)),
                ("detail", models.JSONField(default=dict)),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("seal", models.CharField(max_length=80)),
            ],
            options={"ordering": ["seq", "id"]},
        ),
        migrations.CreateModel(
            name="AuditSubject",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("lookup", models.CharField(max_length=80, unique=True)),
                ("key", models.CharField(max_length=64)),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("last_used_on", models.DateField(default=django.utils.timezone.localdate)),
            ],
        ),
        migrations.AddField(
            model_name="auditrecord",
            name="seq",
            field=models.BigIntegerField(editable=False, null=True),
        ),
        migrations.AddField(
            model_name="auditrecord",
            name="prev_hash",
            field=models.CharField(default="", editable=False, max_length=64),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="auditrecord",
            name="hash",
            field=models.CharField(default="", editable=False, max_length=64),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="auditrecord",
            name="seal",
            field=models.CharField(default="", editable=False, max_length=80),
            preserve_default=False,
        ),
        migrations.RunPython(chain_existing_records, unchain),
        migrations.AlterField(
            model_name="auditrecord",
            name="seq",
            field=models.BigIntegerField(editable=False, unique=True),
        ),
        migrations.AlterField(
            model_name="auditrecord",
            name="search_tag_hash",
            field=models.CharField(blank=True, db_index=True, editable=False, max_length=80, null=True),
        ),
        migrations.RemoveConstraint(model_name="auditrecord", name="auditrecord_kind_valid"),
        migrations.AlterField(
            model_name="auditrecord",
            name="kind",
            field=models.CharField(choices=KINDS, editable=False, max_length=16),
        ),
        migrations.AddConstraint(
            model_name="auditrecord",
            constraint=models.CheckConstraint(
                condition=models.Q(("kind__in", [kind for kind, _ in KINDS])),
                name="auditrecord_kind_valid",
            ),
        ),
        migrations.AddIndex(
            model_name="auditrecord",
            index=models.Index(fields=["username", "-created_at"], name="audit_username"),
        ),
        migrations.AddIndex(
            model_name="auditrecord",
            index=models.Index(fields=["kind", "-created_at"], name="audit_kind"),
        ),
        # Last: SQLite rebuilt the table (and dropped any trigger) in the steps above.
        migrations.RunPython(guards_up, guards_up_reverse),
    ]
