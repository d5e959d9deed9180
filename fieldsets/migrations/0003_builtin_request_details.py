"""Seed the second built-in fieldset: request details of actions.

Headers, request attributes and stack traces are masked at ingest, but they
are still the most detailed part of a session; help-desk agents rarely need
them, so only principals granted this fieldset see them. Literal definition,
as in 0002: a migration must not change when application code changes.
"""

from django.db import migrations

from fieldsets.migrations._builtins import seed_builtins, unseed_builtins

BUILTINS = {
    "builtin-request-details": (
        "Request details of actions: headers, request attributes and stack traces.",
        ["actions.headers", "actions.request_attributes", "actions.error_stack"],
    ),
}


def seed(apps, schema_editor):
    seed_builtins(apps, BUILTINS)


def unseed(apps, schema_editor):
    unseed_builtins(apps, BUILTINS)


class Migration(migrations.Migration):
    dependencies = [("fieldsets", "0002_builtin_fieldsets")]

    operations = [migrations.RunPython(seed, unseed)]
