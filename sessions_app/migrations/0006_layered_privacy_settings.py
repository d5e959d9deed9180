"""Layered privacy settings: an application stores overrides, NULL inherits the default.

Each setting's old column becomes ``<name>_override``. A stored value equal to
the built-in default (``privacy.defaults``, the documented defaults every
application was created with) becomes NULL, so the application inherits the
environment default from now on; any other value is kept as an override, so
no application's effective settings change on upgrade unless its operator
sets a different environment default. Reversible: going back writes the
effective values (under the built-in defaults) into the old columns.
"""

import django.core.validators
import sessions_app.models
from django.db import migrations, models



# The built-in defaults at the time of this migration (not imported: a
# migration must not change when the code does).
BUILT_IN_DEFAULTS = {
    "ip_masking": "all",
    "mask_personal_data_in_uris": True,
    "do_not_track": "anonymous",
    "allowed_properties": [],
    "user_tag_storage": "raw",
    "retention_days": 35,
}


def to_overrides(apps, schema_editor):
    Application = apps.get_model("sessions_app", "Application")
    for application in Application.objects.all():
        for name, default in BUILT_IN_DEFAULTS.items():
            value = getattr(application, name)
            setattr(application, f"{name}_override", None if value == default else value)
        application.save(update_fields=[f"{name}_override" for name in BUILT_IN_DEFAULTS])


def to_columns(apps, schema_editor):
    Application = apps.get_model("sessions_app", "Application")
    for application in Application.objects.all():
        for name, default in BUILT_IN_DEFAULTS.items():
            value = getattr(application, f"{name}_override")
            setattr(application, name, default if value is None else value)
        application.save(update_fields=list(BUILT_IN_DEFAULTS))


class Migration(migrations.Migration):

    dependencies = [
        ('sessions_app', '0004_action_trace_id'),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name='application',
            name='application_retention_days_range',
        ),
        migrations.RemoveConstraint(
            model_name='application',
            name='application_ip_masking_valid',
        ),
        migrations.RemoveConstraint(
            model_name='application',
            name='application_do_not_track_valid',
        ),
        migrations.RemoveConstraint(
            model_name='application',
            name='application_user_tag_storage_valid',
        ),
        migrations.AddField(
            model_name='application',
            name='allowed_properties_override',
            field=models.JSONField(blank=True, help_text='A JSON list of keys, e.g. ["loyalty_tier"]. Empty: the environment default (RUMVAULT_DEFAULT_ALLOWED_PROPERTIES).', null=True, validators=[sessions_app.models.validate_property_names], verbose_name='allowed properties'),
        ),
        migrations.AddField(
            model_name='application',
            name='do_not_track_override',
            field=models.CharField(blank=True, choices=[('anonymous', 'Keep the session, drop IP and user tag'), ('disable', 'Discard the session'), ('ignore', "Ignore the browser's request")], help_text=' Empty: the environment default (RUMVAULT_DEFAULT_DO_NOT_TRACK).', max_length=16, null=True, verbose_name='Do-Not-Track'),
        ),
        migrations.AddField(
            model_name='application',
            name='ip_masking_override',
            field=models.CharField(blank=True, choices=[('all', 'Mask all addresses'), ('public', 'Mask public addresses only'), ('off', 'Keep addresses')], help_text=' Empty: the environment default (RUMVAULT_DEFAULT_IP_MASKING).', max_length=16, null=True, verbose_name='IP masking'),
        ),
        migrations.AddField(
            model_name='application',
            name='mask_personal_data_in_uris_override',
            field=models.BooleanField(blank=True, help_text=' Empty: the environment default (RUMVAULT_DEFAULT_URI_MASKING).', null=True, verbose_name='mask personal data in URIs'),
        ),
        migrations.AddField(
            model_name='application',
            name='phone_region_override',
            field=models.CharField(blank=True, help_text='Region of national phone numbers for the phone detector (e.g. AT). Empty: the environment default (RUMVAULT_DEFAULT_PHONE_REGION).', max_length=2, null=True, validators=[sessions_app.models.validate_phone_region], verbose_name='phone region'),
        ),
        migrations.AddField(
            model_name='application',
            name='retention_days_override',
            field=models.PositiveSmallIntegerField(blank=True, help_text=' Empty: the environment default (RUMVAULT_DEFAULT_RETENTION_DAYS).', null=True, validators=[django.core.validators.MinValueValidator(1), django.core.validators.MaxValueValidator(3657)], verbose_name='retention (days)'),
        ),
        migrations.AddField(
            model_name='application',
            name='user_tag_storage_override',
            field=models.CharField(blank=True, choices=[('raw', 'Raw'), ('encrypted', 'Encrypted at rest'), ('pseudonym_only', 'Pseudonym only (tag not kept)')], help_text=' Empty: the environment default (RUMVAULT_DEFAULT_USER_TAG_STORAGE).', max_length=16, null=True, verbose_name='user-tag storage'),
        ),
        migrations.RunPython(to_overrides, to_columns),
        migrations.RemoveField(
            model_name='application',
            name='allowed_properties',
        ),
        migrations.RemoveField(
            model_name='application',
            name='do_not_track',
        ),
        migrations.RemoveField(
            model_name='application',
            name='ip_masking',
        ),
        migrations.RemoveField(
            model_name='application',
            name='mask_personal_data_in_uris',
        ),
        migrations.RemoveField(
            model_name='application',
            name='retention_days',
        ),
        migrations.RemoveField(
            model_name='application',
            name='user_tag_storage',
        ),
        migrations.AddConstraint(
            model_name='application',
            constraint=models.CheckConstraint(condition=models.Q(('retention_days_override__isnull', True), models.Q(('retention_days_override__gte', 1), ('retention_days_override__lte', 3657)), _connector='OR'), name='application_retention_days_range'),
        ),
        migrations.AddConstraint(
            model_name='application',
            constraint=models.CheckConstraint(condition=models.Q(('ip_masking_override__isnull', True), ('ip_masking_override__in', ['all', 'public', 'off']), _connector='OR'), name='application_ip_masking_valid'),
        ),
        migrations.AddConstraint(
            model_name='application',
            constraint=models.CheckConstraint(condition=models.Q(('do_not_track_override__isnull', True), ('do_not_track_override__in', ['anonymous', 'disable', 'ignore']), _connector='OR'), name='application_do_not_track_valid'),
        ),
        migrations.AddConstraint(
            model_name='application',
            constraint=models.CheckConstraint(condition=models.Q(('user_tag_storage_override__isnull', True), ('user_tag_storage_override__in', ['raw', 'encrypted', 'pseudonym_only']), _connector='OR'), name='application_user_tag_storage_valid'),
        ),
    ]
