"""Writing audit records: one per response that revealed fieldset values, one per user-tag search.

Callers write the record *before* returning the response, so a failed audit
write fails the request instead of revealing data unrecorded. A searched tag
is stored only as a keyed hash (``sessions_app.user_tags.audit_hash_for``).
"""

from __future__ import annotations

from collections.abc import Iterable

from django.http import HttpRequest

from fieldsets.policy import Disclosure
from permissions.models import AuditKind, AuditRecord
from sessions_app import user_tags


def audit_reveal(
    *,
    username: str,
    path: str,
    method: str,
    disclosure: Disclosure,
    kind: AuditKind = AuditKind.REVEAL,
) -> AuditRecord | None:
    """Record what ``disclosure`` collected; nothing revealed, no record."""
    if not disclosure:
        return None
    return AuditRecord.objects.create(
        username=username,
        kind=kind,
        method=method,
        path=path,
        applications=sorted(disclosure.applications),
        session_ids=list(disclosure.session_ids),
        fieldsets=sorted(disclosure.fieldsets),
    )


def audit_search(
    *,
    username: str,
    path: str,
    method: str,
    normalised_tag: str,
    applications: Iterable[str],
    session_ids: Iterable[int],
    disclosure: Disclosure,
    kind: AuditKind = AuditKind.SEARCH,
) -> AuditRecord:
    """Record a user-tag search: where it looked, what it found, and what it revealed.

    ``applications`` is the search's scope (the slugs it looked in), so a search
    that found nothing is still attributable; ``session_ids`` are the sessions
    returned; ``fieldsets`` are those whose values the response revealed.
    """
    return AuditRecord.objects.create(
        username=username,
        kind=kind,
        method=method,
        path=path,
        applications=sorted(applications),
        session_ids=list(session_ids),
        fieldsets=sorted(disclosure.fieldsets),
        search_tag_hash=user_tags.audit_hash_for(normalised_tag),
    )


def request_method(request: HttpRequest) -> str:
    """The HTTP method to record for ``request``.

    A served request always has one; only a hand-built ``HttpRequest()`` has
    ``None``, and a record must not claim a method that was never used.
    """
    if request.method is None:
        raise ValueError("an audited request needs an HTTP method")
    return request.method
