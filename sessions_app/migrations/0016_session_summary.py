"""Every session keeps its triage summary (``sessions_app.summaries``), made here for the
sessions already stored, from their actions, 1,000 sessions a statement pair.

The backfill calls the application's own ``summaries_refresh``, not a copy of its
rule in this file: a summary is made by one rule. It reads the sessions and
actions tables as they are at this migration, which holds as long as no later
migration is needed for that function to run.
"""

from django.db import migrations

import sessions_app.models

BATCH = 1000


def backfill(apps, schema_editor):
    from sessions_app.models import UserSession
    from sessions_app.summaries import summaries_refresh

    last = 0
    while True:
        batch = list(
            UserSession.objects.filter(pk__gt=last)
            .order_by("pk")
            .values_list("pk", "application_id")[:BATCH]
        )
        if not batch:
            return
        summaries_refresh(sessions=batch)
        last = batch[-1][0]


class Migration(migrations.Migration):

    dependencies = [
        ('sessions_app', '0015_session_country_orderings'),
    ]

    operations = [
        migrations.AddField(
            model_name='usersession',
            name='summary',
            field=sessions_app.models.StoredJSONField(blank=True, editable=False, null=True),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]
