"""A daily django-q2 schedule that creates the monthly partitions ahead of time.

``maintenance.partitions.partitions_daily`` (on SQLite it does nothing). Made
once; an operator may change or switch it off in the admin ("Scheduled tasks").
"""

from django.db import migrations

NAME = "rumvault: monthly partitions ahead"


def create_schedule(apps, schema_editor):
    schedule = apps.get_model("django_q", "Schedule")
    schedule.objects.using(schema_editor.connection.alias).get_or_create(
        name=NAME,
        defaults={
            "func": "maintenance.partitions.partitions_daily",
            "schedule_type": "D",
            "repeats": -1,
        },
    )


def remove_schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("maintenance", "0002_retention_schedule"),
    ]

    operations = [migrations.RunPython(create_schedule, remove_schedule)]
