"""Browser agent settings: a public beacon key per application, allowed origins,
"mask user actions" and opt-in mode (docs/browser-agent.md).

Existing applications get a fresh beacon key each and no allowed origin, so no
browser can send beacons until an operator lists its origins.
"""

import secrets

from django.db import migrations, models

import sessions_app.models


def give_each_application_a_beacon_key(apps, schema_editor):
    # A frozen copy of sessions_app.applications.new_beacon_key: a migration
    # must not change when that function does.
    Application = apps.get_model("sessions_app", "Application")
    for application in Application.objects.using(schema_editor.connection.alias).only("pk"):
        application.beacon_key = "rvpub_" + secrets.token_urlsafe(18)
        application.save(update_fields=["beacon_key"])


class Migration(migrations.Migration):
    dependencies = [("sessions_app", "0007_usersession_masked_personal")]

    operations = [
        migrations.AddField(
            model_name="application",
            name="beacon_key",
            field=models.CharField(editable=False, max_length=64, null=True),
        ),
        migrations.RunPython(
            give_each_application_a_beacon_key, migrations.RunPython.noop, elidable=False
        ),
        migrations.AlterField(
            model_name="application",
            name="beacon_key",
            field=models.CharField(editable=False, max_length=64, unique=True),
        ),
        migrations.AddField(
            model_name="application",
            name="allowed_origins",
            field=models.JSONField(
                blank=True,
                default=list,
                validators=[sessions_app.models.validate_allowed_origins],
            ),
        ),
        migrations.AddField(
            model_name="application",
            name="mask_user_actions",
            field=models.BooleanField(default=False),
        ),
        migrations.AddField(
            model_name="application",
            name="opt_in_required",
            field=models.BooleanField(default=False),
        ),
    ]
