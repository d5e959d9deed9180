"""Data-subject requests take the person's log records with their sessions.

Log records link to a session by what they carry (its ``session_id`` attribute,
or a trace id one of its actions carries), resolved on read; a request finds
them the same way, and anonymises or erases them with the sessions.
"""

from __future__ import annotations

import pytest

from logs.models import LogRecord
from sessions_app.models import UserAction, UserSession
from tests.data_subjects.planted import Planted, client_for, create, officer, plant
from tests.factories import stored_log

pytestmark = pytest.mark.django_db
URL = "/api/v1/data-subject-requests/"
TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"


@pytest.fixture
def planted() -> Planted:
    planted = plant()
    jane_first = UserSession.objects.get(pk=planted.jane[0])
    UserAction.objects.filter(session=planted.jane[1], seq=1).update(trace_id=TRACE)
    jane_second = UserSession.objects.get(pk=planted.jane[1])
    bob = UserSession.objects.get(pk=planted.bob[0])
    stored_log(
        jane_first.application,
        session_ref=jane_first.session_id,
        body="Payment for Jane declined",
        attributes={"step": "jane-by-ref"},
    )
    stored_log(
        jane_second.application,
        trace_id=TRACE,
        body="Gateway timeout for Jane",
        attributes={"step": "jane-by-trace"},
    )
    stored_log(
        bob.application, session_ref=bob.session_id, body="Bob paid", attributes={"step": "bob"}
    )
    return planted


def _steps() -> set[str]:
    return {record.attributes.get("step") for record in LogRecord.objects.all()}


def test_the_dry_run_and_the_export_hold_the_persons_log_records_only(planted: Planted) -> None:
    client = client_for(officer("privacy"))
    body = create(client, "export").json()
    counted = sum(by_type.get("log", 0) for by_type in body["dry_run"].values())
    assert counted == 2

    doc = client.get(f"{URL}{body['id']}/export/").json()
    logs = [record for session in doc["sessions"] for record in session["logs"]]
    assert sorted(record["body"] for record in logs) == [
        "Gateway timeout for Jane",
        "Payment for Jane declined",
    ]
    assert "Bob paid" not in str(doc)


def test_erasure_deletes_the_persons_log_records_and_no_one_elses(planted: Planted) -> None:
    created = create(client_for(officer("privacy")), "erase")
    done = client_for(officer("privacy2")).post(f"{URL}{created.json()['id']}/approve/").json()
    assert done["status"] == "done"
    assert sum(by_type.get("log", 0) for by_type in done["done"].values()) == 2
    assert _steps() == {"bob"}


def test_anonymisation_clears_the_log_texts_and_keeps_when_and_how_bad(planted: Planted) -> None:
    before = {r.attributes["step"]: r for r in LogRecord.objects.all()}
    created = create(client_for(officer("privacy")), "anonymise")
    client_for(officer("privacy2")).post(f"{URL}{created.json()['id']}/approve/")

    bob = LogRecord.objects.get(pk=before["bob"].pk)
    assert (bob.body, bob.attributes) == ("Bob paid", {"step": "bob"})
    for step in ("jane-by-ref", "jane-by-trace"):
        record = LogRecord.objects.get(pk=before[step].pk)
        assert (record.body, record.attributes, record.trace_id) == ("", {}, None)
        assert (record.time, record.severity_number, record.service_name) == (
            before[step].time,
            before[step].severity_number,
            before[step].service_name,
        )
