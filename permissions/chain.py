"""The audit trail as a hash chain: appending, verifying, purging and re-sealing it.

Every ``AuditRecord`` is appended through :func:`chain_append` (``AuditRecord.save``
calls it): under a lock on the chain's head row it takes the next position
(``seq``), links to the previous hash, hashes the record and seals the hash
under the audit keyring, then moves the sealed head. On PostgreSQL the lock is
``SELECT ... FOR UPDATE`` of the head row, so concurrent writers queue instead
of forking the chain; on SQLite every write transaction is ``BEGIN IMMEDIATE``
(``config.settings``), which serialises them already.

:func:`chain_verify` (``manage.py verify_audit``) recomputes the chain from the
stored records and reports, by position, every record changed, removed or
inserted, also by raw SQL that got past the append-only triggers.
:func:`chain_purge` deletes records past the audit retention behind a sealed
checkpoint; :func:`chain_reseal` seals the head and the checkpoints under the
newest audit key, after which records sealed with an older key need it no
longer (``rotate_keys --keyring audit``).

The pure parts (canonical form, hashing, seals) are ``privacy.audit_chain``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import QuerySet
from django.utils import timezone

from permissions.models import (
    AppendOnlyError,
    AuditChainHead,
    AuditCheckpoint,
    AuditRecord,
)
from privacy import audit_chain
from privacy.audit_chain import GENESIS
from privacy.keyring import Keyring

HEAD_PK = 1
# Columns the chain does not cover: the row id (a storage detail) and the
# record's own hash and seal, which are computed over everything else.
_UNCHAINED = frozenset({"id", "hash", "seal"})
VERIFY_CHUNK = 5000
MAX_PROBLEMS = 20
PURGE_BATCH = 5000
# PostgreSQL: the append-only trigger (migration 0006) lets a DELETE through
# only while this transaction-local setting is on; only chain_purge sets it.
PURGE_SETTING = "rumvault.audit_purge"
# SQLite: the delete trigger stands down while this table holds a row (0005).
PURGE_TABLE = "permissions_audit_purge"


class ChainBroken(Exception):
    """The chain cannot be appended to or purged safely; ``verify_audit`` says where."""


def audit_keyring() -> Keyring:
    keyring: Keyring = settings.RUMVAULT_AUDIT_KEYS
    return keyring


@cache
def chained_fields() -> tuple[str, ...]:
    """The columns a record's hash covers: every column of the model but id, hash, seal.

    Derived from the model, so a column added later is covered without a list
    to update; it must be nullable (``None`` is left out of the canonical
    form), or the records written before it would no longer verify.
    """
    return tuple(
        f.attname for f in AuditRecord._meta.concrete_fields if f.attname not in _UNCHAINED
    )


def _json_native(value: Any) -> Any:
    """A value as the database gives it back: JSON columns round-trip through JSON."""
    if isinstance(value, (list, tuple, dict)):
        return json.loads(json.dumps(value))
    if isinstance(value, str):
        return str(value)  # a TextChoices member becomes its plain value
    return value


def record_hash(values: dict[str, Any]) -> str:
    """The hash of a record's chained values, normalised as the database will give them back."""
    return audit_chain.link_hash({name: _json_native(values[name]) for name in chained_fields()})


def _head_seal(seq: int, chain_hash: str, keyring: Keyring) -> str:
    return audit_chain.seal(
        audit_chain.position(seq, chain_hash), purpose=audit_chain.HEAD, keyring=keyring
    )


def _checkpoint_seal(seq: int, chain_hash: str, reason: str, keyring: Keyring) -> str:
    message = audit_chain.position(seq, chain_hash) + ":" + reason
    return audit_chain.seal(message, purpose=audit_chain.CHECKPOINT, keyring=keyring)


def _locked_head() -> AuditChainHead:
    """The head row, locked until the transaction ends; created at genesis on an empty trail."""
    head = AuditChainHead.objects.select_for_update().filter(pk=HEAD_PK).first()
    if head is not None:
        return head
    # Genesis, or two first writers at once: one row (the second insert waits for the
    # first's commit, then does nothing), and both lock it. Only then is "no head but
    # records" told apart from "another writer made the head meanwhile".
    AuditChainHead.objects.bulk_create(
        [
            AuditChainHead(
                pk=HEAD_PK, seq=0, hash=GENESIS, seal=_head_seal(0, GENESIS, audit_keyring())
            )
        ],
        ignore_conflicts=True,
    )
    head = AuditChainHead.objects.select_for_update().get(pk=HEAD_PK)
    if head.seq == 0 and AuditRecord.objects.exists():
        # Someone removed the head: appending now would start a second chain.
        raise ChainBroken("the audit chain's head is missing; run manage.py verify_audit")
    return head


def _link(record: AuditRecord, head: AuditChainHead, keyring: Keyring) -> None:
    record.seq = head.seq + 1
    record.prev_hash = head.hash
    record.hash = record_hash({name: getattr(record, name) for name in chained_fields()})
    record.seal = audit_chain.seal(record.hash, purpose=audit_chain.RECORD, keyring=keyring)
    head.seq, head.hash = record.seq, record.hash


def _move(head: AuditChainHead, keyring: Keyring) -> None:
    head.seal = _head_seal(head.seq, head.hash, keyring)
    head.updated_at = timezone.now()
    head.save(update_fields=["seq", "hash", "seal", "updated_at"])


def chain_append(record: AuditRecord, *, insert: Callable[[], None]) -> None:
    """Link ``record`` to the chain and ``insert`` it, in one transaction with the head."""
    keyring = audit_keyring()
    with transaction.atomic():
        head = _locked_head()
        _link(record, head, keyring)
        insert()
        _move(head, keyring)


def chain_append_many(records: list[AuditRecord]) -> None:
    """Append many records at once (benchmarks, imports): one lock, one bulk insert."""
    keyring = audit_keyring()
    with transaction.atomic():
        head = _locked_head()
        for record in records:
            _link(record, head, keyring)
        QuerySet.bulk_create(AuditRecord.objects.all(), records, batch_size=2000)
        _move(head, keyring)


# --- verification ---------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    seq: int | None  # the position where it shows, if there is one
    message: str

    def __str__(self) -> str:
        return self.message if self.seq is None else f"at seq {self.seq}: {self.message}"


@dataclass
class Verification:
    records: int = 0
    first_seq: int | None = None
    last_seq: int | None = None
    head_hash: str = ""
    problems: list[Problem] = field(default_factory=list)
    # Records sealed with a key no longer configured: still anchored by the
    # head and the checkpoints sealed with a newer key (``chain_reseal``).
    retired_seals: int = 0

    @property
    def holds(self) -> bool:
        return not self.problems

    def add(self, seq: int | None, message: str) -> None:
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(Problem(seq, message))


def _valid_checkpoints(keyring: Keyring, report: Verification) -> dict[int, str]:
    """Checkpoints whose seal holds under a key we have: hash by position."""
    valid: dict[int, str] = {}
    for checkpoint in AuditCheckpoint.objects.order_by("seq", "id"):
        held = audit_chain.seal_holds(
            audit_chain.position(checkpoint.seq, checkpoint.hash) + ":" + checkpoint.reason,
            checkpoint.seal,
            purpose=audit_chain.CHECKPOINT,
            keyring=keyring,
        )
        if held is False:
            report.add(checkpoint.seq, "a checkpoint's seal does not match (checkpoint altered)")
        elif held:
            if valid.get(checkpoint.seq, checkpoint.hash) != checkpoint.hash:
                report.add(checkpoint.seq, "two sealed checkpoints disagree about this position")
            valid[checkpoint.seq] = checkpoint.hash
    return valid


def _rows() -> Iterator[tuple[Any, ...]]:
    columns = (*chained_fields(), "hash", "seal")
    rows = AuditRecord.objects.order_by("seq").values_list(*columns)
    return rows.iterator(chunk_size=VERIFY_CHUNK)


def chain_verify(*, progress: Callable[[int], None] | None = None) -> Verification:
    """Recompute the chain and compare it with every hash, seal, checkpoint and the head.

    Finds a changed record (its hash no longer matches its content), a removed
    one (a gap in ``seq`` and a broken link), an inserted one (a broken link, a
    seal that does not hold), a rewritten tail (seals), removed newest records
    (the sealed head) and a removed beginning that no retention checkpoint
    covers. Reads in chunks of ``VERIFY_CHUNK`` rows, so memory stays flat.
    """
    keyring = audit_keyring()
    report = Verification()
    checkpoints = _valid_checkpoints(keyring, report)
    names = chained_fields()
    seq_at, prev_at = names.index("seq"), names.index("prev_hash")
    expected_prev: str | None = None
    expected_seq: int | None = None
    width = len(names)
    for row in _rows():
        stored_hash, stored_seal = row[width], row[width + 1]
        seq, prev = row[seq_at], row[prev_at]
        if expected_seq is None:
            report.first_seq = seq
            anchor = GENESIS if seq == 1 else checkpoints.get(seq - 1)
            if anchor is None:
                report.add(
                    seq, f"records before seq {seq} are missing and no checkpoint covers them"
                )
            elif prev != anchor:
                report.add(seq, "the first record does not follow its checkpoint")
        else:
            if seq != expected_seq:
                report.add(seq, f"records {expected_seq}..{seq - 1} are missing (removed)")
            if prev != expected_prev:
                report.add(
                    seq,
                    "link broken: the previous hash does not match (record removed "
                    "or inserted before this one)",
                )
        # The database gives JSON columns back as JSON types: no normalising needed.
        computed = audit_chain.link_hash(dict(zip(names, row[:width], strict=True)))
        if computed != stored_hash:
            report.add(seq, "the record's content does not match its hash (record changed)")
        held = audit_chain.seal_holds(
            stored_hash, stored_seal, purpose=audit_chain.RECORD, keyring=keyring
        )
        if held is False:
            report.add(
                seq, "the record's seal does not hold (written or rewritten outside rumvault)"
            )
        elif held is None:
            report.retired_seals += 1
        if seq in checkpoints and checkpoints[seq] != computed:
            report.add(seq, "the chain does not reach this checkpoint's hash")
        report.records += 1
        expected_seq, expected_prev = seq + 1, computed
        report.last_seq = seq
        if progress is not None and report.records % VERIFY_CHUNK == 0:
            progress(report.records)
    _verify_head(report, keyring, expected_seq, expected_prev, checkpoints)
    return report


def _verify_head(
    report: Verification,
    keyring: Keyring,
    expected_seq: int | None,
    last_hash: str | None,
    checkpoints: dict[int, str],
) -> None:
    head = AuditChainHead.objects.filter(pk=HEAD_PK).first()
    if head is None:
        if report.records:
            report.add(None, "the chain's head is missing")
        return
    report.head_hash = head.hash
    held = audit_chain.seal_holds(
        audit_chain.position(head.seq, head.hash),
        head.seal,
        purpose=audit_chain.HEAD,
        keyring=keyring,
    )
    if held is False:
        report.add(head.seq, "the head's seal does not hold (head altered)")
    elif held is None:
        report.add(
            head.seq,
            "the head is sealed with a key no longer configured: put the key "
            "back, then rotate_keys --keyring audit before retiring it",
        )
    if expected_seq is None:  # no records at all: everything was purged, or nothing written
        if head.seq and checkpoints.get(head.seq) != head.hash:
            report.add(head.seq, "the trail is empty but the head says otherwise (records removed)")
        return
    if head.seq != expected_seq - 1:
        if head.seq > expected_seq - 1:
            report.add(
                expected_seq,
                f"records {expected_seq}..{head.seq} are missing (removed from the end)",
            )
        else:
            report.add(
                head.seq + 1, f"records after the head ({head.seq}) were added outside rumvault"
            )
    elif head.hash != last_hash:
        report.add(head.seq, "the newest record does not match the head")


# --- checkpoints, purge, re-seal --------------------------------------------------------


def _checkpoint(seq: int, chain_hash: str, *, reason: str, detail: dict[str, Any]) -> None:
    keyring = audit_keyring()
    AuditCheckpoint.objects.create(
        seq=seq,
        hash=chain_hash,
        reason=reason,
        detail=detail,
        seal=_checkpoint_seal(seq, chain_hash, reason, keyring),
    )


def chain_reseal() -> int:
    """Seal the head and every checkpoint still needed under the newest audit key.

    Verifies first (a broken chain is never re-sealed: that would vouch for
    it), then writes a ``key_rotation`` checkpoint at the head, so every record
    up to it is anchored by a seal under the new key. Returns the head's position.
    """
    report = chain_verify()
    if not report.holds:
        raise ChainBroken(f"the audit chain does not verify ({report.problems[0]}); not re-sealed")
    keyring = audit_keyring()
    with transaction.atomic():
        head = _locked_head()
        start = (report.first_seq or head.seq + 1) - 1
        for checkpoint in AuditCheckpoint.objects.filter(seq__gte=start).order_by("seq", "id"):
            if audit_chain.seal_key_id(checkpoint.seal) != keyring.current_id:
                _checkpoint(
                    checkpoint.seq,
                    checkpoint.hash,
                    reason=checkpoint.reason,
                    detail={**checkpoint.detail, "resealed": True},
                )
        _checkpoint(head.seq, head.hash, reason="key_rotation", detail={"key": keyring.current_id})
        _move(head, keyring)
        return head.seq


@dataclass(frozen=True)
class Purge:
    through_seq: int  # the newest position deleted (0: nothing)
    deleted: int


def purgeable_through(cutoff: datetime) -> int:
    """The newest position such that it and every record before it is older than ``cutoff``."""
    first_kept = (
        AuditRecord.objects.filter(created_at__gte=cutoff).order_by("seq").values("seq").first()
    )
    if first_kept is not None:
        return int(first_kept["seq"]) - 1
    newest = AuditRecord.objects.order_by("-seq").values("seq").first()
    return int(newest["seq"]) if newest else 0


def chain_purge(*, cutoff: datetime, dry_run: bool = False) -> Purge:
    """Delete the records older than ``cutoff`` from the start of the chain, behind a checkpoint.

    Only a verified chain is purged (deleting a tampered stretch would destroy
    the evidence). The sealed checkpoint at the last deleted position lets the
    verifier accept that the trail now starts later.
    """
    through = purgeable_through(cutoff)
    first = AuditRecord.objects.order_by("seq").values_list("seq", flat=True).first()
    if not through or first is None or through < first:
        return Purge(0, 0)
    count = AuditRecord.objects.filter(seq__lte=through).count()
    if dry_run:
        return Purge(through, count)
    report = chain_verify()
    if not report.holds:
        raise ChainBroken(f"the audit chain does not verify ({report.problems[0]}); not purged")
    last = AuditRecord.objects.filter(seq=through).values_list("hash", flat=True).get()
    with transaction.atomic():
        _locked_head()  # no writer in between; the checkpoint and the deletes go together
        _checkpoint(
            through,
            last,
            reason="retention",
            detail={"deleted": count, "before": cutoff.isoformat()},
        )
        _delete_through(through)
    return Purge(through, count)


def _delete_through(through: int) -> None:
    """Delete records ``seq <= through`` past the append-only triggers, in this transaction only."""
    table = connection.ops.quote_name(AuditRecord._meta.db_table)
    seq_column = connection.ops.quote_name("seq")
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT set_config(%s, 'on', true)", [PURGE_SETTING])
        elif connection.vendor == "sqlite":
            cursor.execute(f"INSERT INTO {PURGE_TABLE} (purging) VALUES (1)")  # noqa: S608
        try:
            while True:
                cursor.execute(
                    f"DELETE FROM {table} WHERE id IN (SELECT id FROM {table} "  # noqa: S608
                    f"WHERE {seq_column} <= %s ORDER BY {seq_column} LIMIT %s)",
                    [through, PURGE_BATCH],
                )
                if cursor.rowcount < PURGE_BATCH:
                    break
        finally:
            if connection.vendor == "postgresql":
                cursor.execute("SELECT set_config(%s, 'off', true)", [PURGE_SETTING])
            elif connection.vendor == "sqlite":
                cursor.execute(f"DELETE FROM {PURGE_TABLE}")  # noqa: S608


def head_position() -> tuple[int, str]:
    head = AuditChainHead.objects.filter(pk=HEAD_PK).values_list("seq", "hash").first()
    return (int(head[0]), str(head[1])) if head else (0, GENESIS)


__all__ = [
    "AppendOnlyError",
    "ChainBroken",
    "Purge",
    "Verification",
    "chain_append",
    "chain_append_many",
    "chain_purge",
    "chain_reseal",
    "chain_verify",
    "head_position",
]
