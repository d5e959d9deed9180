"""Audit records carry a reveal's reason and partial reveals; reveal windows.

On SQLite, adding ``partial_fieldsets`` (a column with a default) rebuilds the
audit table, which drops the append-only triggers of 0005 with the old table:
they are created again here, by 0005's own statements (idempotent).
"""

import importlib

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


_append_only = importlib.import_module(
    "permissions.migrations.0005_audit_append_only_trigger_sqlite"
)


class Migration(migrations.Migration):

    dependencies = [
        ('permissions', '0008_auditrecord_log_ids'),
        ('sessions_app', '0009_application_reveal_requires_reason'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='auditrecord',
            name='partial_fieldsets',
            field=models.JSONField(default=list, editable=False),
        ),
        migrations.AddField(
            model_name='auditrecord',
            name='reason',
            field=models.TextField(blank=True, editable=False, null=True),
        ),
        migrations.CreateModel(
            name='RevealWindow',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('session_pk', models.BigIntegerField(editable=False)),
                ('reason', models.CharField(editable=False, max_length=500)),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now, editable=False)),
                ('expires_at', models.DateTimeField(editable=False)),
                ('application', models.ForeignKey(editable=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='sessions_app.application')),
                ('user', models.ForeignKey(editable=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'ordering': ['-created_at', '-id'],
                'indexes': [models.Index(fields=['user', 'expires_at'], name='reveal_window_user_open')],
            },
        ),
        # After every change of the audit table: the guard is back in place.
        migrations.RunPython(_append_only.create_trigger, migrations.RunPython.noop),
    ]
