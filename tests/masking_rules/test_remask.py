"""Re-masking stored data: rules, tightened settings, never loosening, dry run, resume, audit."""

from __future__ import annotations

import threading
from collections import Counter
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.utils import timezone

from jobs.models import Job, JobState
from jobs.services import job_start
from masking_rules import remask
from permissions.audit import COMMAND_METHOD, Actor
from permissions.models import AuditKind, AuditRecord
from sessions_app.applications import INHERIT, application_configure
from sessions_app.ingest.masking import BatchMasker
from sessions_app.models import Application, UserAction, UserSession
from sessions_app.services import session_ingest
from sessions_app.user_tags import decrypt
from tests.conftest import database_is_postgresql
from tests.masking_rules.support import add_rules, rule_body
from tests.sessions_app.ingest_support import (
    action,
    batch,
    new_application,
    session,
    stored_action,
    stored_session,
)

pytestmark = pytest.mark.django_db
ACTOR = Actor(username="test", method=COMMAND_METHOD, path="tests")
ERROR = "Cannot deliver to Hauptstrasse 12 for Anna Probe"


def configure(application: Application, **settings: Any) -> None:
    application_configure(application=application, actor=ACTOR, **settings)


def run_remask(**params: Any) -> Job:
    return job_start(
        kind="remask",
        params={"application": None, "dry_run": False, **params},
        user="operator",
        run_now=True,
    )


def ingest(application: Application, *sessions: dict[str, Any]) -> None:
    session_ingest(application=application, payload=batch(*sessions))


def test_a_new_rule_and_uri_masking_switched_on_reach_stored_actions() -> None:
    application, _ = new_application(mask_personal_data_in_uris=False)
    ingest(
        application,
        session(
            actions=[
                action(
                    0, error={"message": ERROR}, url="https://shop.example.com/u/jane@example.com"
                ),
                action(1),
                action(2, url="https://shop.example.com/u/bob@example.com"),  # only the URL
                action(3, error={"message": ERROR}),  # only the message
            ]
        ),
    )
    assert stored_action(0).error_message == ERROR
    add_rules(rule_body(name="names", application="shop", detector=None, pattern="Anna Probe"))
    configure(application, mask_personal_data_in_uris=True)

    job = run_remask()

    assert job.state == JobState.DONE
    assert stored_action(0).error_message == "Cannot deliver to Hauptstrasse 12 for <masked>"
    assert stored_action(0).url == "https://shop.example.com/u/<masked>"
    assert stored_action(1).url == "https://shop.example.com/page/1"  # nothing to change
    assert stored_action(2).url == "https://shop.example.com/u/<masked>"
    assert stored_action(2).error_message == ""
    assert stored_action(3).error_message.endswith("for <masked>")
    assert stored_action(3).url == "https://shop.example.com/page/3"
    assert job.counts["rule:names"] == 2
    assert job.counts["actions_changed"] == 3
    record = AuditRecord.objects.get(kind=AuditKind.REMASK)
    assert record.username == "operator"
    assert record.applications == ["shop"]
    assert record.changes["counts"]["rule:names"] == 2
    # Idempotent: a second run changes nothing.
    assert run_remask().counts["actions_changed"] == 0


def test_user_tag_storage_tightened_raw_encrypted_pseudonym_only() -> None:
    application, _ = new_application(user_tag_storage="raw")
    ingest(application, session())
    configure(application, user_tag_storage="encrypted")
    run_remask()
    stored = stored_session()
    assert stored.user_tag is None
    assert (
        decrypt(stored.user_tag_encrypted, application_id=application.pk) == "jane.doe@example.com"
    )
    configure(application, user_tag_storage="pseudonym_only")
    job = run_remask()
    stored = stored_session()
    assert stored.user_tag is None
    assert stored.user_tag_encrypted is None
    assert stored.user_id
    assert stored.user_tag_blind_index
    assert job.counts["user_tag_storage"] == 1


def test_ip_masking_tightened_and_loosening_never_unmasks() -> None:
    application, _ = new_application(ip_masking="off")
    ingest(application, session())
    assert stored_session().client_ip == "81.2.69.142"
    assert stored_session().geo_latitude == 48.2082
    configure(application, ip_masking="all")
    run_remask()
    assert stored_session().client_ip == "81.2.69.0"
    assert stored_session().geo_latitude == 48.2
    configure(application, ip_masking="off", user_tag_storage="raw")
    job = run_remask()
    assert stored_session().client_ip == "81.2.69.0"
    assert job.counts["sessions_changed"] == 0


def test_properties_no_longer_allowed_are_dropped() -> None:
    application, _ = new_application(allowed_properties=["loyalty_tier", "ab"])
    ingest(application, session(properties={"loyalty_tier": "gold", "ab": "b"}))
    configure(application, allowed_properties=["ab"])
    job = run_remask()
    assert stored_session().properties == {"ab": "b"}
    assert job.counts["allowed_properties"] == 1


def test_a_dry_run_reports_and_changes_nothing() -> None:
    application, _ = new_application()
    ingest(application, session(actions=[action(0, error={"message": ERROR})]))
    add_rules(rule_body(name="names", application="shop", detector=None, pattern="Anna Probe"))
    out = StringIO()
    call_command("remask", "--dry-run", "--application", "shop", stdout=out)
    assert stored_action().error_message == ERROR
    assert "would change 0 sessions and 1 actions" in out.getvalue()
    assert "rule:names: 1 value(s) would change" in out.getvalue()
    assert not AuditRecord.objects.filter(kind=AuditKind.REMASK).exists()
    call_command("remask", "--application", "shop", stdout=StringIO())
    assert stored_action().error_message.endswith("for <masked>")


def test_an_unknown_application_is_refused() -> None:
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="no application"):
        call_command("remask", "--application", "nope", stdout=StringIO())


class Killed(BaseException):
    """Stands for the worker being killed: not an Exception, nothing catches it."""


def test_resumes_after_a_kill_mid_way(monkeypatch: pytest.MonkeyPatch, settings: Any) -> None:
    application, _ = new_application()
    ingest(
        application,
        *(
            session(session_id=f"s-{n}", actions=[action(0, error={"message": ERROR})])
            for n in range(10)
        ),
    )
    add_rules(rule_body(name="names", application="shop", detector=None, pattern="Anna Probe"))
    monkeypatch.setattr(remask, "BATCH_SESSIONS", 3)
    real_batch = remask._remask_batch
    calls = {"n": 0}

    def dying_batch(*args: Any, **kwargs: Any) -> int:
        calls["n"] += 1
        if calls["n"] == 3:
            raise Killed
        return real_batch(*args, **kwargs)

    monkeypatch.setattr(remask, "_remask_batch", dying_batch)
    with pytest.raises(Killed):
        run_remask()
    job = Job.objects.get()
    assert job.state == JobState.RUNNING  # as a killed worker leaves it
    masked = UserAction.objects.filter(error_message__endswith="<masked>").count()
    assert masked == 6  # two batches of three sessions

    # While its heartbeat is fresh the job counts as alive: not started twice.
    assert run_remask().pk == job.pk
    assert Job.objects.get().state == JobState.RUNNING
    settings.RUMVAULT_JOB_STALE_SECONDS = 0
    monkeypatch.setattr(remask, "_remask_batch", real_batch)
    resumed = run_remask()

    assert resumed.pk == job.pk
    assert resumed.state == JobState.DONE
    assert resumed.runs == 2
    assert UserAction.objects.filter(error_message__endswith="<masked>").count() == 10
    # The second run went on from the cursor: sessions read once each (plus none twice).
    assert resumed.counts["sessions"] == 10
    assert resumed.counts["rule:names"] == 10


def test_a_job_with_different_parameters_is_a_new_job() -> None:
    new_application()
    first = run_remask(dry_run=True)
    second = run_remask(dry_run=False)
    assert first.pk != second.pk
    assert Job.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_concurrent_ingest_during_a_remask_ends_with_everything_masked(client: Client) -> None:
    application, _token = new_application()
    ingest(
        application,
        *(
            session(
                session_id=f"old-{n}",
                actions=[action(seq, error={"message": ERROR}) for seq in range(5)],
            )
            for n in range(60)
        ),
    )
    add_rules(rule_body(name="names", application="shop", detector=None, pattern="Anna Probe"))
    failures: list[BaseException] = []

    def keep_ingesting() -> None:
        try:
            for n in range(20):
                # New sessions, and new actions of sessions the remask may be holding.
                ingest(
                    application,
                    session(session_id=f"new-{n}", actions=[action(0, error={"message": ERROR})]),
                    session(
                        session_id=f"old-{n}", actions=[action(10 + n, error={"message": ERROR})]
                    ),
                )
        except BaseException as error:
            failures.append(error)
        finally:
            if database_is_postgresql():
                connection.close()

    if database_is_postgresql():
        worker = threading.Thread(target=keep_ingesting)
        worker.start()
        job = run_remask()
        worker.join(timeout=120)
    else:  # SQLite serialises writers: interleave by hand
        remask_batch = remask._remask_batch
        calls = {"n": 0}

        def interleaved(*args: Any, **kwargs: Any) -> int:
            calls["n"] += 1
            if calls["n"] == 1:
                keep_ingesting()
            return remask_batch(*args, **kwargs)

        remask._remask_batch = interleaved  # type: ignore[assignment]
        try:
            job = run_remask()
        finally:
            remask._remask_batch = remask_batch  # type: ignore[assignment]
    assert not failures, failures
    assert job.state == JobState.DONE
    assert UserSession.objects.count() == 80
    assert UserAction.objects.count() == 60 * 5 + 20 + 20
    assert not UserAction.objects.filter(error_message__contains="Anna").exists()


def test_the_command_prints_progress_and_a_summary() -> None:
    application, _ = new_application()
    ingest(application, session(actions=[action(0, error={"message": ERROR})]))
    add_rules(rule_body(name="names", application="shop", detector=None, pattern="Anna Probe"))
    out = StringIO()
    call_command("remask", stdout=out)
    text = out.getvalue()
    assert "1/1 actions" in text
    assert "actions/s" in text
    assert "changed 0 sessions and 1 actions" in text


def test_inherit_drops_an_override() -> None:
    application, _ = new_application(ip_masking="off")
    configure(application, ip_masking=INHERIT)
    application.refresh_from_db()
    assert application.ip_masking == "all"
    assert application.setting_source("ip_masking") == ("environment")


def test_admin_lets_a_privacy_officer_start_a_remask_and_watch_it(client: Client) -> None:
    from django.contrib.auth.models import Permission

    from tests.masking_rules.support import officer

    application, _ = new_application()
    ingest(application, session(actions=[action(0, error={"message": ERROR})]))
    add_rules(rule_body(name="names", application="shop", detector=None, pattern="Anna Probe"))
    user = officer()
    user.is_staff = True
    user.save()
    client.force_login(user)
    url = "/admin/jobs/job/start-remask/"
    assert client.get(url).status_code == 403  # not yet a privacy officer
    user.user_permissions.add(Permission.objects.get(codename="start_remask"))
    user.user_permissions.add(Permission.objects.get(codename="view_job"))
    response = client.post(url, {"application": "shop"})
    job = Job.objects.get()
    assert response.status_code == 302
    assert response["Location"].endswith(f"/{job.pk}/change/")
    assert job.state == JobState.DONE
    assert job.started_by == "privacy"
    assert stored_action().error_message.endswith("<masked>")
    page = client.get(response["Location"]).content.decode()
    assert "100.0%" in page
    assert timezone.now() >= job.finished_at


def test_sessions_remember_the_setting_they_were_masked_under() -> None:
    application, _ = new_application(mask_personal_data_in_uris=False)
    ingest(application, session(session_id="s-1", actions=[action(0)]))
    assert stored_session("s-1").masked_personal is False
    configure(application, mask_personal_data_in_uris=True)
    # A later beacon of the same session is masked under the other setting: mixed.
    ingest(application, session(session_id="s-1", actions=[action(1)]))
    ingest(application, session(session_id="s-2", actions=[action(0)]))
    assert stored_session("s-1").masked_personal is None
    assert stored_session("s-2").masked_personal is True
    run_remask()
    assert stored_session("s-1").masked_personal is True


def test_only_the_rules_run_where_the_built_in_masking_already_ran_with_the_setting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    application, _ = new_application()
    ingest(application, session(actions=[action(0, error={"message": ERROR}), action(1)]))
    add_rules(rule_body(name="names", application="shop", detector=None, pattern="Anna Probe"))
    full_passes: list[object] = []
    real = BatchMasker.action_values

    def counting(self: BatchMasker, clean: Any) -> Any:
        full_passes.append(clean)
        return real(self, clean)

    monkeypatch.setattr(BatchMasker, "action_values", counting)
    job = run_remask()
    assert stored_action(0).error_message.endswith("for <masked>")
    assert len(full_passes) == 1  # the action a rule changed, not the other one
    assert job.counts["rule:names"] == 1
    full_passes.clear()
    run_remask(full=True)
    assert len(full_passes) == 2


def test_do_not_track_anonymous_clears_ip_and_user_tag_of_sessions_that_asked() -> None:
    application, _ = new_application(do_not_track="ignore", ip_masking="off")
    ingest(
        application,
        session(session_id="dnt", do_not_track=True),
        session(session_id="tracked"),
    )
    assert stored_session("dnt").client_ip == "81.2.69.142"
    assert stored_session("dnt").user_id
    configure(application, do_not_track="anonymous")

    job = run_remask()

    asked = stored_session("dnt")
    # The session write covers text, inet, float and boolean columns, several set to null.
    assert asked.client_ip is None
    assert (asked.geo_latitude, asked.geo_longitude) == (48.2, 16.4)
    assert asked.user_tag is None
    assert asked.user_tag_encrypted is None
    assert asked.user_tag_blind_index is None
    assert asked.user_id is None
    assert asked.masked_personal is True
    tracked = stored_session("tracked")
    assert tracked.client_ip == "81.2.69.142"
    assert tracked.geo_latitude == 48.2082
    assert tracked.user_id
    assert job.counts["do_not_track"] == 2  # the IP, then the user tag
    assert job.counts["sessions_changed"] == 1


def test_a_batch_costs_the_same_few_queries_however_many_rows_change(
    django_assert_max_num_queries: Any,
) -> None:
    application, _ = new_application(mask_personal_data_in_uris=False, user_tag_storage="raw")
    ingest(
        application,
        *(
            session(
                session_id=f"s-{n}",
                actions=[
                    action(seq, url=f"https://shop.example.com/u/{n}-{seq}@example.com")
                    for seq in range(3)
                ],
            )
            for n in range(40)
        ),
    )
    configure(application, mask_personal_data_in_uris=True, user_tag_storage="encrypted")
    pks = list(UserSession.objects.order_by("pk").values_list("pk", flat=True))
    counts: Counter[str] = Counter()

    # The budget of the module docstring less the two queries of the job's loop (the
    # batch's ids, the progress report): the locked sessions, their actions, the rules,
    # one UPDATE of the actions, one of the sessions; plus the savepoint and its
    # release (the test runs in a transaction).
    with django_assert_max_num_queries(7):
        remask._remask_batch(application, pks, counts=counts, dry_run=False)

    assert counts["actions_changed"] == 120
    assert counts["sessions_changed"] == 40
    assert not UserAction.objects.filter(url__contains="@").exists()
    assert not UserSession.objects.filter(user_tag__isnull=False).exists()
