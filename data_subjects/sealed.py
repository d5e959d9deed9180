"""What a request keeps about the customer while it needs it: encrypted, bound to the request.

AES-256-GCM under ``RUMVAULT_ENCRYPTION_KEYS`` (the keyring of tags encrypted
at rest, so ``rotate_keys --keyring encryption`` re-encrypts these too), with
the request id and the purpose as associated data: a ciphertext copied to
another request, or from the tag column to the export column, does not open.
"""

from __future__ import annotations

from django.conf import settings

from privacy import user_tags

TAG = "tag"
EXPORT = "export"


def _associated(request_id: int, purpose: str) -> bytes:
    return f"rumvault:data-subject-request:{request_id}:{purpose}".encode()


def seal_text(text: str, *, request_id: int, purpose: str) -> str:
    return user_tags.encrypt_user_tag(
        text,
        keyring=settings.RUMVAULT_ENCRYPTION_KEYS,
        associated_data=_associated(request_id, purpose),
    )


def open_text(value: str, *, request_id: int, purpose: str) -> str:
    """The plaintext; ``ValueError`` if tampered with, ``KeyError`` if its key is gone."""
    return user_tags.decrypt_user_tag(
        value,
        keyring=settings.RUMVAULT_ENCRYPTION_KEYS,
        associated_data=_associated(request_id, purpose),
    )
