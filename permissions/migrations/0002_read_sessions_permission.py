"""Create ``sessions_app.read_sessions`` (record access) on Application.

The permission belongs to Application's content type so django-guardian can
store it as an object permission on applications; Application's own Meta is
not extended because the grant model belongs to this app.
"""

from django.db import migrations


def create(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    content_type, _ = ContentType.objects.get_or_create(app_label="sessions_app", model="application")
    Permission.objects.get_or_create(
        content_type=content_type, codename="read_sessions", defaults={"name": "Can read sessions"}
    )


def remove(apps, schema_editor):
    Permission = apps.get_model("auth", "Permission")
    Permission.objects.filter(
        content_type__app_label="sessions_app", codename="read_sessions"
    ).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("permissions", "0001_initial"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create, remove)]
