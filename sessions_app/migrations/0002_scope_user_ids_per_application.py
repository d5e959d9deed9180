"""Rescope every stored ``user_id`` to its application (see ``sessions_app.pseudonym_scope``).

Irreversible on purpose: the unscoped pseudonym cannot be recomputed from the
scoped one without the tag, and bringing it back would reopen the join across
applications. Runs in the migration's transaction (all rows or none), in
batches, on SQLite and PostgreSQL alike; needs every pseudonym key that
stored rows were written with in ``RUMVAULT_PSEUDONYM_KEYS``.

It calls the same pure function ingest uses, so migrated and newly ingested
rows agree; if that function ever changes, stored rows need a new migration
and this one must keep a frozen copy of today's version.
"""

from django.conf import settings
from django.db import migrations

from sessions_app.pseudonym_scope import scope_stored_user_ids


def scope_user_ids(apps, schema_editor):
    scope_stored_user_ids(
        apps.get_model("sessions_app", "UserSession"),
        keyring=settings.RUMVAULT_PSEUDONYM_KEYS,
        using=schema_editor.connection.alias,
    )


class Migration(migrations.Migration):
    dependencies = [("sessions_app", "0001_initial")]

    # No reverse_code: "migrate sessions_app 0001" refuses (IrreversibleError).
    operations = [migrations.RunPython(scope_user_ids, elidable=False)]
