"""Scoping stored ``user_id`` pseudonyms to their application (migration ``sessions_app.0002``).

Until then ``user_id`` was one keyed hash of the tag, the same in every
application, so a reader who sees tags in one application could map
``user_id`` to email there and read the tags of another application's
sessions by joining. Ingest now writes
``privacy.user_tags.scope_pseudonym(<unscoped>, application_id=...)``; this
module rewrites the rows stored before in exactly the same way, from the
stored value alone (``pseudonym_only`` rows keep no tag), so a customer keeps
one ``user_id`` per application across the migration.

The data migration runs inside its migration's transaction (every row is
rescoped or none is; a re-run can therefore never scope a value twice), in
batches ordered by primary key so memory stays bounded on large tables; the
same ORM calls run on SQLite and PostgreSQL. It is irreversible on purpose:
the unscoped value cannot be recomputed from the scoped one, and bringing it
back would reopen the join.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import DEFAULT_DB_ALIAS

from privacy.keyring import Keyring
from privacy.user_tags import scope_pseudonym

if TYPE_CHECKING:
    from sessions_app.models import UserSession

BATCH_SIZE = 1000


class UnscopableUserId(Exception):
    """A stored ``user_id`` that cannot be scoped: the migration stops, nothing is changed."""


def scope_stored_user_ids(
    sessions: type[UserSession],
    *,
    keyring: Keyring,
    using: str = DEFAULT_DB_ALIAS,
    batch_size: int = BATCH_SIZE,
) -> int:
    """Rescope every non-null ``user_id`` of ``sessions`` with its row's application id.

    ``sessions`` is the ``UserSession`` model (the migration passes its
    historical model). Returns the number of rows rewritten. Raises
    ``UnscopableUserId`` naming the session (never the value) when a
    ``user_id`` is no pseudonym or was made with a key no longer in ``keyring``.
    """
    manager = sessions._default_manager.db_manager(using)
    rewritten = 0
    last_pk = 0
    while True:
        batch = list(
            manager.filter(pk__gt=last_pk, user_id__isnull=False)
            .order_by("pk")
            .only("pk", "application_id", "user_id")[:batch_size]
        )
        if not batch:
            return rewritten
        for row in batch:
            row.user_id = _scoped(row, keyring=keyring)
        manager.bulk_update(batch, ["user_id"])
        rewritten += len(batch)
        last_pk = batch[-1].pk


def _scoped(row: UserSession, *, keyring: Keyring) -> str:
    assert row.user_id is not None  # noqa: S101 (the query excludes NULL)
    try:
        return scope_pseudonym(row.user_id, application_id=row.application_id, keyring=keyring)
    except ValueError:
        raise UnscopableUserId(
            f"Session {row.pk}: its user_id is not a pseudonym (u<key id>_<32 hex digits>)."
        ) from None
    except KeyError as missing:
        raise UnscopableUserId(
            f"Session {row.pk}: {missing.args[0]}; its user_id was made with a pseudonym key "
            "that RUMVAULT_PSEUDONYM_KEYS no longer holds. Put the key back and migrate again."
        ) from None
