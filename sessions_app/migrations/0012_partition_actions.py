"""PostgreSQL: the actions table becomes partitioned by month on ``partition_time``.

Rows move into their month's partition (``maintenance.partitions.partition_table``);
the primary key becomes ``(id, partition_time)`` and the unique ``(session, seq)``
``(session, seq, partition_time)`` in the database (one value per session, so as
strict); Django's state is unchanged. Nothing happens on SQLite.
"""

from django.conf import settings
from django.db import migrations, models
from django.utils import timezone

from maintenance.partitions import ACTIONS, partition_table, unpartition_table


def partition(apps, schema_editor):
    partition_table(
        schema_editor.connection,
        ACTIONS,
        now=timezone.now(),
        months_ahead=settings.RUMVAULT_PARTITION_MONTHS_AHEAD,
    )


def unpartition(apps, schema_editor):
    unpartition_table(schema_editor.connection, ACTIONS)


class Migration(migrations.Migration):

    dependencies = [
        ('sessions_app', '0011_useraction_partition_time'),
    ]

    operations = [
        migrations.AlterField(
            model_name='useraction',
            name='partition_time',
            field=models.DateTimeField(editable=False),
        ),
        migrations.RunPython(partition, unpartition),
    ]
