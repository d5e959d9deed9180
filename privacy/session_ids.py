"""What is stored for a client ``session_id`` in which a detector found something.

``session_id`` is the idempotency key of ingest (unique per application; a
re-sent beacon with the same id updates the session). Masking it like free text
would turn ``s-jane@example.com`` and ``s-max@example.com`` into the same
``s-<masked>`` and merge two customers' sessions. Instead such an id is replaced
as a whole by a keyed digest: stable for one id within one application (re-sends
still merge), different between applications, and not reversible without the key.

An id that already looks like a digest is digested again, so no client can send
a value that lands on another session's digest.
"""

from __future__ import annotations

import hashlib
import hmac

from privacy.keyring import Keyring

DIGEST_PREFIX = "<masked:"
_PURPOSE = b"session-id"


def session_id_digest(
    session_id: str, *, application_id: int, keyring: Keyring, key_id: int | None = None
) -> str:
    """``<masked:s<key id>_<32 hex>>`` under the current key, or ``key_id``'s."""
    key_id = keyring.current_id if key_id is None else key_id
    message = b"\x00".join((_PURPOSE, str(application_id).encode(), session_id.encode()))
    digest = hmac.new(keyring.get(key_id), message, hashlib.sha256).hexdigest()[:32]
    return f"{DIGEST_PREFIX}s{key_id}_{digest}>"


def stored_session_ids(
    session_id: str, masked: str, *, application_id: int, keyring: Keyring
) -> list[str]:
    """The id to store for ``session_id`` first, then the ids it was stored under
    with older keys (so that a re-send after a key rotation finds its session).

    ``masked`` is ``session_id`` after the detectors; when they changed nothing
    the client's id is kept as it is.
    """
    if masked == session_id and not session_id.startswith(DIGEST_PREFIX):
        return [session_id]
    current = keyring.current_id
    key_ids = [current, *sorted((key for key in keyring.keys if key != current), reverse=True)]
    return [
        session_id_digest(session_id, application_id=application_id, keyring=keyring, key_id=key)
        for key in key_ids
    ]
