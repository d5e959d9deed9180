"""Audit records: append-only everywhere, readable only with permissions.view_auditrecord."""

from __future__ import annotations

import pytest
from django.contrib.admin.sites import site
from django.contrib.auth.models import Permission
from django.db import IntegrityError, transaction
from django.test import RequestFactory

from permissions import subjects
from permissions.audit import Actor, audit_reveal, audit_search
from permissions.models import AppendOnlyError, AuditRecord
from permissions.policy import Disclosure
from sessions_app import user_tags
from sessions_app.user_tags import customer_search
from tests.permissions.principals import api_client, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def record() -> AuditRecord:
    disclosure = Disclosure(session_ids=[3, 1], applications={"shop"}, fieldsets={"f"})
    created = audit_reveal(
        actor=Actor(username="lead", path="/x/", method="GET"), disclosure=disclosure
    )
    assert created is not None
    return created


def test_nothing_revealed_writes_nothing() -> None:
    assert (
        audit_reveal(actor=Actor(username="a", path="/", method="GET"), disclosure=Disclosure())
        is None
    )
    assert AuditRecord.objects.count() == 0


def test_search_records_a_keyed_hash_never_the_tag() -> None:
    record = audit_search(
        actor=Actor(username="agent", path="/api/v1/sessions/search/", method="POST"),
        search=customer_search("Jane@Example.com"),
        applications=["b", "a"],
        session_ids=[7],
        disclosure=Disclosure(),
    )
    assert record.kind == "search"
    assert record.applications == ["a", "b"]
    assert record.search_tag_hash == subjects.current_value(user_tags.normalise("jane@example.com"))
    assert "jane" not in str(AuditRecord.objects.values().get())


def test_records_cannot_be_changed_or_deleted(record: AuditRecord) -> None:
    record.username = "someone-else"
    with pytest.raises(AppendOnlyError):
        record.save()
    with pytest.raises(AppendOnlyError):
        record.delete()
    with pytest.raises(AppendOnlyError):
        AuditRecord.objects.filter(pk=record.pk).update(username="x")
    with pytest.raises(AppendOnlyError):
        AuditRecord.objects.all().delete()
    copy = AuditRecord(pk=record.pk, username="x", kind="reveal", method="GET", path="/")
    with pytest.raises(IntegrityError), transaction.atomic():  # an INSERT, never an UPDATE
        copy.save()
    assert AuditRecord.objects.get(pk=record.pk).username == "lead"


def test_admin_is_read_only(record: AuditRecord) -> None:
    model_admin = site._registry[AuditRecord]
    request = RequestFactory().get("/admin/")
    request.user = make_user("root", superuser=True)
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request, record)
    assert not model_admin.has_delete_permission(request, record)
    assert model_admin.has_view_permission(request, record)
    assert not model_admin.get_actions(request)


def test_audit_endpoint_needs_view_auditrecord(record: AuditRecord) -> None:
    user = make_user("auditor")
    assert api_client(user).get("/api/v1/audit/").status_code == 403
    user.user_permissions.add(Permission.objects.get(codename="view_auditrecord"))
    body = api_client(user).get("/api/v1/audit/?kind=reveal").json()
    assert body["results"][0]["username"] == "lead"
    assert body["results"][0]["session_ids"] == [3, 1]
    assert body["results"][0]["created_at"].endswith("Z")


@pytest.mark.parametrize("value", ["9" * 20, "1.5", "0"])
def test_a_session_filter_that_is_no_record_id_is_a_400_naming_it(
    record: AuditRecord, value: str
) -> None:
    # "9" * 20 is past a 64-bit id: SQLite raised OverflowError, a 500 (schema fuzzer).
    response = api_client(make_user("root", superuser=True)).get(f"/api/v1/audit/?session={value}")

    assert response.status_code == 400
    assert list(response.json()) == ["session"]


def test_audit_dates_are_read_in_utc_whatever_offset_python_accepts(record: AuditRecord) -> None:
    client = api_client(make_user("root", superuser=True))

    # PostgreSQL refuses offsets past +-15:59 (it was a 500 there; schema fuzzer in CI).
    far_offset = client.get("/api/v1/audit/?until=0844-08-19T21:18:35%2B16:44")
    # Shifted to UTC, this one leaves the calendar: the caller's mistake.
    off_the_calendar = client.get("/api/v1/audit/?since=0001-01-01T00:00:00%2B10:00")

    assert far_offset.status_code == 200
    assert far_offset.json()["results"] == []
    assert off_the_calendar.status_code == 400
    assert list(off_the_calendar.json()) == ["since"]


def test_audit_endpoint_is_read_only() -> None:
    client = api_client(make_user("root", superuser=True))
    for method in ("post", "put", "patch", "delete"):
        assert getattr(client, method)("/api/v1/audit/").status_code == 405


def test_audit_endpoint_pages_newest_first() -> None:
    for number in range(7):
        audit_reveal(
            actor=Actor(username=f"user{number}", path="/", method="GET"),
            disclosure=Disclosure(session_ids=[number], applications={"a"}, fieldsets={"f"}),
        )
    client = api_client(make_user("root", superuser=True))
    seen = []
    url: str | None = "/api/v1/audit/?page_size=3&kind=reveal"
    while url:
        body = client.get(url).json()
        seen += [row["username"] for row in body["results"]]
        url = body["next"]
    assert seen == [f"user{number}" for number in reversed(range(7))]


def test_raw_sql_cannot_change_audit_records(record: AuditRecord) -> None:
    # Triggers on both databases (migrations 0003 and 0005), behind the model guards.
    from django.db import DatabaseError, connection

    table = AuditRecord._meta.db_table
    for statement in (
        f"UPDATE {table} SET username = 'someone-else' WHERE id = %s",  # noqa: S608
        f"DELETE FROM {table} WHERE id = %s",  # noqa: S608
    ):
        refused = False
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(statement, [record.pk])
                transaction.set_rollback(True)  # keep the record for the next statement
        except DatabaseError:
            refused = True
        assert refused, statement
    assert AuditRecord.objects.filter(pk=record.pk, username=record.username).exists()
