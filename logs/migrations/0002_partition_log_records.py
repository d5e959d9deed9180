"""PostgreSQL: the log records table becomes partitioned by month on ``time``.

Rows move into their month's partition (``maintenance.partitions.partition_table``);
the primary key becomes ``(id, time)`` in the database; Django's state is
unchanged. Nothing happens on SQLite.
"""

from django.conf import settings
from django.db import migrations
from django.utils import timezone

from maintenance.partitions import LOG_RECORDS, partition_table, unpartition_table


def partition(apps, schema_editor):
    partition_table(
        schema_editor.connection,
        LOG_RECORDS,
        now=timezone.now(),
        months_ahead=settings.RUMVAULT_PARTITION_MONTHS_AHEAD,
    )


def unpartition(apps, schema_editor):
    unpartition_table(schema_editor.connection, LOG_RECORDS)


class Migration(migrations.Migration):

    dependencies = [
        ('logs', '0001_initial'),
    ]

    operations = [migrations.RunPython(partition, unpartition)]
