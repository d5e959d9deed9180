"""Partial grants and reveal windows: how the policy combines full, partial and none."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from django.core.exceptions import ValidationError
from django.utils import timezone

from fieldsets.models import Fieldset
from fieldsets.registry import SESSION
from permissions.audit import Actor
from permissions.models import AuditRecord, RevealWindow
from permissions.policy import Disclosure, FieldsetPolicy, HiddenFieldLookup, Level
from permissions.services import (
    NothingToReveal,
    RevealNotRequired,
    clean_reason,
    grant_fieldset,
    revoke_fieldset,
)
from sessions_app.applications import application_configure
from sessions_app.models import Application, UserSession
from sessions_app.reads import Reader
from tests.factories import make_application, stored_session
from tests.permissions.principals import SENSITIVE, make_user, reader

pytestmark = pytest.mark.django_db

JANE = "jane.doe@example.com"
SENSITIVE_FIELDS = ["user_tag", "client_ip", "geo_latitude", "geo_longitude"]


@pytest.fixture
def shop() -> Application:
    return make_application("shop")


def row_of(session: UserSession) -> dict[str, Any]:
    return UserSession.objects.filter(pk=session.pk).values(*SESSION.columns).get()


def partial_reader(username: str, *applications: Application) -> User:
    user = reader(username, applications=applications)
    for application in applications:
        grant_fieldset(fieldset_name=SENSITIVE, user=user, application=application, partial=True)
    return user


def require_reason(application: Application) -> None:
    actor = Actor(username="ops", method="COMMAND", path="test")
    application_configure(application=application, actor=actor, reveal_requires_reason=True)


# --- partial grants ----------------------------------------------------------------


@pytest.mark.parametrize("storage", ["raw", "encrypted"])
def test_a_partial_grant_shows_partial_forms_named_in_masked_and_partial_fields(
    storage: str,
) -> None:
    shop = make_application("shop", user_tag_storage=storage)
    session = stored_session(
        shop, user_tag=JANE, client_ip="81.2.69.0", geo_latitude=48.2, geo_longitude=16.4
    )
    policy = FieldsetPolicy(user=partial_reader("agent", shop))

    values, masked, partial = policy.mask_session_parts(row_of(session))

    assert values["user_tag"] == "j•••@example.com"
    assert values["client_ip"] == "81.2.•.•"
    assert (values["geo_latitude"], values["geo_longitude"]) == (48.0, 16.0)
    assert partial == SENSITIVE_FIELDS
    assert masked == SENSITIVE_FIELDS
    assert policy.partial_fields(shop.pk) == frozenset(SENSITIVE_FIELDS)
    assert not set(SENSITIVE_FIELDS) & policy.hidden_fields(shop.pk)


def test_a_partial_grant_is_per_application(shop: Application) -> None:
    other = make_application("other")
    user = reader("agent", applications=(shop, other))
    grant_fieldset(fieldset_name=SENSITIVE, user=user, application=shop, partial=True)
    policy = FieldsetPolicy(user=user)

    values, _, partial = policy.mask_session_parts(row_of(stored_session(other, user_tag=JANE)))

    assert values["user_tag"] is None
    assert partial == []


def test_a_group_partial_grant_counts_and_missing_data_is_not_listed(shop: Application) -> None:
    group = Group.objects.create(name="desk")
    grant_fieldset(fieldset_name=SENSITIVE, group=group, application=shop, partial=True)
    user = reader("member", applications=(shop,))
    user.groups.add(group)
    session = stored_session(shop, client_ip=None, geo_latitude=None, geo_longitude=None)

    values, masked, partial = FieldsetPolicy(user=user).mask_session_parts(row_of(session))

    assert (values["user_tag"], values["client_ip"]) == (None, None)
    assert masked == partial == []


def test_full_beats_partial_and_a_withheld_fieldset_beats_both(shop: Application) -> None:
    user = partial_reader("lead", shop)
    grant_fieldset(fieldset_name=SENSITIVE, user=user, application=shop)
    session = stored_session(shop, user_tag=JANE)
    assert FieldsetPolicy(user=user).mask_session_parts(row_of(session))[0]["user_tag"] == JANE

    # Fail closed: another fieldset containing the IP is not granted at all.
    Fieldset.objects.create(name="network", fields=["client_ip"])
    values, masked, partial = FieldsetPolicy(user=user).mask_session_parts(row_of(session))
    assert values["user_tag"] == JANE
    assert values["client_ip"] is None
    assert masked == ["client_ip"]
    assert partial == []

    # Partially granted too: the lowest level of the two (partial) wins.
    grant_fieldset(fieldset_name="network", user=user, application=shop, partial=True)
    values, _, partial = FieldsetPolicy(user=user).mask_session_parts(row_of(session))
    assert values["client_ip"] == "203.0.•.•"
    assert partial == ["client_ip"]


def test_a_field_without_a_partial_form_stays_masked_under_a_partial_grant(
    shop: Application,
) -> None:
    Fieldset.objects.create(name="place", fields=["city"])
    user = reader("agent", applications=(shop,))
    grant_fieldset(fieldset_name="place", user=user, application=shop, partial=True)

    values, masked, partial = FieldsetPolicy(user=user).mask_session_parts(
        row_of(stored_session(shop))
    )

    assert values["city"] is None
    assert "city" in masked
    assert partial == []


@pytest.mark.parametrize("path", ["user_tag", "client_ip", "geo_latitude", "client_ip__startswith"])
def test_partial_values_are_never_usable_for_lookups(shop: Application, path: str) -> None:
    policy = FieldsetPolicy(user=partial_reader("agent", shop))
    with pytest.raises(HiddenFieldLookup):
        policy.check_lookup(path.split("__")[0], [shop.pk])


def test_partial_reveals_are_audited_as_partial(shop: Application) -> None:
    policy = FieldsetPolicy(user=partial_reader("agent", shop))
    disclosure = Disclosure()

    policy.mask_session_parts(row_of(stored_session(shop, user_tag=JANE)), disclosure)

    assert disclosure.fieldsets == set()
    assert disclosure.partial_fieldsets == {SENSITIVE}
    assert disclosure


def test_revoking_the_partial_grant_applies_on_the_next_policy(shop: Application) -> None:
    user = partial_reader("agent", shop)
    session = stored_session(shop, user_tag=JANE)
    revoke_fieldset(fieldset_name=SENSITIVE, user=user, application=shop, partial=True)

    values, masked, partial = FieldsetPolicy(user=user).mask_session_parts(row_of(session))

    assert values["user_tag"] is None
    assert partial == []
    assert "user_tag" in masked


def test_deleting_a_fieldset_deletes_its_partial_grants(shop: Application) -> None:
    Fieldset.objects.create(name="network", fields=["client_ip"])
    user = reader("agent", applications=(shop,))
    grant_fieldset(fieldset_name="network", user=user, application=shop, partial=True)
    assert FieldsetPolicy(user=user).holds_partially("network", shop.pk)

    Fieldset.objects.get(name="network").delete()
    Fieldset.objects.create(name="network", fields=["client_ip"])

    assert not FieldsetPolicy(user=user).holds_partially("network", shop.pk)


# --- reveal with a reason -------------------------------------------------------------


def open_window(user: User, session: UserSession, reason: str = "HD-4711") -> RevealWindow:
    reader_ = Reader(user=user, actor=Actor(username=user.username, method="POST", path="/x"))
    return reader_.open_window(session.pk, reason=reason)


def test_without_the_setting_a_full_grant_shows_values_as_before(shop: Application) -> None:
    lead = reader("lead", applications=(shop,), fieldset_on=(shop,))
    session = stored_session(shop, user_tag=JANE)
    policy = FieldsetPolicy(user=lead)

    assert policy.mask_session_parts(row_of(session))[0]["user_tag"] == JANE
    assert policy.level(SENSITIVE, shop.pk) is Level.FULL
    with pytest.raises(RevealNotRequired):
        open_window(lead, session)
    assert not RevealWindow.objects.exists()


def test_with_the_setting_values_stay_masked_until_a_window_opens(shop: Application) -> None:
    require_reason(shop)
    lead = reader("lead", applications=(shop,), fieldset_on=(shop,))
    session = stored_session(shop, user_tag=JANE)
    other = stored_session(shop, user_tag="bob@example.com")

    values, masked, _ = FieldsetPolicy(user=lead).mask_session_parts(row_of(session), windowed=True)
    assert values["user_tag"] is None
    assert masked == SENSITIVE_FIELDS

    open_window(lead, session, reason="Ticket HD-4711")
    policy = FieldsetPolicy(user=lead)
    disclosure = Disclosure()
    values, masked, _ = policy.mask_session_parts(row_of(session), disclosure, windowed=True)
    assert values["user_tag"] == JANE
    assert masked == []
    assert disclosure.reason == "Ticket HD-4711"
    # Lists never use windows; another session has none.
    assert policy.mask_session_parts(row_of(session))[0]["user_tag"] is None
    assert policy.mask_session_parts(row_of(other), windowed=True)[0]["user_tag"] is None
    # Lookups need the full level without a window.
    with pytest.raises(HiddenFieldLookup):
        policy.check_lookup("client_ip", [shop.pk])


def test_a_window_expires(shop: Application) -> None:
    require_reason(shop)
    lead = reader("lead", applications=(shop,), fieldset_on=(shop,))
    session = stored_session(shop, user_tag=JANE)
    window = open_window(lead, session)
    RevealWindow.objects.filter(pk=window.pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )

    values, _, _ = FieldsetPolicy(user=lead).mask_session_parts(row_of(session), windowed=True)

    assert values["user_tag"] is None


def test_a_window_belongs_to_its_user(shop: Application) -> None:
    require_reason(shop)
    lead = reader("lead", applications=(shop,), fieldset_on=(shop,))
    other_lead = reader("lead2", applications=(shop,), fieldset_on=(shop,))
    session = stored_session(shop, user_tag=JANE)
    open_window(lead, session)

    values, _, _ = FieldsetPolicy(user=other_lead).mask_session_parts(
        row_of(session), windowed=True
    )

    assert values["user_tag"] is None


def test_a_window_reveals_only_what_is_held_and_a_revocation_ends_it(shop: Application) -> None:
    require_reason(shop)
    lead = reader("lead", applications=(shop,), fieldset_on=(shop,))
    session = stored_session(shop, user_tag=JANE)
    open_window(lead, session)
    revoke_fieldset(fieldset_name=SENSITIVE, user=lead, application=shop)

    values, _, _ = FieldsetPolicy(user=lead).mask_session_parts(row_of(session), windowed=True)

    assert values["user_tag"] is None


def test_a_partial_holder_sees_partial_forms_until_the_reveal(shop: Application) -> None:
    require_reason(shop)
    lead = partial_reader("lead", shop)
    grant_fieldset(fieldset_name=SENSITIVE, user=lead, application=shop)
    session = stored_session(shop, user_tag=JANE)

    before = FieldsetPolicy(user=lead).mask_session_parts(row_of(session), windowed=True)
    open_window(lead, session)
    after = FieldsetPolicy(user=lead).mask_session_parts(row_of(session), windowed=True)

    assert before[0]["user_tag"] == "j•••@example.com"
    assert after[0]["user_tag"] == JANE
    assert after[2] == []


def test_superusers_give_a_reason_too(shop: Application) -> None:
    require_reason(shop)
    root = make_user("root", superuser=True)
    session = stored_session(shop, user_tag=JANE)

    policy = FieldsetPolicy(user=root)
    assert policy.mask_session_parts(row_of(session), windowed=True)[0]["user_tag"] != JANE
    open_window(root, session)
    values = FieldsetPolicy(user=root).mask_session_parts(row_of(session), windowed=True)[0]
    assert values["user_tag"] == JANE


def test_nothing_to_reveal_and_bad_reasons_store_nothing(shop: Application) -> None:
    require_reason(shop)
    agent = partial_reader("agent", shop)
    lead = reader("lead", applications=(shop,), fieldset_on=(shop,))
    session = stored_session(shop, user_tag=JANE)

    with pytest.raises(NothingToReveal):
        open_window(agent, session)
    # Control characters too: PostgreSQL refuses NUL outright (that was a 500).
    for reason in ("", "   ", "x" * 501, "ticket\x004711", "ticket\n4711"):
        with pytest.raises(ValidationError):
            open_window(lead, session, reason=reason)
    assert not RevealWindow.objects.exists()


def test_the_reason_is_kept_masked(shop: Application) -> None:
    assert clean_reason("  HD-4711: jane.doe@example.com called  ") == "HD-4711: <masked> called"
    assert clean_reason("card 4111 1111 1111 1111, ip 81.2.69.142") == "card <masked>, ip <masked>"


def test_a_window_read_is_audited_with_its_reason(shop: Application) -> None:
    require_reason(shop)
    lead = reader("lead", applications=(shop,), fieldset_on=(shop,))
    session = stored_session(shop, user_tag=JANE)
    actor = Actor(username="lead", method="GET", path="/api/v1/sessions/1/")
    read = Reader(user=lead, actor=actor)

    read.open_window(session.pk, reason="Ticket HD-9 for jane.doe@example.com")
    shown = read.session_with_actions(session.pk)

    assert shown.values["user_tag"] == JANE
    record = AuditRecord.objects.get(kind="reveal")
    assert record.reason == "Ticket HD-9 for <masked>"
    assert record.fieldsets == [SENSITIVE]
    assert record.session_ids == [session.pk]
    # The list does not use the window: masked, nothing revealed, nothing audited.
    page = read.present_sessions([row_of(session)])
    assert page[0].values["user_tag"] is None
    assert AuditRecord.objects.filter(kind="reveal").count() == 1
