"""The audit hash chain: concurrent writers, retention behind checkpoints, key rotation."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from permissions.chain import (
    ChainBroken,
    chain_purge,
    chain_reseal,
    chain_verify,
    chained_fields,
    head_position,
)
from permissions.models import AuditCheckpoint, AuditRecord
from privacy import audit_chain
from privacy.keyring import Keyring, parse_keyring
from tests.conftest import database_is_postgresql
from tests.permissions.chain_support import TABLE, raw, write_records

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=10,
)


@given(st.dictionaries(st.text(max_size=10), json_values, max_size=6))
def test_canonical_form_ignores_key_order_and_empty_values(values: dict[str, object]) -> None:
    reordered = dict(reversed(list(values.items())))
    with_empties = {**values, "\x00added-later-a": None, "\x00added-later-b": ""}
    assert audit_chain.canonical(reordered) == audit_chain.canonical(values)
    assert audit_chain.canonical(with_empties) == audit_chain.canonical(values)


@given(st.text(max_size=30), st.text(max_size=30))
def test_different_contents_hash_differently(a: str, b: str) -> None:
    if a != b and a and b:
        assert audit_chain.link_hash({"path": a}) != audit_chain.link_hash({"path": b})


def test_a_seal_only_holds_under_its_own_key_and_purpose() -> None:
    keys = parse_keyring("1:" + "a" * 32 + ",2:" + "b" * 32)
    sealed = audit_chain.seal("h", purpose=audit_chain.RECORD, keyring=keys)
    assert sealed.startswith("k2_")
    assert audit_chain.seal_holds("h", sealed, purpose=audit_chain.RECORD, keyring=keys)
    assert not audit_chain.seal_holds("h", sealed, purpose=audit_chain.HEAD, keyring=keys)
    assert not audit_chain.seal_holds("g", sealed, purpose=audit_chain.RECORD, keyring=keys)
    retired = parse_keyring("1:" + "a" * 32)
    assert audit_chain.seal_holds("h", sealed, purpose=audit_chain.RECORD, keyring=retired) is None


@pytest.mark.django_db
def test_records_are_chained_in_order_and_every_column_is_covered() -> None:
    records = write_records(3)
    assert [r.seq for r in records] == [1, 2, 3]
    assert records[0].prev_hash == audit_chain.GENESIS
    assert records[1].prev_hash == records[0].hash
    assert head_position() == (3, records[2].hash)
    assert set(chained_fields()) >= {"created_at", "username", "kind", "path", "session_ids",
                                     "search_tag_hash", "changes", "seq", "prev_hash"}  # fmt: skip
    assert chain_verify().holds


def _old_record(days: int) -> AuditRecord:
    return AuditRecord.objects.create(
        created_at=timezone.now() - timedelta(days=days),
        username="old",
        kind="reveal",
        method="GET",
        path="/",
        applications=["shop"],
        session_ids=[1],
        fieldsets=["f"],
    )


@pytest.mark.django_db
def test_purge_keeps_the_chain_verifiable_behind_a_sealed_checkpoint() -> None:
    old = [_old_record(400) for _ in range(4)]
    write_records(2, start=10)
    cutoff = timezone.now() - timedelta(days=365)

    assert chain_purge(cutoff=cutoff, dry_run=True).deleted == 4
    assert AuditRecord.objects.count() == 6
    purge = chain_purge(cutoff=cutoff)

    assert (purge.through_seq, purge.deleted) == (4, 4)
    assert list(AuditRecord.objects.order_by("seq").values_list("seq", flat=True)) == [5, 6]
    checkpoint = AuditCheckpoint.objects.get(reason="retention")
    assert (checkpoint.seq, checkpoint.hash) == (4, old[3].hash)
    assert chain_verify().holds
    # A forged checkpoint (no valid seal) anchors nothing.
    AuditCheckpoint.objects.filter(pk=checkpoint.pk).update(seal="k1_" + "0" * 64)
    assert not chain_verify().holds


@pytest.mark.django_db
def test_purge_stops_at_the_first_record_inside_the_retention() -> None:
    _old_record(400)
    write_records(1)
    _old_record(400)  # old again, but after a kept record: it stays until that one goes
    assert chain_purge(cutoff=timezone.now() - timedelta(days=365)).deleted == 1
    assert AuditRecord.objects.count() == 2
    assert chain_verify().holds


@pytest.mark.django_db
def test_purging_everything_leaves_a_verifiable_empty_trail_that_continues() -> None:
    write_records(3)
    purge = chain_purge(cutoff=timezone.now() + timedelta(seconds=1))
    assert purge.deleted == 3
    assert not AuditRecord.objects.exists()
    assert chain_verify().holds
    (record,) = write_records(1)
    assert record.seq == 4
    assert chain_verify().holds


@pytest.mark.django_db
def test_a_broken_chain_is_neither_purged_nor_resealed() -> None:
    records = write_records(3)
    raw(f"UPDATE {TABLE} SET path = '/x' WHERE id = %s", [records[0].pk])  # noqa: S608

    with pytest.raises(ChainBroken):
        chain_purge(cutoff=timezone.now() + timedelta(seconds=1))
    with pytest.raises(ChainBroken):
        chain_reseal()
    assert AuditRecord.objects.count() == 3


@pytest.mark.django_db
def test_after_a_rotation_the_old_audit_key_can_be_retired(monkeypatch: pytest.MonkeyPatch) -> None:
    old: Keyring = settings.RUMVAULT_AUDIT_KEYS
    write_records(3)
    rotated = Keyring({**old.keys, old.current_id + 1: b"n" * 40})
    new_only = Keyring({old.current_id + 1: b"n" * 40})

    monkeypatch.setattr(settings, "RUMVAULT_AUDIT_KEYS", new_only)
    assert not chain_verify().holds  # the head is sealed with the old key: not yet retirable

    monkeypatch.setattr(settings, "RUMVAULT_AUDIT_KEYS", rotated)
    write_records(2, start=5)
    chain_reseal()

    monkeypatch.setattr(settings, "RUMVAULT_AUDIT_KEYS", new_only)
    report = chain_verify()
    assert report.holds, report.problems
    assert report.retired_seals == 3


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_never_fork_the_chain() -> None:
    if not database_is_postgresql():
        # SQLite's BEGIN IMMEDIATE serialises writers; the race exists only on PostgreSQL.
        write_records(40)
    else:
        barrier = threading.Barrier(8)
        failures: list[BaseException] = []

        def writer(number: int) -> None:
            try:
                barrier.wait()
                write_records(5, start=number * 5)
            except BaseException as error:
                failures.append(error)
            finally:
                connection.close()

        threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert not failures
    assert list(AuditRecord.objects.order_by("seq").values_list("seq", flat=True)) == list(
        range(1, 41)
    )
    assert chain_verify().holds
