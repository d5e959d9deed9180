"""The user-tag transformations of ``privacy.user_tags``, keyed from settings.

Callers in Django code use these so no module reads key material itself.
"""

from __future__ import annotations

from django.conf import settings

from privacy import user_tags


def normalise(tag: str) -> str:
    return user_tags.normalise_user_tag(tag)


def pseudonym_for(normalised_tag: str, *, application_id: int) -> str:
    """The ``user_id`` of a tag in one application (unrelated to its ``user_id`` elsewhere)."""
    return user_tags.pseudonym(
        normalised_tag, application_id=application_id, keyring=settings.RUMVAULT_PSEUDONYM_KEYS
    )


def blind_index_for(normalised_tag: str) -> str:
    return user_tags.blind_index(normalised_tag, keyring=settings.RUMVAULT_BLIND_INDEX_KEYS)


def blind_index_candidates_for(normalised_tag: str) -> list[str]:
    return user_tags.blind_index_candidates(
        normalised_tag, keyring=settings.RUMVAULT_BLIND_INDEX_KEYS
    )


def _associated_data(application_id: int) -> bytes:
    return f"rumvault:application:{application_id}".encode()


def encrypt(tag: str, *, application_id: int) -> str:
    return user_tags.encrypt_user_tag(
        tag,
        keyring=settings.RUMVAULT_ENCRYPTION_KEYS,
        associated_data=_associated_data(application_id),
    )


def decrypt(value: str, *, application_id: int) -> str:
    return user_tags.decrypt_user_tag(
        value,
        keyring=settings.RUMVAULT_ENCRYPTION_KEYS,
        associated_data=_associated_data(application_id),
    )


def audit_hash_for(normalised_tag: str) -> str:
    """The keyed hash an audit record keeps for a searched tag: not the tag, not a blind index."""
    return user_tags.audit_hash(normalised_tag, keyring=settings.RUMVAULT_AUDIT_KEYS)
