"""Every action names its application: the distribution column of a sharded deployment.

``application`` is the session's, copied onto each stored action (one
``UPDATE``, on SQLite and on PostgreSQL's partitioned table alike), then made
NOT NULL. The unique ``(session, seq)`` becomes ``(application, session, seq)``
and the trace-id index ``(application, trace_id)``: every read of actions names
the application (``docs/scaling.md``, "Routable by application"). On a
partitioned table (PostgreSQL, ``sessions_app.0012``) the unique constraint holds
the partition key as well, as ``maintenance.partitions`` makes it.

The backfill rewrites every action once, in the migration's transaction: plan
for it as for ``sessions_app.0012``.
"""

import django.db.models.deletion
from django.db import migrations, models

from maintenance.partitions import ACTIONS, is_partitioned

BACKFILL = """
UPDATE sessions_app_useraction SET application_id = (
    SELECT s.application_id FROM sessions_app_usersession s
    WHERE s.id = sessions_app_useraction.session_id
) WHERE application_id IS NULL
"""

OLD_UNIQUE = models.UniqueConstraint(
    fields=("session", "seq"), name="action_seq_unique_per_session"
)
NEW_UNIQUE = models.UniqueConstraint(
    fields=("application", "session", "seq"), name="action_seq_unique_per_session"
)


def _swap_unique(apps, schema_editor, *, old, new):
    """Replace the unique constraint; on a partitioned table with the partition key."""
    model = apps.get_model("sessions_app", "UserAction")
    connection = schema_editor.connection
    if not is_partitioned(connection, ACTIONS):
        schema_editor.remove_constraint(model, old)
        schema_editor.add_constraint(model, new)
        return
    quote = schema_editor.quote_name
    columns = [model._meta.get_field(name).column for name in new.fields] + [ACTIONS.key]
    schema_editor.execute(
        f"ALTER TABLE {quote(ACTIONS.table)} DROP CONSTRAINT {quote(old.name)}"
    )
    schema_editor.execute(
        f"ALTER TABLE {quote(ACTIONS.table)} ADD CONSTRAINT {quote(new.name)}"
        f" UNIQUE ({', '.join(quote(column) for column in columns)})"
    )


def forwards(apps, schema_editor):
    _swap_unique(apps, schema_editor, old=OLD_UNIQUE, new=NEW_UNIQUE)


def backwards(apps, schema_editor):
    _swap_unique(apps, schema_editor, old=NEW_UNIQUE, new=OLD_UNIQUE)


class Migration(migrations.Migration):

    dependencies = [
        ('sessions_app', '0012_partition_actions'),
    ]

    operations = [
        migrations.AddField(
            model_name='useraction',
            name='application',
            field=models.ForeignKey(db_index=False, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='actions', to='sessions_app.application'),
        ),
        migrations.RunSQL(BACKFILL, migrations.RunSQL.noop),
        migrations.AlterField(
            model_name='useraction',
            name='application',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='actions', to='sessions_app.application'),
        ),
        # A session's delete removes its actions within the application itself
        # (UserSessionQuerySet.delete); nothing changes in the database.
        migrations.AlterField(
            model_name='useraction',
            name='session',
            field=models.ForeignKey(on_delete=django.db.models.deletion.DO_NOTHING, related_name='actions', to='sessions_app.usersession'),
        ),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveConstraint(
                    model_name='useraction',
                    name='action_seq_unique_per_session',
                ),
                migrations.AddConstraint(model_name='useraction', constraint=NEW_UNIQUE),
            ],
            database_operations=[migrations.RunPython(forwards, backwards)],
        ),
        migrations.RemoveIndex(
            model_name='useraction',
            name='action_trace',
        ),
        migrations.AddIndex(
            model_name='useraction',
            index=models.Index(condition=models.Q(('trace_id__isnull', False)), fields=['application', 'trace_id'], name='action_app_trace'),
        ),
    ]
