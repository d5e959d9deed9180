"""Data-subject requests through the API: export, anonymise, erase, two people, receipts."""

from __future__ import annotations

import io
import json
import zipfile
from decimal import Decimal
from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from rest_framework.test import APIClient

from data_subjects import services
from data_subjects.models import DataSubjectRequest
from data_subjects.receipts import receipt_verified
from permissions import subjects
from permissions.chain import chain_verify
from permissions.models import AuditRecord
from sessions_app.models import UserAction, UserSession
from tests.data_subjects.planted import (
    BOB,
    BOB_IP,
    BOB_TEXT,
    JANE,
    JANE_IP,
    JANE_NORMALISED,
    JANE_TEXT,
    Planted,
    client_for,
    create,
    officer,
    plant,
)

pytestmark = pytest.mark.django_db
URL = "/api/v1/data-subject-requests/"
# Jane's records per application: two sessions of three actions each.
BOTH_APPS = {"shop": {"session": 2, "action": 6}, "vault": {"session": 2, "action": 6}}


@pytest.fixture
def planted() -> Planted:
    return plant()


def _approve(request_id: int, username: str = "privacy2") -> Any:
    return client_for(officer(username)).post(f"{URL}{request_id}/approve/")


def _jane_marks() -> list[str]:
    return [JANE_NORMALISED, JANE_IP, *JANE_TEXT]


# --- export ----------------------------------------------------------------------------


def test_export_holds_everything_of_the_person_and_nothing_of_anyone_else(
    planted: Planted,
) -> None:
    client = client_for(officer("privacy"))
    created = create(client, "export")
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["kind"] == "export"
    assert body["status"] == "done"  # no approval needed
    assert body["dry_run"] == {"shop": {"session": 2, "action": 6},
                               "vault": {"session": 2, "action": 6}}  # fmt: skip

    response = client.get(f"{URL}{body['id']}/export/")
    assert response.status_code == 200
    doc = response.json()
    text = json.dumps(doc)
    assert sorted(s["id"] for s in doc["sessions"]) == planted.jane
    for session in doc["sessions"]:
        assert session["user_tag"] == JANE_NORMALISED  # also the encrypted ones, decrypted
        assert session["masked_fields"] == []
        assert [a["seq"] for a in session["actions"]] == [0, 1, 2]
        assert session["properties"] == {"loyalty_tier": JANE_TEXT[2]}
    assert JANE_IP in text
    assert {a["request_attributes"]["order_id"] for s in doc["sessions"] for a in s["actions"]} == {
        JANE_TEXT[1]
    }
    for mark in (BOB, BOB_IP, *BOB_TEXT):
        assert mark.lower() not in text.lower()


def test_export_is_in_the_read_apis_shape_and_comes_as_csv_bundle_too(planted: Planted) -> None:
    client = client_for(officer("privacy"))
    request_id = create(client, "export").json()["id"]
    doc = client.get(f"{URL}{request_id}/export/").json()
    detail = client.get(f"/api/v1/sessions/{doc['sessions'][0]['id']}/").json()
    assert list(doc["sessions"][0]) == list(detail)

    bundle = client.get(f"{URL}{request_id}/export/?format=csv")
    assert bundle.status_code == 200
    assert bundle["Content-Type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(bundle.content))
    # One CSV per record type, also when the person has none of it (log records here).
    assert sorted(archive.namelist()) == ["actions.csv", "export.json", "logs.csv", "sessions.csv"]
    sessions_csv = archive.read("sessions.csv").decode()
    assert len(sessions_csv.strip().splitlines()) == 1 + 4
    assert JANE_NORMALISED in sessions_csv
    assert len(archive.read("actions.csv").decode().strip().splitlines()) == 1 + 12


def test_every_export_download_is_audited_as_an_export(planted: Planted) -> None:
    client = client_for(officer("privacy"))
    request_id = create(client, "export").json()["id"]
    client.get(f"{URL}{request_id}/export/")
    client.get(f"{URL}{request_id}/export/?format=csv")

    exports = AuditRecord.objects.filter(kind="export").order_by("seq")
    assert exports.count() == 2
    record = exports.first()
    assert record is not None
    assert record.username == "privacy"
    assert sorted(record.session_ids) == planted.jane
    assert record.applications == ["shop", "vault"]
    assert record.search_tag_hash == subjects.current_value(JANE_NORMALISED)
    assert JANE_NORMALISED not in json.dumps(list(AuditRecord.objects.values()), default=str)


# --- anonymise, erase ---------------------------------------------------------------------


def test_erase_waits_for_a_second_officer_then_removes_the_person_everywhere(
    planted: Planted,
) -> None:
    before_bob = _snapshot(planted.bob)
    assert {table for table, _ in _rows_mentioning(_jane_marks())} >= {
        UserSession._meta.db_table,
        UserAction._meta.db_table,
    }
    created = create(client_for(officer("privacy")), "erase")
    assert created.status_code == 201
    assert created.json()["status"] == "pending_approval"
    assert UserSession.objects.filter(pk__in=planted.jane).count() == 4  # nothing yet

    approved = _approve(created.json()["id"])
    assert approved.status_code == 200, approved.content
    body = approved.json()
    assert body["status"] == "done"
    assert body["done"] == {
        "shop": {"session": 2, "action": 6},
        "vault": {"session": 2, "action": 6},
    }
    assert body["progress"] == {"done": 16, "total": 16}

    assert not UserSession.objects.filter(pk__in=planted.jane).exists()
    assert not UserAction.objects.filter(session_id__in=planted.jane).exists()
    assert _snapshot(planted.bob) == before_bob
    assert not _rows_mentioning(_jane_marks())


def test_anonymise_keeps_the_analytics_and_removes_who_it_was(planted: Planted) -> None:
    before = {s.pk: s for s in UserSession.objects.filter(pk__in=planted.jane)}
    created = create(client_for(officer("privacy")), "anonymise")
    body = _approve(created.json()["id"]).json()
    assert body["status"] == "done"

    for session in UserSession.objects.filter(pk__in=planted.jane):
        old = before[session.pk]
        kept = ("started_at", "ended_at", "duration_ms", "action_count", "error_count",
                "converted", "revenue", "country", "browser", "device", "session_id")  # fmt: skip
        assert {k: getattr(session, k) for k in kept} == {k: getattr(old, k) for k in kept}
        assert session.converted
        assert session.revenue == Decimal("79.90")
        assert (session.user_tag, session.user_tag_encrypted, session.user_tag_blind_index,
                session.user_id, session.client_ip, session.geo_latitude,
                session.geo_longitude) == (None,) * 7  # fmt: skip
        assert (session.city, session.properties) == ("", {})
        actions = list(session.actions.order_by("seq"))
        assert [a.type for a in actions] == ["xhr"] * 3
        assert [a.product_event for a in actions] == ["view", "", "purchase"]
        assert [a.http_status for a in actions] == [200, 500, 200]
        assert {(a.name, a.url, a.error_message, a.error_stack) for a in actions} == {("",) * 4}
        assert all(a.headers == {} and a.request_attributes == {} for a in actions)
        # The triage summary kept on the session follows its actions: the failure
        # stays (its status was kept), its name and message went with the actions'.
        assert session.summary["first_failure"] == {
            "seq": 1, "type": "xhr", "name": "", "http_status": 500, "message": ""
        }  # fmt: skip
        assert [p["event"] for p in session.summary["products"]] == ["view", "purchase"]
        assert before[session.pk].summary["first_failure"]["message"] != ""
    assert not _rows_mentioning(_jane_marks())
    # Not findable any more: the search for her comes back empty.
    search = client_for(officer("agent")).post(
        "/api/v1/sessions/search/", {"user_tag": JANE}, format="json"
    )
    assert search.json()["results"] == []


def test_after_erasure_no_read_path_shows_the_person(planted: Planted) -> None:
    privacy = officer("privacy")
    api = client_for(privacy)
    _approve(create(api, "erase").json()["id"])

    responses = [
        api.get("/api/v1/sessions/"),
        api.get("/api/v1/sessions/?format=csv"),
        api.post("/api/v1/sessions/search/", {"user_tag": JANE}, format="json"),
        *[api.get(f"/api/v1/sessions/{pk}/") for pk in planted.jane],
    ]
    browser = Client()
    browser.force_login(privacy)
    responses += [
        browser.get("/dashboard/"),
        browser.post("/dashboard/", {"email": JANE}),
        browser.get("/admin/sessions_app/usersession/"),
        browser.get("/admin/sessions_app/useraction/"),
    ]
    for response in responses:
        text = response.content.decode().lower()
        for mark in _jane_marks():
            assert mark.lower() not in text, (response.request["PATH_INFO"], mark)
    assert all(api.get(f"/api/v1/sessions/{pk}/").status_code == 404 for pk in planted.jane)


# --- two people, permissions ----------------------------------------------------------------


def test_nobody_approves_their_own_request(planted: Planted) -> None:
    client = client_for(officer("privacy"))
    request_id = create(client, "erase").json()["id"]
    refused = client.post(f"{URL}{request_id}/approve/")
    assert refused.status_code == 403
    assert "another privacy officer" in refused.json()["detail"]
    assert DataSubjectRequest.objects.get(pk=request_id).status == "pending_approval"
    assert UserSession.objects.filter(pk__in=planted.jane).count() == 4


def test_missing_permissions_are_refused(planted: Planted) -> None:
    viewer = client_for(officer("viewer", "view_datasubjectrequest"))
    assert create(viewer, "export").status_code == 403
    assert create(viewer, "erase").status_code == 403

    request_id = create(client_for(officer("privacy")), "erase").json()["id"]
    creator_only = client_for(officer("creator", "create_request", "view_datasubjectrequest"))
    assert creator_only.post(f"{URL}{request_id}/approve/").status_code == 403
    assert creator_only.post(f"{URL}{request_id}/run/").status_code == 403
    assert creator_only.get(f"{URL}{request_id}/").status_code == 200

    nobody = client_for(officer("nobody", "create_request"))  # no view permission
    assert nobody.get(f"{URL}{request_id}/").status_code == 403
    assert APIClient().get(URL).status_code == 401
    assert DataSubjectRequest.objects.get(pk=request_id).status == "pending_approval"


def test_an_approved_request_cannot_be_approved_again(planted: Planted) -> None:
    request_id = create(client_for(officer("privacy")), "anonymise").json()["id"]
    assert _approve(request_id).status_code == 200
    again = _approve(request_id, "privacy3")
    assert again.status_code == 409


# --- bad input ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("override", "path"),
    [
        ({"kind": "delete"}, "/kind"),
        ({"reason": ""}, "/reason"),
        ({"reason": "asked by jane.planted@example.com"}, "/reason"),
        ({"ticket": "ZD 4111 1111 1111 1111"}, "/ticket"),
        ({"ticket": "ZD-\x004711"}, "/ticket"),  # PostgreSQL refused it with a 500
        ({"reason": "asked\nby mail"}, "/reason"),
        ({"user_tag": "   "}, "/user_tag"),
        ({"user_tag": 42}, "/user_tag"),
    ],
)
def test_bad_bodies_are_400_with_a_pointer_and_never_echoed(
    planted: Planted, override: dict[str, Any], path: str
) -> None:
    fields = dict(override)
    response = create(client_for(officer("privacy")), fields.pop("kind", "export"), **fields)
    assert response.status_code == 400
    (error,) = response.json()["errors"]
    assert error["path"] == path
    assert "jane" not in response.content.decode().lower()
    assert "4111" not in response.content.decode()
    assert not DataSubjectRequest.objects.exists()


def test_unknown_keys_and_tags_in_urls_are_refused(planted: Planted) -> None:
    client = client_for(officer("privacy"))
    odd = client.post(URL, {"user_tag": JANE, "kind": "export", "reason": "r", "ticket": "t",
                            "jane@example.com": 1}, format="json")  # fmt: skip
    assert odd.status_code == 400
    assert "jane" not in odd.content.decode()
    assert client.get(f"{URL}?user_tag={JANE}").status_code == 400
    assert client.get(f"{URL}?page=2").status_code == 400


# --- receipts --------------------------------------------------------------------------------


def test_the_receipt_is_signed_and_names_no_one(planted: Planted) -> None:
    request_id = create(client_for(officer("privacy")), "erase").json()["id"]
    client = client_for(officer("privacy2"))
    assert client.get(f"{URL}{request_id}/receipt/").status_code == 409  # not done yet
    client.post(f"{URL}{request_id}/approve/")

    response = client.get(f"{URL}{request_id}/receipt/")
    assert response.status_code == 200
    assert "attachment" in response["Content-Disposition"]
    receipt = response.json()
    assert receipt["request"] == request_id
    assert (receipt["kind"], receipt["ticket"]) == ("erase", "ZD-4711")
    assert (receipt["requested_by"], receipt["approved_by"]) == ("privacy", "privacy2")
    assert receipt["done"] == {"shop": {"session": 2, "action": 6},
                               "vault": {"session": 2, "action": 6}}  # fmt: skip
    record = AuditRecord.objects.get(kind="request_run")
    assert receipt["audit_record"] == {"seq": record.seq, "hash": record.hash}
    assert receipt_verified(receipt) is True
    text = json.dumps(receipt).lower()
    for mark in (*_jane_marks(), BOB.lower(), BOB_IP, *BOB_TEXT):
        assert mark.lower() not in text
    assert receipt_verified({**receipt, "done": {"shop": {"session": 1}}}) is False


# --- unlinkability ---------------------------------------------------------------------------


def test_after_erasure_the_audit_trail_no_longer_leads_to_the_person(planted: Planted) -> None:
    agent = client_for(officer("agent"))
    agent.post("/api/v1/sessions/search/", {"user_tag": JANE}, format="json")
    search = AuditRecord.objects.get(kind="search")
    assert search.search_tag_hash in subjects.recorded_values(JANE_NORMALISED)
    records_before = AuditRecord.objects.count()

    _approve(create(client_for(officer("privacy")), "erase").json()["id"])

    assert search.search_tag_hash not in subjects.recorded_values(JANE_NORMALISED)
    assert subjects.current_value(JANE_NORMALISED) is None
    still = AuditRecord.objects.get(pk=search.pk)
    assert still.search_tag_hash == search.search_tag_hash  # the record is unchanged ...
    assert AuditRecord.objects.count() > records_before  # ... nothing was removed ...
    assert chain_verify().holds  # ... and the chain verifies
    # A new search for the same email starts a new, unrelated subject.
    agent.post("/api/v1/sessions/search/", {"user_tag": JANE}, format="json")
    newest = AuditRecord.objects.filter(kind="search").latest("seq")
    assert newest.search_tag_hash != search.search_tag_hash


def test_erasure_also_wipes_earlier_exports_of_the_person(planted: Planted) -> None:
    privacy = client_for(officer("privacy"))
    export_id = create(privacy, "export").json()["id"]
    assert privacy.get(f"{URL}{export_id}/export/").status_code == 200
    _approve(create(privacy, "erase").json()["id"])

    assert privacy.get(f"{URL}{export_id}/export/").status_code == 409
    row = DataSubjectRequest.objects.get(pk=export_id)
    assert (row.export_ciphertext, row.subject_ciphertext) == (None, None)


# --- resume ------------------------------------------------------------------------------


class Killed(BaseException):
    """Stands for the worker's process dying between two batches."""


def test_a_run_killed_midway_resumes_where_it_stopped(
    planted: Planted, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(services, "BATCH_SIZE", 1)
    run_later = services._run_later
    monkeypatch.setattr(services, "_run_later", lambda *args, **kwargs: None)
    request_id = create(client_for(officer("privacy")), "erase").json()["id"]
    assert _approve(request_id).json()["status"] == "approved"  # handed over, not run yet
    batches: list[int] = []

    def dies_after_two(*, done: int, total: int, step: str) -> None:
        batches.append(done)
        if len(batches) == 2:
            raise Killed

    with pytest.raises(Killed):
        services.request_run(request_id=request_id, progress=dies_after_two, run_by="worker-1")

    stopped = DataSubjectRequest.objects.get(pk=request_id)
    assert stopped.status == "running"  # a killed worker leaves it running: stalled later
    assert stopped.checkpoint["batches"] == 2
    assert UserSession.objects.filter(pk__in=planted.jane).count() == 2
    with pytest.raises(services.NotRunnable):  # not stalled yet: nobody else takes it over
        services.request_run(request_id=request_id)

    # Silent for longer than RUMVAULT_DSR_STALLED_AFTER_SECONDS: an officer resumes it.
    monkeypatch.setattr(settings, "RUMVAULT_DSR_STALLED_AFTER_SECONDS", -1)
    monkeypatch.setattr(services, "_run_later", run_later)
    resumed = client_for(officer("privacy3")).post(f"{URL}{request_id}/run/")
    assert resumed.status_code == 200, resumed.content
    done = DataSubjectRequest.objects.get(pk=request_id)
    assert done.status == "done"
    assert done.done == BOTH_APPS
    assert done.run_by_username == "worker-1"
    assert not UserSession.objects.filter(pk__in=planted.jane).exists()
    assert UserSession.objects.filter(pk__in=planted.bob).count() == 2


# --- helpers -------------------------------------------------------------------------------


def _snapshot(pks: list[int]) -> list[dict[str, Any]]:
    sessions = list(UserSession.objects.filter(pk__in=pks).order_by("pk").values())
    actions = list(UserAction.objects.filter(session_id__in=pks).order_by("pk").values())
    return sessions + actions


def _rows_mentioning(marks: list[str]) -> list[tuple[str, str]]:
    """Every (table, mark) where a mark occurs in any column of any row, through SQL."""
    found = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            quoted = connection.ops.quote_name(table)
            if connection.vendor == "postgresql":
                expression = f"CAST({quoted}.* AS text)"
            else:
                columns = [c.name for c in connection.introspection.get_table_description(
                    cursor, table)]  # fmt: skip
                expression = " || '|' || ".join(
                    f"COALESCE(CAST({connection.ops.quote_name(c)} AS text), '')" for c in columns
                )
            for mark in marks:
                cursor.execute(
                    f"SELECT COUNT(*) FROM {quoted} WHERE LOWER({expression}) LIKE %s",  # noqa: S608
                    [f"%{mark.lower()}%"],
                )
                if cursor.fetchone()[0]:
                    found.append((table, mark))
    return found


@pytest.mark.django_db(transaction=True)
def test_the_whole_flow_works_in_autocommit_as_a_server_runs_it() -> None:
    # The other tests run inside one transaction; a server does not, which is
    # where row locks taken outside a transaction would fail.
    planted = plant()
    privacy = client_for(officer("privacy"))
    export = create(privacy, "export").json()
    assert export["status"] == "done"
    assert privacy.get(f"{URL}{export['id']}/export/").status_code == 200
    erase = create(privacy, "erase").json()
    assert _approve(erase["id"]).json()["status"] == "done"
    assert not UserSession.objects.filter(pk__in=planted.jane).exists()
    assert chain_verify().holds
