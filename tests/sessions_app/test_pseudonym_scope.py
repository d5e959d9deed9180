"""``scope_stored_user_ids``: what migration 0002 runs over every stored session."""

from __future__ import annotations

import pytest

from privacy.keyring import parse_keyring
from privacy.user_tags import scope_pseudonym, unscoped_pseudonym
from sessions_app.models import Application, UserSession
from sessions_app.pseudonym_scope import UnscopableUserId, scope_stored_user_ids
from tests.factories import make_application, stored_session

pytestmark = pytest.mark.django_db

OLD = parse_keyring("1:the-pseudonym-key-before-the-rotation-0000")
ROTATED = parse_keyring(
    "1:the-pseudonym-key-before-the-rotation-0000,2:the-pseudonym-key-after-the-rotation-11111"
)


def with_user_id(application: Application, user_id: str | None) -> UserSession:
    """A session whose ``user_id`` was written by an older release.

    Low level on purpose: ingest today stores application-scoped pseudonyms
    only, and the unscoped ones the migration rewrites cannot be sent as
    ingest input, so the column is set directly on an ingested session.
    """
    session = stored_session(application)
    UserSession.objects.filter(pk=session.pk).update(user_id=user_id)
    return session


def test_every_stored_user_id_is_rescoped_in_batches_under_its_own_key() -> None:
    web, app = make_application("web"), make_application("app", user_tag_storage="pseudonym_only")
    jane_old = unscoped_pseudonym("jane@example.com", keyring=OLD)  # written before the rotation
    jane_new = unscoped_pseudonym("jane@example.com", keyring=ROTATED)  # written after it
    rows = {
        "web-old": with_user_id(web, jane_old),
        "web-new": with_user_id(web, jane_new),
        "app-old": with_user_id(app, jane_old),
        "app-new": with_user_id(app, jane_new),
        "web-old-again": with_user_id(web, jane_old),
        "anonymous": with_user_id(app, None),
    }

    assert scope_stored_user_ids(UserSession, keyring=ROTATED, batch_size=2) == 5

    stored = dict(UserSession.objects.values_list("pk", "user_id"))
    user_id = {name: stored[session.pk] for name, session in rows.items()}
    assert user_id["anonymous"] is None
    assert user_id["web-old"] == scope_pseudonym(jane_old, application_id=web.pk, keyring=OLD)
    assert user_id["web-old"].startswith("u1_")
    assert user_id["web-new"].startswith("u2_")
    assert user_id["web-old"] == user_id["web-old-again"]  # still one person per application
    assert len(set(user_id.values()) - {None}) == 4  # and another one in the other application


def test_queries_grow_with_batches_not_rows(django_assert_num_queries) -> None:
    web = make_application("web")
    for number in range(6):
        with_user_id(web, unscoped_pseudonym(f"c{number}@example.com", keyring=OLD))
    # One SELECT and one UPDATE per batch of three, and the SELECT that finds no more rows.
    with django_assert_num_queries(5):
        scope_stored_user_ids(UserSession, keyring=OLD, batch_size=3)


def test_a_user_id_that_is_no_pseudonym_stops_the_migration_naming_only_the_session() -> None:
    session = with_user_id(make_application("web"), "jane@example.com")
    with pytest.raises(UnscopableUserId) as stopped:
        scope_stored_user_ids(UserSession, keyring=OLD)
    assert f"Session {session.pk}" in str(stopped.value)
    assert "jane" not in str(stopped.value)


def test_a_user_id_of_a_removed_key_stops_the_migration_and_says_what_to_do() -> None:
    session = with_user_id(make_application("web"), "u3_" + "0" * 32)
    with pytest.raises(UnscopableUserId, match="RUMVAULT_PSEUDONYM_KEYS") as stopped:
        scope_stored_user_ids(UserSession, keyring=ROTATED)
    assert f"Session {session.pk}" in str(stopped.value)
    assert "key with id 3" in str(stopped.value)
