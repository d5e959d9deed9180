"""Seeding of built-in fieldsets, shared by the migrations that add them (historical models)."""


def seed_builtins(apps, builtins):
    """Create the given built-in fieldsets (name -> (description, fields)) and permissions."""
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    Fieldset = apps.get_model("fieldsets", "Fieldset")
    content_type, _ = ContentType.objects.get_or_create(app_label="sessions_app", model="application")
    for name, (description, fields) in builtins.items():
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


def unseed_builtins(apps, builtins):
    Fieldset = apps.get_model("fieldsets", "Fieldset")
    Permission = apps.get_model("auth", "Permission")
    for name in builtins:
        Fieldset.objects.filter(name=name, builtin=True).delete()
        Permission.objects.filter(
            content_type__app_label="sessions_app", codename=f"reveal_{name}"
        ).delete()
