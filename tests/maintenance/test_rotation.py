"""Key rotation: every keyring re-keyed to its newest key, online, resumable, with a report."""

from __future__ import annotations

import io
import threading
import time

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection

from data_subjects.models import DataSubjectRequest
from jobs.models import Job, JobState
from maintenance import rotation
from maintenance.models import Keyring, KeyRotation
from permissions import subjects
from permissions.chain import chain_verify
from privacy.keyring import Keyring as KeyMaterial
from sessions_app import user_tags
from sessions_app.models import UserSession
from tests.conftest import database_is_postgresql
from tests.data_subjects.planted import JANE, JANE_NORMALISED, client_for, create, officer
from tests.factories import make_application, stored_session

NEW_SECRET = b"a-new-key-for-the-rotation-tests-0123456789"


def _with_new_key(monkeypatch: pytest.MonkeyPatch, setting: str) -> tuple[KeyMaterial, int]:
    old: KeyMaterial = getattr(settings, setting)
    new_id = old.current_id + 1
    monkeypatch.setattr(settings, setting, KeyMaterial({**old.keys, new_id: NEW_SECRET}))
    return old, new_id


def _retire(monkeypatch: pytest.MonkeyPatch, setting: str, new_id: int) -> None:
    monkeypatch.setattr(settings, setting, KeyMaterial({new_id: NEW_SECRET}))


def _world() -> dict[str, list[int]]:
    raw = make_application("raw")
    vault = make_application("vault", user_tag_storage="encrypted")
    pseudo = make_application("pseudo", user_tag_storage="pseudonym_only")
    made: dict[str, list[int]] = {"raw": [], "vault": [], "pseudo": []}
    for number in range(7):
        tag = f"customer{number % 3}@example.com"
        for app in (raw, vault, pseudo):
            made[app.slug].append(stored_session(app, user_tag=tag).pk)
    return made


def _search(tag: str) -> set[int]:
    found = UserSession.objects.filter(
        user_tag_blind_index__in=user_tags.blind_index_candidates_for(user_tags.normalise(tag))
    )
    return set(found.values_list("pk", flat=True))


@pytest.mark.django_db
def test_blind_index_rotation_moves_every_tag_it_can_and_reports_what_stays(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    world = _world()
    before = {tag: _search(tag) for tag in ("customer0@example.com", "customer1@example.com")}
    _, new_id = _with_new_key(monkeypatch, "RUMVAULT_BLIND_INDEX_KEYS")
    monkeypatch.setattr(rotation, "BATCH_SIZE", 4)

    run = rotation.rotation_run(
        rotation_id=rotation.rotation_start(keyring=Keyring.BLIND_INDEX, started_by="ops").pk
    )

    assert run.status == "done"
    assert run.rekeyed == {"sessions.user_tag_blind_index": 14}
    moved = UserSession.objects.filter(pk__in=world["raw"] + world["vault"])
    assert all(
        v.startswith(f"b{new_id}_") for v in moved.values_list("user_tag_blind_index", flat=True)
    )
    # pseudonym_only sessions keep no tag: they stay on the old key, and the report says so.
    old_key = str(new_id - 1)
    assert run.report["older_keys"][old_key]["sessions.user_tag_blind_index"] == 7
    assert run.report["older_keys"][old_key]["without_stored_tag"] == 7
    assert run.report["older_keys"][old_key]["last_expires_on"]
    assert run.report["retirable"] == []
    assert {tag: _search(tag) for tag in before} == before  # every session still found


@pytest.mark.django_db
def test_pseudonym_rotation_gives_each_customer_one_new_id_per_application(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    world = _world()
    make_application("empty")
    _, new_id = _with_new_key(monkeypatch, "RUMVAULT_PSEUDONYM_KEYS")
    run = rotation.rotation_run(
        rotation_id=rotation.rotation_start(keyring=Keyring.PSEUDONYM, started_by="ops").pk
    )
    assert run.rekeyed == {"sessions.user_id": 14}
    raw = UserSession.objects.filter(pk__in=world["raw"])
    for session in raw:
        expected = user_tags.pseudonym_for(
            session.user_tag or "", application_id=session.application_id
        )
        assert session.user_id == expected
        assert expected.startswith(f"u{new_id}_")
    assert len(set(raw.values_list("user_id", flat=True))) == 3  # three customers


@pytest.mark.django_db
def test_encryption_rotation_reencrypts_tags_and_request_secrets_then_the_old_key_can_go(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    world = _world()
    privacy = client_for(officer("privacy"))
    stored_session(make_application("jane-shop", user_tag_storage="encrypted"), user_tag=JANE)
    export_id = create(privacy, "export").json()["id"]
    pending_id = create(privacy, "erase").json()["id"]
    _, new_id = _with_new_key(monkeypatch, "RUMVAULT_ENCRYPTION_KEYS")

    out = io.StringIO()
    call_command("rotate_keys", "--keyring", "encryption", stdout=out)

    assert f"Remove key(s) {new_id - 1}" in out.getvalue()
    # The command ran it as a job: its record shows the progress in the admin.
    job = Job.objects.get(kind="key_rotation")
    assert (job.state, job.done) == (JobState.DONE, job.total)
    _retire(monkeypatch, "RUMVAULT_ENCRYPTION_KEYS", new_id)
    for session in UserSession.objects.filter(pk__in=world["vault"]):
        assert session.user_tag_encrypted.startswith(f"e{new_id}:")  # type: ignore[union-attr]
        assert user_tags.decrypt(
            session.user_tag_encrypted or "", application_id=session.application_id
        )
    assert privacy.get(f"/api/v1/data-subject-requests/{export_id}/export/").status_code == 200
    pending = DataSubjectRequest.objects.get(pk=pending_id)
    assert pending.subject_ciphertext.startswith(f"e{new_id}:")  # type: ignore[union-attr]
    approved = client_for(officer("privacy2")).post(
        f"/api/v1/data-subject-requests/{pending_id}/approve/"
    )
    assert approved.json()["status"] == "done"  # the request still opens its subject


@pytest.mark.django_db
def test_audit_rotation_reseals_the_chain_and_moves_subjects(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    app = make_application("shop")
    stored_session(app, user_tag=JANE)
    client_for(officer("agent")).post("/api/v1/sessions/search/", {"user_tag": JANE}, format="json")
    value = subjects.current_value(JANE_NORMALISED)
    _, new_id = _with_new_key(monkeypatch, "RUMVAULT_AUDIT_KEYS")

    run = rotation.rotation_run(
        rotation_id=rotation.rotation_start(keyring=Keyring.AUDIT, started_by="ops").pk
    )
    assert run.rekeyed["audit.subjects"] == 1
    assert run.report["retirable"] == [str(new_id - 1)]

    _retire(monkeypatch, "RUMVAULT_AUDIT_KEYS", new_id)
    assert chain_verify().holds
    assert subjects.current_value(JANE_NORMALISED) == value  # "who looked" still finds her


@pytest.mark.django_db
def test_a_rotation_stopped_halfway_continues_where_it_stopped(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _world()
    _with_new_key(monkeypatch, "RUMVAULT_BLIND_INDEX_KEYS")
    monkeypatch.setattr(rotation, "BATCH_SIZE", 3)
    run = rotation.rotation_start(keyring=Keyring.BLIND_INDEX, started_by="ops")
    calls = []

    def dies(*, done: int, total: int, step: str) -> None:
        calls.append(done)
        if len(calls) == 2:
            raise RuntimeError("worker killed")

    with pytest.raises(RuntimeError):
        rotation.rotation_run(rotation_id=run.pk, progress=dies)
    stopped = KeyRotation.objects.get(pk=run.pk)
    assert stopped.status == "failed"
    assert stopped.rekeyed["sessions.user_tag_blind_index"] == 6
    assert rotation.rotation_start(keyring=Keyring.BLIND_INDEX, started_by="ops").pk == run.pk

    finished = rotation.rotation_run(rotation_id=run.pk)
    assert finished.status == "done"
    assert finished.rekeyed["sessions.user_tag_blind_index"] == 14


@pytest.mark.django_db(transaction=True)
def test_rotation_runs_online_while_a_reader_searches_in_a_loop(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    app = make_application("shop")
    vault = make_application("vault", user_tag_storage="encrypted")
    jane = {stored_session(a, user_tag=JANE).pk for a in (app, vault) for _ in range(30)}
    for number in range(240):
        stored_session(app if number % 2 else vault, user_tag=f"other{number}@example.com")
    reader = client_for(officer("reader"))
    _with_new_key(monkeypatch, "RUMVAULT_BLIND_INDEX_KEYS")
    monkeypatch.setattr(rotation, "BATCH_SIZE", 20)
    answers: list[set[int]] = []
    failures: list[BaseException] = []
    stop = threading.Event()

    def search_in_a_loop() -> None:
        try:
            while not stop.is_set():
                response = reader.post(
                    "/api/v1/sessions/search/?page_size=500", {"user_tag": JANE}, format="json"
                )
                assert response.status_code == 200, response.content
                answers.append({row["id"] for row in response.json()["results"]})
                time.sleep(0.01)
        except BaseException as error:
            failures.append(error)
        finally:
            connection.close()

    thread = threading.Thread(target=search_in_a_loop)
    if database_is_postgresql():
        thread.start()
    try:
        run = rotation.rotation_start(keyring=Keyring.BLIND_INDEX, started_by="ops")

        def search_between_batches(*, done: int, total: int, step: str) -> None:
            if not database_is_postgresql():  # SQLite: one writer; search between batches
                search_in_a_loop_once()

        def search_in_a_loop_once() -> None:
            response = reader.post("/api/v1/sessions/search/?page_size=500", {"user_tag": JANE},
                                   format="json")  # fmt: skip
            answers.append({row["id"] for row in response.json()["results"]})

        rotation.rotation_run(rotation_id=run.pk, progress=search_between_batches)
        time.sleep(0.1)
    finally:
        stop.set()
        if thread.is_alive():
            thread.join(timeout=30)
    assert not failures
    assert len(answers) >= 5
    assert all(answer == jane for answer in answers)
    assert KeyRotation.objects.get().status == "done"
