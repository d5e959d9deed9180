"""The user-tag transformations of ``privacy.user_tags``, keyed from settings.

Callers in Django code use these so no module reads key material itself.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError

from privacy import user_tags

# The one name a user tag goes by in a search body (and is refused under in a URL).
USER_TAG = "user_tag"


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
    """The tag's hash under the audit keyring: finds its audit subject (never a search key)."""
    return user_tags.audit_hash(normalised_tag, keyring=settings.RUMVAULT_AUDIT_KEYS)


def normalised_search_tag(value: object) -> str:
    """The normalised tag of a search, or ``ValidationError`` (the message never echoes it)."""
    if not isinstance(value, str):
        raise ValidationError({USER_TAG: "Give the user tag as a string."})
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate from JSON: cannot be hashed
        raise ValidationError({USER_TAG: "The user tag is not valid Unicode text."}) from None
    normalised = normalise(value)
    if not normalised:
        raise ValidationError({USER_TAG: "The user tag is empty."})
    if len(normalised) > settings.RUMVAULT_USER_TAG_MAX_LENGTH:
        raise ValidationError({USER_TAG: "The user tag is too long."})
    return normalised


@dataclass(frozen=True)
class CustomerSearch:
    """A user-tag search as keyed values only, never the tag.

    ``blind_indexes`` (the tag's blind index under every key of the keyring)
    say which sessions match; ``audit_hash`` (under the audit keyring) finds
    the customer's audit subject, whose own key makes the value the audit
    record carries (``permissions.subjects``); neither that value nor
    ``audit_hash`` is ever accepted as a search key.
    """

    blind_indexes: tuple[str, ...]
    audit_hash: str


def customer_search(value: object) -> CustomerSearch:
    """The keyed values of a searched tag, or ``ValidationError`` (never echoing it)."""
    normalised = normalised_search_tag(value)
    return CustomerSearch(
        blind_indexes=tuple(blind_index_candidates_for(normalised)),
        audit_hash=audit_hash_for(normalised),
    )
