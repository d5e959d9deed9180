"""The privacy officer's console: audit trail, "who looked?", requests, history, jobs."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest
from django.contrib.auth.models import User
from django.test import Client

from data_subjects.models import DataSubjectRequest
from maintenance.models import KeyRotation
from permissions.audit import Actor
from permissions.models import AuditRecord
from permissions.services import grant_record_access
from sessions_app.applications import application_configure
from sessions_app.models import UserSession
from tests.data_subjects.planted import (
    JANE,
    JANE_NORMALISED,
    Planted,
    client_for,
    officer,
    plant,
)
from tests.leaks import without_csrf_tokens

pytestmark = pytest.mark.django_db
CONSOLE = "/dashboard/privacy/"


@pytest.fixture
def planted() -> Planted:
    return plant()


def browser(username: str, *permissions: str) -> Client:
    client = Client()
    client.force_login(officer(username, *permissions))
    return client


def test_the_console_is_for_officers_only(planted: Planted) -> None:
    agent = User.objects.create_user("agent", password="pw-not-used-12345")
    grant_record_access(user=agent, application=planted.shop)
    client = Client()
    client.force_login(agent)
    assert "Privacy" not in client.get("/dashboard/").content.decode()
    for page in ("", "audit/", "who/", "history/", "requests/", "jobs/"):
        assert client.get(f"{CONSOLE}{page}").status_code == 403, page
    privacy = browser("privacy")
    assert 'href="/dashboard/privacy/"' in privacy.get("/dashboard/").content.decode()
    for page in ("", "audit/", "who/", "history/", "requests/", "jobs/"):
        assert privacy.get(f"{CONSOLE}{page}").status_code == 200, page


def test_audit_trail_filters_and_exports_csv(planted: Planted) -> None:
    client_for(officer("agent")).post("/api/v1/sessions/search/", {"user_tag": JANE},
                                      format="json")  # fmt: skip
    reader = client_for(officer("lead"))
    reader.get(f"/api/v1/sessions/{planted.jane[0]}/")
    privacy = browser("privacy")

    page = privacy.get(f"{CONSOLE}audit/?user=lead&kind=reveal").content.decode()
    assert page.count("<tr>") == 2  # header and the one reveal
    assert f"/api/v1/sessions/{planted.jane[0]}/" in page
    by_session = privacy.get(f"{CONSOLE}audit/?session={planted.jane[0]}").content.decode()
    assert "lead" in by_session
    revealed_in = _app_of(planted.jane[0])
    other = "vault" if revealed_in == "shop" else "shop"
    assert _rows(privacy, f"application={revealed_in}&kind=reveal") == 1
    assert _rows(privacy, f"application={other}&kind=reveal") == 0
    assert "No audit records." in privacy.get(f"{CONSOLE}audit/?since=2999-01-01").content.decode()

    exported = privacy.get(f"{CONSOLE}audit/?kind=search&format=csv")
    assert exported["Content-Disposition"] == 'attachment; filename="audit.csv"'
    rows = list(csv.DictReader(io.StringIO(b"".join(exported.streaming_content).decode())))
    assert [row["kind"] for row in rows] == ["search"]
    record = AuditRecord.objects.get(kind="search")
    assert (rows[0]["seq"], rows[0]["hash"]) == (str(record.seq), record.hash)


def _rows(client: Client, query: str) -> int:
    """Records listed (table rows minus the header; no table when there are none)."""
    return max(client.get(f"{CONSOLE}audit/?{query}").content.decode().count("<tr>") - 1, 0)


def _app_of(session_id: int) -> str:
    return UserSession.objects.get(pk=session_id).application.slug


def test_bad_audit_filters_are_refused_without_echo(planted: Planted) -> None:
    privacy = browser("privacy")
    huge = "9" * 20  # past a 64-bit id: SQLite raised OverflowError (a 500)
    for query in (
        "kind=nonsense",
        "since=yesterday",
        "session=-3",
        f"session={huge}",
        "session=1.5",
        "colour=red",
        "before=x",
        "before=\u00b2",  # a superscript two: isdigit() but no int
        f"before={huge}",
    ):
        response = privacy.get(f"{CONSOLE}audit/?{query}")
        assert response.status_code == 400, query
        assert "nonsense" not in response.content.decode()
        assert "yesterday" not in response.content.decode()
    assert privacy.get(f"{CONSOLE}audit/?user={JANE}").status_code == 400  # an email in a URL


def test_who_looked_lists_searches_reveals_and_exports_of_the_customer(planted: Planted) -> None:
    client_for(officer("agent")).post("/api/v1/sessions/search/", {"user_tag": JANE},
                                      format="json")  # fmt: skip
    client_for(officer("lead")).get(f"/api/v1/sessions/{planted.jane[1]}/")
    client_for(officer("nosy")).get(f"/api/v1/sessions/{planted.bob[0]}/")  # someone else
    privacy = browser("privacy")

    response = privacy.post(f"{CONSOLE}who/", {"email": JANE})
    page = without_csrf_tokens(response.content.decode())
    assert response.status_code == 200
    assert "agent" in page
    assert "lead" in page
    assert "nosy" not in page
    assert JANE_NORMALISED not in page.lower()  # the email is not shown again
    lookup = AuditRecord.objects.filter(kind="search", username="privacy").get()
    assert sorted(lookup.session_ids) == planted.jane


def test_history_shows_settings_grant_and_fieldset_changes(planted: Planted) -> None:
    application_configure(application=planted.shop, actor=Actor(username="ops", method="POST",
                          path="/admin/"), retention_days=90)  # fmt: skip
    officer("newcomer")
    page = browser("privacy").get(f"{CONSOLE}history/").content.decode()
    assert "settings_change" in page
    assert "retention_days" in page
    assert "grant_change" in page
    assert "newcomer" in page
    kinds = set(re.findall(r'<span class="badge">(\w+)</span>', page))
    assert kinds == {"settings_change", "grant_change"}  # changes only, no reveals or searches


def test_a_request_through_the_console_two_officers_and_a_receipt(planted: Planted) -> None:
    first = browser("privacy")
    created = first.post(f"{CONSOLE}requests/", {"user_tag": JANE, "kind": "erase",
                         "reason": "Customer asked by mail", "ticket": "ZD-4711"})  # fmt: skip
    assert created.status_code == 302
    detail_url = created["Location"]
    detail = first.get(detail_url).content.decode()
    assert "shop" in detail
    assert "another privacy officer must approve it" in detail
    assert "Approve and run" not in detail
    request_id = DataSubjectRequest.objects.get().pk
    assert first.post(f"{detail_url}approve/").status_code == 403

    second = browser("privacy2")
    assert "Approve and run" in second.get(detail_url).content.decode()
    assert second.post(f"{detail_url}approve/").status_code == 302
    assert DataSubjectRequest.objects.get().status == "done"
    receipt = second.get(f"{detail_url}receipt/")
    assert receipt["Content-Disposition"] == f'attachment; filename="receipt-{request_id}.json"'
    assert json.loads(receipt.content)["approved_by"] == "privacy2"
    assert not UserSession.objects.filter(pk__in=planted.jane).exists()


def test_the_request_form_never_echoes_the_email(planted: Planted) -> None:
    response = browser("privacy").post(f"{CONSOLE}requests/", {"user_tag": JANE, "kind": "erase",
                                       "reason": f"asked by {JANE}", "ticket": "ZD-1"})  # fmt: skip
    assert response.status_code == 400
    assert "jane" not in without_csrf_tokens(response.content.decode()).lower()
    assert not DataSubjectRequest.objects.exists()


def test_jobs_show_requests_and_rotations(planted: Planted) -> None:
    KeyRotation.objects.create(keyring="blind-index", target_key_id=2, started_by="ops",
                               progress_done=5, progress_total=10)  # fmt: skip
    page = browser("privacy").get(f"{CONSOLE}jobs/").content.decode()
    assert "blind-index" in page
    assert "5/10" in page
