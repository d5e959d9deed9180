"""Audit records name the log records a response revealed (``log_ids``).

SQLite rebuilds the table for this AddField (a callable default), which drops
the append-only triggers of 0005: they are created again here (idempotent).
"""

from importlib import import_module

from django.db import migrations, models

_guard = import_module("permissions.migrations.0005_audit_append_only_trigger_sqlite")


class Migration(migrations.Migration):

    dependencies = [
        ("permissions", "0007_auditrecord_rules_and_remask"),
    ]

    operations = [
        migrations.AddField(
            model_name="auditrecord",
            name="log_ids",
            field=models.JSONField(default=list, editable=False),
        ),
        migrations.RunPython(_guard.create_trigger, migrations.RunPython.noop),
    ]
