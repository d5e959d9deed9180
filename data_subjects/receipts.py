"""The receipt handed to the person: what was found and done, when, by whom; signed.

It names the request, its ticket, the officers, the times and the counts per
application and record type, and the position of the run's record in the
audit chain. It holds no user tag (after an erasure rumvault keeps none to
put there; the officer hands it over in the ticket) and nothing about any
other customer. ``signature`` is an HMAC under the audit keyring over the
rest, so rumvault can tell its own receipts from edited ones
(:func:`receipt_verified`) for as long as that key is configured.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.conf import settings

from privacy import audit_chain
from sessions_app.api.serializers import iso_datetime

STATEMENTS = {
    "export": "Everything rumvault held about the person at that time was exported.",
    "anonymise": "The person's user tag, pseudonymous user id, IP addresses, coordinates, "
    "city, properties and free text (page names, URLs, error messages, headers, request "
    "attributes) were removed from every record found; counts, timings, products and "
    "conversions were kept without anything that identifies the person.",
    "erase": "Every record found was deleted.",
}
AFTERWARDS = (
    "rumvault keeps no copy of the user tag: the audit trail names the person only by a "
    "per-subject key, which {what} destroyed. Backups taken before {when} still hold the data "
    "until they expire."
)


def build_receipt(
    *,
    request_id: int,
    kind: str,
    ticket: str,
    reason: str,
    created_by: str,
    created_at: Any,
    approved_by: str,
    approved_at: Any,
    run_by: str,
    started_at: Any,
    finished_at: Any,
    found: Mapping[str, Mapping[str, int]],
    done: Mapping[str, Mapping[str, int]],
    audit_seq: int,
    audit_hash: str,
) -> dict[str, Any]:
    receipt: dict[str, Any] = {
        "receipt": "rumvault data-subject request",
        "request": request_id,
        "kind": kind,
        "ticket": ticket,
        "reason": reason,
        "requested_by": created_by,
        "requested_at": iso_datetime(created_at),
        "approved_by": approved_by or None,
        "approved_at": iso_datetime(approved_at),
        "run_by": run_by,
        "started_at": iso_datetime(started_at),
        "finished_at": iso_datetime(finished_at),
        "found": {slug: dict(by_type) for slug, by_type in found.items()},
        "done": {slug: dict(by_type) for slug, by_type in done.items()},
        "statement": STATEMENTS[kind],
        "audit_record": {"seq": audit_seq, "hash": audit_hash},
    }
    if kind != "export":
        receipt["afterwards"] = AFTERWARDS.format(
            what="this request", when=iso_datetime(finished_at)
        )
    receipt["signature"] = _sign(receipt)
    return receipt


def _sign(receipt: Mapping[str, Any]) -> str:
    body = {key: value for key, value in receipt.items() if key != "signature"}
    return audit_chain.seal(
        audit_chain.link_hash(body),
        purpose=audit_chain.RECEIPT,
        keyring=settings.RUMVAULT_AUDIT_KEYS,
    )


def receipt_verified(receipt: Mapping[str, Any]) -> bool | None:
    """Whether rumvault signed exactly this receipt (``None``: its key was retired)."""
    body = {key: value for key, value in receipt.items() if key != "signature"}
    return audit_chain.seal_holds(
        audit_chain.link_hash(body),
        str(receipt.get("signature", "")),
        purpose=audit_chain.RECEIPT,
        keyring=settings.RUMVAULT_AUDIT_KEYS,
    )
