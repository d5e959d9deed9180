"""A daily django-q2 schedule for the retention job (``maintenance.jobs``).

Made once; an operator may change its time or switch it off in the admin
("Scheduled tasks"), and a later migrate leaves that alone.
"""

from django.db import migrations

NAME = "rumvault: daily retention"


def create_schedule(apps, schema_editor):
    schedule = apps.get_model("django_q", "Schedule")
    schedule.objects.using(schema_editor.connection.alias).get_or_create(
        name=NAME,
        defaults={
            "func": "maintenance.jobs.retention_daily",
            "schedule_type": "D",
            "repeats": -1,
        },
    )


def remove_schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("maintenance", "0001_initial"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [migrations.RunPython(create_schedule, remove_schedule)]
