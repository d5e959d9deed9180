"""Seed the built-in fieldset(s) and their reveal permission on Application.

Self-contained on purpose (historical models, literal definitions): a
migration must not change when application code changes later.
"""

from django.db import migrations

from fieldsets.migrations._builtins import seed_builtins, unseed_builtins

BUILTINS = {
    "builtin-sensitive-user-events-and-sessions": (
        "Who the user is and where they are: user tag, client IP and coordinates.",
        ["user_tag", "client_ip", "geo_latitude", "geo_longitude"],
    ),
}


def seed(apps, schema_editor):
    seed_builtins(apps, BUILTINS)


def unseed(apps, schema_editor):
    unseed_builtins(apps, BUILTINS)


class Migration(migrations.Migration):
    dependencies = [
        ("fieldsets", "0001_initial"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("sessions_app", "0001_initial"),
    ]

    operations = [migrations.RunPython(seed, unseed)]
