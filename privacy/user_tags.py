"""Keyed transformations of a user tag (typically the customer's email).

Four different keys serve four different purposes, so that leaking one
does not compromise the others:

* the *blind index* answers "which sessions have exactly this tag?" without
  storing the tag;
* the *pseudonym* (``user_id``) groups one person's sessions *within one
  application* for every reader without revealing who the person is; the
  same person's pseudonyms in two applications are unrelated without the key,
  so a reader who sees tags in one application cannot join them onto another;
* *encryption* keeps the tag recoverable for granted readers while the
  database only ever holds ciphertext;
* the *audit hash* names a searched tag in the audit trail; it is no blind
  index (other key, other purpose, other prefix), so an audit record can never
  be replayed as a search.

Every value carries the id of the key that made it, so keys can rotate.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import unicodedata

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from privacy.choices import LabelledChoices
from privacy.keyring import Keyring


class UserTagStorage(LabelledChoices):
    """The ``user_tag_storage`` privacy setting: which form of the tag is kept."""

    RAW = "raw", "Raw"
    ENCRYPTED = "encrypted", "Encrypted at rest"
    PSEUDONYM_ONLY = "pseudonym_only", "Pseudonym only (tag not kept)"


PSEUDONYM_PREFIX = "u"
BLIND_INDEX_PREFIX = "b"
CIPHERTEXT_PREFIX = "e"
AUDIT_HASH_PREFIX = "a"
_NONCE_BYTES = 12
_PSEUDONYM_HEX = 32
_PSEUDONYM_SHAPE = re.compile(rf"{PSEUDONYM_PREFIX}([0-9]+)_([0-9a-f]{{{_PSEUDONYM_HEX}}})")


def normalise_user_tag(tag: str) -> str:
    """The form every lookup and hash uses: NFC, surrounding space stripped, lower case."""
    return unicodedata.normalize("NFC", tag).strip().lower()


def _keyed_digest(key: bytes, purpose: bytes, normalised_tag: str) -> str:
    # The purpose label keeps the blind index and the pseudonym unrelated even
    # if an operator configures the same secret for both.
    message = purpose + b"\x00" + normalised_tag.encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def unscoped_pseudonym(normalised_tag: str, *, keyring: Keyring) -> str:
    """``u<key id>_<hex>`` of the tag alone: the same in every application.

    Never stored any more (it would let readers join applications); it is the
    first step of :func:`pseudonym`, and the form stored before pseudonyms
    were scoped, which :func:`scope_pseudonym` turns into the scoped one.
    """
    key_id = keyring.current_id
    digest = _keyed_digest(keyring.current, b"pseudonym", normalised_tag)
    return f"{PSEUDONYM_PREFIX}{key_id}_{digest[:_PSEUDONYM_HEX]}"


def scope_pseudonym(unscoped: str, *, application_id: int, keyring: Keyring) -> str:
    """Re-hash an unscoped pseudonym with the application id, under the key it names.

    Defined on the unscoped value (not on the tag) so that stored rows can be
    migrated without their tag, which ``pseudonym_only`` rows do not keep; a
    migrated row and a newly ingested one of the same person and application
    get the same ``user_id``. This is the stored format: changing it needs a
    new data migration. Raises ``ValueError`` for a value that is no
    pseudonym and ``KeyError`` for a key id missing from the keyring.
    """
    match = _PSEUDONYM_SHAPE.fullmatch(unscoped)
    if match is None:
        raise ValueError("not a pseudonym of the form u<key id>_<32 hex digits>")
    key_id, digest = int(match[1]), match[2]
    message = b"pseudonym-scope\x00" + str(application_id).encode() + b"\x00" + digest.encode()
    scoped = hmac.new(keyring.get(key_id), message, hashlib.sha256).hexdigest()
    return f"{PSEUDONYM_PREFIX}{key_id}_{scoped[:_PSEUDONYM_HEX]}"


def pseudonym(normalised_tag: str, *, application_id: int, keyring: Keyring) -> str:
    """``u<key id>_<hex>``: stable per person within one application, unrelated across them."""
    return scope_pseudonym(
        unscoped_pseudonym(normalised_tag, keyring=keyring),
        application_id=application_id,
        keyring=keyring,
    )


def blind_index(normalised_tag: str, *, keyring: Keyring, key_id: int | None = None) -> str:
    """``b<key id>_<hex>`` for an exact-match lookup; ``key_id`` selects an older key."""
    key_id = keyring.current_id if key_id is None else key_id
    digest = _keyed_digest(keyring.get(key_id), b"blind-index", normalised_tag)
    return f"{BLIND_INDEX_PREFIX}{key_id}_{digest}"


def blind_index_candidates(normalised_tag: str, *, keyring: Keyring) -> list[str]:
    """The blind index under every key, so a search still finds rows written before a rotation."""
    return [blind_index(normalised_tag, keyring=keyring, key_id=key_id) for key_id in keyring.keys]


def audit_hash(normalised_tag: str, *, keyring: Keyring, key_id: int | None = None) -> str:
    """``a<key id>_<hex>``: finds a searched tag's audit subject, never usable as a search key.

    Its own keyring and purpose make it unrelated to the blind index, and its
    prefix means it can never be equal to one, even under the same secret.
    Audit records written before per-subject keys carry this value itself;
    newer ones carry a value derived from the subject's own key
    (``permissions.subjects``). ``key_id`` selects an older key.
    """
    key_id = keyring.current_id if key_id is None else key_id
    digest = _keyed_digest(keyring.get(key_id), b"audit-search", normalised_tag)
    return f"{AUDIT_HASH_PREFIX}{key_id}_{digest}"


def audit_hash_candidates(normalised_tag: str, *, keyring: Keyring) -> list[str]:
    """The audit hash under every key of the keyring (newest first)."""
    ids = sorted(keyring.keys, reverse=True)
    return [audit_hash(normalised_tag, keyring=keyring, key_id=key_id) for key_id in ids]


def _aes_key(secret: bytes) -> bytes:
    # Operators give a passphrase-like secret; AES-256 wants exactly 32 bytes.
    return hashlib.sha256(b"rumvault-user-tag-encryption\x00" + secret).digest()


def encrypt_user_tag(tag: str, *, keyring: Keyring, associated_data: bytes) -> str:
    """AES-256-GCM ciphertext as ``e<key id>:<base64(nonce + ciphertext)>``.

    ``associated_data`` binds the ciphertext to its row (e.g. the application),
    so it cannot be copied to another application's session and decrypted there.
    """
    key_id = keyring.current_id
    nonce = os.urandom(_NONCE_BYTES)
    sealed = AESGCM(_aes_key(keyring.current)).encrypt(nonce, tag.encode(), associated_data)
    encoded = base64.urlsafe_b64encode(nonce + sealed).decode()
    return f"{CIPHERTEXT_PREFIX}{key_id}:{encoded}"


def decrypt_user_tag(value: str, *, keyring: Keyring, associated_data: bytes) -> str:
    """Inverse of :func:`encrypt_user_tag`; raises ``ValueError`` on tampering or a wrong key."""
    prefix, separator, encoded = value.partition(":")
    if not separator or not prefix.startswith(CIPHERTEXT_PREFIX) or not prefix[1:].isdigit():
        raise ValueError("not an encrypted user tag")
    raw = base64.urlsafe_b64decode(encoded.encode())
    nonce, sealed = raw[:_NONCE_BYTES], raw[_NONCE_BYTES:]
    key = _aes_key(keyring.get(int(prefix[1:])))
    try:
        return AESGCM(key).decrypt(nonce, sealed, associated_data).decode()
    except Exception as error:  # InvalidTag carries no message worth keeping
        raise ValueError("user tag ciphertext failed authentication") from error
