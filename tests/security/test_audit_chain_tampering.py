"""Tampering with the audit trail through raw SQL is found by ``verify_audit``, with its position.

The append-only triggers stop a stray UPDATE or DELETE; a database owner can
switch them off. These tests do that (``guards_lifted``) and then change,
remove or insert records the way such a person would, and check that the
verifier names where the chain breaks. On ``main`` there is no chain and no
``verify_audit``: every test here fails there.
"""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from permissions.chain import chain_verify, record_hash
from permissions.models import AuditRecord
from privacy import audit_chain
from privacy.keyring import parse_keyring
from tests.permissions.chain_support import TABLE, raw, verify_exit_code, write_records

pytestmark = pytest.mark.django_db
NOT_OUR_KEY = parse_keyring("1:" + "x" * 40)  # an intruder's guess at the audit key


def test_an_untouched_trail_verifies_and_exits_0() -> None:
    write_records(5)
    out = io.StringIO()
    call_command("verify_audit", stdout=out)
    assert "Audit chain holds: 5 records" in out.getvalue()


def test_an_update_by_raw_sql_is_found_at_its_record() -> None:
    records = write_records(6)
    raw(f"UPDATE {TABLE} SET username = 'nobody' WHERE id = %s", [records[2].pk])  # noqa: S608

    report = chain_verify()
    assert not report.holds
    assert report.problems[0].seq == records[2].seq
    assert "changed" in report.problems[0].message
    assert verify_exit_code() == 1


def test_an_update_that_also_rewrites_the_hashes_is_found_by_the_seals() -> None:
    # The chain alone needs no key; someone recomputing every hash after a
    # change is stopped by the seals, which need the audit key.
    records = write_records(4)
    target = records[1]
    raw(f"UPDATE {TABLE} SET session_ids = '[999]' WHERE id = %s", [target.pk])  # noqa: S608
    previous = target.prev_hash
    for record in records[1:]:
        values = AuditRecord.objects.filter(pk=record.pk).values().get()
        values["prev_hash"] = previous
        new_hash = record_hash(values)
        raw(
            f"UPDATE {TABLE} SET prev_hash = %s, hash = %s WHERE id = %s",  # noqa: S608
            [previous, new_hash, record.pk],
        )
        previous = new_hash

    problems = chain_verify().problems
    assert problems
    assert problems[0].seq == target.seq
    assert "seal" in problems[0].message


def test_a_delete_by_raw_sql_is_found_where_the_gap_is() -> None:
    records = write_records(6)
    raw(f"DELETE FROM {TABLE} WHERE id = %s", [records[3].pk])  # noqa: S608

    report = chain_verify()
    assert not report.holds
    assert report.problems[0].seq == records[4].seq
    assert "missing" in report.problems[0].message
    assert verify_exit_code() == 1


def test_deleting_the_newest_records_is_found_by_the_sealed_head() -> None:
    records = write_records(5)
    raw(f"DELETE FROM {TABLE} WHERE seq >= %s", [records[3].seq])  # noqa: S608

    problems = chain_verify().problems
    assert [p.seq for p in problems] == [records[3].seq]
    assert "removed from the end" in problems[0].message


def test_deleting_the_oldest_records_without_a_checkpoint_is_found() -> None:
    records = write_records(5)
    raw(f"DELETE FROM {TABLE} WHERE seq <= %s", [records[1].seq])  # noqa: S608

    problems = chain_verify().problems
    assert problems[0].seq == records[2].seq
    assert "no checkpoint covers them" in problems[0].message


def test_an_insert_by_raw_sql_is_found() -> None:
    records = write_records(3)
    last = records[-1]
    forged = {
        "created_at": last.created_at.isoformat(),
        "username": "ghost",
        "kind": "reveal",
        "method": "GET",
        "path": "/",
        "applications": '["shop"]',
        "session_ids": "[1]",
        "log_ids": "[]",
        "fieldsets": "[]",
        "partial_fieldsets": "[]",
        "seq": last.seq + 1,
        "prev_hash": last.hash,
        "hash": "f" * 64,
        "seal": audit_chain.seal("f" * 64, purpose=audit_chain.RECORD, keyring=NOT_OUR_KEY),
    }
    columns = ", ".join(forged)
    placeholders = ", ".join(["%s"] * len(forged))
    raw(f"INSERT INTO {TABLE} ({columns}) VALUES ({placeholders})", list(forged.values()))  # noqa: S608

    report = chain_verify()
    assert not report.holds
    assert {p.seq for p in report.problems} == {last.seq + 1}
    assert verify_exit_code() == 1


def test_an_insert_in_the_middle_is_found() -> None:
    records = write_records(4)
    # Make room by moving the later records up one position, as an intruder would.
    raw(f"UPDATE {TABLE} SET seq = seq + 100 WHERE seq > %s", [records[1].seq])  # noqa: S608
    raw(
        f"INSERT INTO {TABLE} (created_at, username, kind, method, path, applications, "  # noqa: S608
        "session_ids, log_ids, fieldsets, partial_fieldsets, seq, prev_hash, hash, seal) "
        "VALUES (%s, 'ghost', 'reveal', 'GET', '/', '[]', '[]', '[]', '[]', '[]', %s, %s, %s, %s)",
        [records[1].created_at, records[1].seq + 1, records[1].hash, "e" * 64, "k1_" + "0" * 64],
    )

    problems = chain_verify().problems
    assert problems[0].seq == records[1].seq + 1
