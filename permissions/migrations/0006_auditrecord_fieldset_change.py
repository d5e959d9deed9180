"""Audit records of fieldset changes (kind ``fieldset_change``).

On SQLite, changing the kind's check constraint rebuilds the audit table,
which drops the append-only triggers of 0005 with the old table: they are
created again here, by 0005's own statements (idempotent).
"""

import importlib

from django.db import migrations, models

_append_only = importlib.import_module(
    "permissions.migrations.0005_audit_append_only_trigger_sqlite"
)


class Migration(migrations.Migration):

    dependencies = [
        ('permissions', '0005_audit_append_only_trigger_sqlite'),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name='auditrecord',
            name='auditrecord_kind_valid',
        ),
        migrations.AlterField(
            model_name='auditrecord',
            name='kind',
            field=models.CharField(choices=[('reveal', 'Revealed fieldset values'), ('search', 'User-tag search'), ('export', 'Export (CSV) that revealed fieldset values'), ('settings_change', "Changed an application's privacy settings"), ('fieldset_change', 'Created, changed or deleted a fieldset')], editable=False, max_length=16),
        ),
        migrations.AddConstraint(
            model_name='auditrecord',
            constraint=models.CheckConstraint(condition=models.Q(('kind__in', ['reveal', 'search', 'export', 'settings_change', 'fieldset_change'])), name='auditrecord_kind_valid'),
        ),
        # After every change of the audit table: the guard is back in place.
        migrations.RunPython(_append_only.create_trigger, migrations.RunPython.noop),
    ]
