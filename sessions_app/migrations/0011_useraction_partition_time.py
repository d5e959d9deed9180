"""Every action gets ``partition_time``, the key of its monthly partition on PostgreSQL.

Stored actions get their session's ``started_at`` (``models.partition_times``).
"""

from django.db import migrations, models

BACKFILL = """
UPDATE sessions_app_useraction SET partition_time = (
    SELECT s.started_at FROM sessions_app_usersession s
    WHERE s.id = sessions_app_useraction.session_id
) WHERE partition_time IS NULL
"""


class Migration(migrations.Migration):

    dependencies = [
        ('sessions_app', '0010_list_indexes'),
    ]

    operations = [
        migrations.AddField(
            model_name='useraction',
            name='partition_time',
            field=models.DateTimeField(editable=False, null=True),
        ),
        migrations.RunSQL(BACKFILL, migrations.RunSQL.noop),
    ]
