"""Per-subject keys: what an audit record carries for a searched customer, and how it is forgotten.

A search used to leave ``HMAC(audit key, tag)`` in the audit trail: whoever
holds the audit key and an email can find every search for that person,
forever, also after the person was erased. Now each customer named in the
trail gets an ``AuditSubject`` row with a random key of its own, found by the
tag's audit hash (``lookup``), and records carry
``as_`` + HMAC(subject key, purpose). While the row exists, an officer who
types the email finds the records ("who looked at this customer?"). An
anonymisation or erasure deletes the row, and with it the only way from the
tag to those values: the records stay complete and the chain verifies, but
nothing links them to the person any more (``docs/privacy-model.md``,
"After erasure").

A search never stores the tag: the read paths pass the lookup
(``CustomerSearch.audit_hash``), and only code that holds the tag anyway
(the console's "who looked", data-subject requests) looks under every key.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable
from datetime import date

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from permissions.models import AuditSubject
from privacy import user_tags

SUBJECT_PREFIX = "as_"
_PURPOSE = b"rumvault-audit-subject"


def _value(key_hex: str) -> str:
    return SUBJECT_PREFIX + hmac.new(bytes.fromhex(key_hex), _PURPOSE, hashlib.sha256).hexdigest()


def lookups_for(normalised_tag: str) -> list[str]:
    """The tag's audit hash under every audit key, newest first."""
    return user_tags.audit_hash_candidates(normalised_tag, keyring=settings.RUMVAULT_AUDIT_KEYS)


def search_value(lookup: str) -> str:
    """The value an audit record carries for the subject of ``lookup`` (created on first use)."""
    today = timezone.localdate()
    subject = AuditSubject.objects.filter(lookup=lookup).first()
    if subject is None:
        try:
            with transaction.atomic():
                subject = AuditSubject.objects.create(lookup=lookup, key=secrets.token_hex(32))
        except IntegrityError:  # another request created it in the meantime
            subject = AuditSubject.objects.get(lookup=lookup)
    elif subject.last_used_on < today:
        # Touched at most once a day: retention forgets subjects nobody looked up for longer
        # than the audit records themselves are kept.
        AuditSubject.objects.filter(pk=subject.pk).update(last_used_on=today)
    return _value(subject.key)


def current_value(normalised_tag: str) -> str | None:
    """The value new audit records carry for this tag, or ``None`` if it has no subject yet."""
    key = (
        AuditSubject.objects.filter(lookup__in=lookups_for(normalised_tag))
        .order_by("-last_used_on")
        .values_list("key", flat=True)
        .first()
    )
    return None if key is None else _value(key)


def recorded_values(normalised_tag: str) -> list[str]:
    """Every value audit records may carry for this tag: per-subject ones, then legacy hashes.

    Legacy values (records written before per-subject keys) are the tag's
    audit hash under each configured key; they stop leading anywhere once the
    key they were made with is retired.
    """
    lookups = lookups_for(normalised_tag)
    keys = AuditSubject.objects.filter(lookup__in=lookups).values_list("key", flat=True)
    return [*(_value(key) for key in keys), *lookups]


def subject_forget(normalised_tag: str) -> int:
    """Destroy the tag's subject keys (every key version); returns how many rows went."""
    deleted, _ = AuditSubject.objects.filter(lookup__in=lookups_for(normalised_tag)).delete()
    return deleted


def subjects_rekey(normalised_tags: Iterable[str]) -> int:
    """Move the subjects of these tags to the newest audit key's lookup (key rotation).

    The subject's own key is kept, so the values already in the trail still
    lead to it. A tag with a subject under the newest key already keeps that
    one (older rows expire with retention). Returns how many rows moved.
    """
    wanted: dict[str, str] = {}  # older lookup -> current lookup
    currents: set[str] = set()
    for tag in set(normalised_tags):
        current, *older = lookups_for(tag)
        currents.add(current)
        wanted.update(dict.fromkeys(older, current))
    if not wanted:
        return 0
    taken = set(AuditSubject.objects.filter(lookup__in=currents).values_list("lookup", flat=True))
    moved: list[AuditSubject] = []
    for subject in AuditSubject.objects.filter(lookup__in=list(wanted)).order_by("-last_used_on"):
        current = wanted[subject.lookup]
        if current not in taken:
            subject.lookup = current
            taken.add(current)
            moved.append(subject)
    AuditSubject.objects.bulk_update(moved, ["lookup"])
    return len(moved)


def subjects_on_key(key_id: int) -> int:
    """How many subjects are still found only under ``key_id``."""
    prefix = f"{user_tags.AUDIT_HASH_PREFIX}{key_id}_"
    return AuditSubject.objects.filter(lookup__startswith=prefix).count()


def stale(*, unused_before: date) -> QuerySet[AuditSubject]:
    """Subjects nobody looked up since ``unused_before``: every record naming them is older."""
    return AuditSubject.objects.filter(last_used_on__lt=unused_before)
