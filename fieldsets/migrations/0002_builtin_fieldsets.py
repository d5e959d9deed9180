"""Seed the built-in fieldset(s) and their reveal permission on Application.

Self-contained on purpose (historical models, literal definitions): a
migration must not change when application code changes later.
"""

from django.db import migrations

BUILTINS = {
    "builtin-sensitive-user-events-and-sessions": (
        "Who the user is and where they are: user tag, client IP and coordinates.",
        ["user_tag", "client_ip", "geo_latitude", "geo_longitude"],
    ),
}


def seed(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    Fieldset = apps.get_model("fieldsets", "Fieldset")
    content_type, _ = ContentType.objects.get_or_create(app_label="sessions_app", model="application")
    for name, (description, fields) in BUILTINS.items():
        permission, _ = Permission.objects.get_or_create(
            content_type=content_type,
            codename=f"reveal_{name}",
            defaults={"name": f"Can reveal fieldset {name}"},
        )
        Fieldset.objects.get_or_create(
            name=name,
            defaults={
                "description": description,
                "fields": fields,
                "builtin": True,
                "permission": permission,
            },
        )


def unseed(apps, schema_editor):
    Fieldset = apps.get_model("fieldsets", "Fieldset")
    Permission = apps.get_model("auth", "Permission")
    for name in BUILTINS:
        Fieldset.objects.filter(name=name, builtin=True).delete()
        Permission.objects.filter(
            content_type__app_label="sessions_app", codename=f"reveal_{name}"
        ).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("fieldsets", "0001_initial"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("sessions_app", "0001_initial"),
    ]

    operations = [migrations.RunPython(seed, unseed)]
