"""FieldsetPolicy: record access, hidden fields, masking semantics, lookups, query budget."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser, Group, User
from django.core.exceptions import PermissionDenied

from fieldsets.models import Fieldset
from fieldsets.registry import SESSION
from permissions.policy import Disclosure, FieldsetPolicy, HiddenFieldLookup
from permissions.services import grant_fieldset, grant_record_access
from sessions_app.models import Application, UserSession
from sessions_app.reads import row_of as instance_row
from tests.factories import make_application, stored_session
from tests.permissions.principals import REQUEST_DETAILS_FIELDS, SENSITIVE, make_user, reader

pytestmark = pytest.mark.django_db

SENSITIVE_FIELDS = ["user_tag", "client_ip", "geo_latitude", "geo_longitude"]


@pytest.fixture
def shop() -> Application:
    return make_application("shop", allowed_properties=["tier", "lang", "a"])


def row_of(session: UserSession) -> dict[str, Any]:
    return UserSession.objects.filter(pk=session.pk).values(*SESSION.columns).get()


def test_fields_in_no_fieldset_are_always_visible(shop: Application) -> None:
    policy = FieldsetPolicy(user=reader("agent", applications=(shop,)))
    assert policy.hidden_fields(shop.pk) == frozenset(SENSITIVE_FIELDS) | REQUEST_DETAILS_FIELDS
    values, masked = policy.mask_session(row_of(stored_session(shop, user_tag="a@example.com")))
    assert masked == SENSITIVE_FIELDS
    assert values["city"] == "Vienna"
    assert values["user_id"].startswith("u1_")


def test_a_field_is_hidden_while_any_fieldset_containing_it_is_withheld(
    shop: Application,
) -> None:
    Fieldset.objects.create(name="coordinates", fields=["geo_latitude", "geo_longitude"])
    user = reader("agent", applications=(shop,))
    grant_fieldset(fieldset_name="coordinates", user=user, application=shop)
    # The built-in fieldset also contains the coordinates and is not granted.
    assert {"geo_latitude", "geo_longitude"} <= FieldsetPolicy(user=user).hidden_fields(shop.pk)
    grant_fieldset(fieldset_name=SENSITIVE, user=user, application=shop)
    assert FieldsetPolicy(user=user).hidden_fields(shop.pk) == REQUEST_DETAILS_FIELDS


def test_missing_data_is_null_but_not_listed(shop: Application) -> None:
    policy = FieldsetPolicy(user=reader("agent", applications=(shop,)))
    session = stored_session(shop, client_ip=None, geo_latitude=None, geo_longitude=48.0)
    values, masked = policy.mask_session(row_of(session))
    assert masked == ["geo_longitude"]
    assert values["geo_longitude"] is None
    assert values["user_tag"] is None


def test_property_fields_null_the_key_only(shop: Application) -> None:
    Fieldset.objects.create(name="loyalty", fields=["properties.tier", "country"])
    policy = FieldsetPolicy(user=reader("agent", applications=(shop,)))
    with_tier = stored_session(shop, properties={"tier": "gold", "lang": "de"})
    without_tier = stored_session(shop, properties={"lang": "de"}, country="")
    values, masked = policy.mask_session(row_of(with_tier))
    assert values["properties"] == {"tier": None, "lang": "de"}
    assert masked == ["client_ip", "geo_latitude", "geo_longitude", "country", "properties.tier"]
    values, masked = policy.mask_session(row_of(without_tier))
    assert values["properties"] == {"lang": "de"}
    assert "properties.tier" not in masked
    assert "country" not in masked  # empty: no data
    assert values["country"] is None


def test_whole_properties_field_can_be_hidden(shop: Application) -> None:
    Fieldset.objects.create(name="props", fields=["properties"])
    policy = FieldsetPolicy(user=reader("agent", applications=(shop,)))
    values, masked = policy.mask_session(row_of(stored_session(shop, properties={"a": 1})))
    assert values["properties"] is None
    assert "properties" in masked
    with pytest.raises(HiddenFieldLookup):
        policy.check_lookup("properties.a", [shop.pk])


def test_encrypted_tags_are_decrypted_only_when_revealed(
    caplog: pytest.LogCaptureFixture,
) -> None:
    vault = make_application("vault", user_tag_storage="encrypted")
    session = stored_session(vault, user_tag="Jane@Example.com")
    lead = FieldsetPolicy(user=reader("lead", applications=(vault,), fieldset_on=(vault,)))
    assert lead.mask_session(row_of(session))[0]["user_tag"] == "jane@example.com"
    agent = FieldsetPolicy(user=reader("agent", applications=(vault,)))
    assert agent.mask_session(row_of(session))[1][0] == "user_tag"
    # Ciphertext bound to another application does not decrypt: null, logged without data.
    moved = row_of(session) | {"application_id": 0}
    other = make_application("other", user_tag_storage="encrypted")
    grant_record_access(user=lead.user, application=other)
    grant_fieldset(fieldset_name=SENSITIVE, user=lead.user, application=other)
    with caplog.at_level(logging.WARNING):
        values, masked = FieldsetPolicy(user=lead.user).mask_session(
            moved | {"application_id": other.pk}
        )
    assert values["user_tag"] is None
    assert masked == []
    assert "could not be decrypted" in caplog.text
    assert "jane" not in caplog.text.lower()


def test_mask_accepts_model_instances_for_the_admin_and_dashboard(shop: Application) -> None:
    session = stored_session(shop, user_tag="a@example.com")
    policy = FieldsetPolicy(user=reader("agent", applications=(shop,)))
    assert policy.mask_session(instance_row(session, SESSION)) == policy.mask_session(
        row_of(session)
    )


def test_mask_refuses_rows_of_unreadable_applications(shop: Application) -> None:
    session = stored_session(make_application("other"))
    with pytest.raises(PermissionDenied):
        FieldsetPolicy(user=reader("agent", applications=(shop,))).mask_session(row_of(session))


def test_check_lookup_names_the_field_and_respects_the_scope(shop: Application) -> None:
    vault = make_application("vault")
    policy = FieldsetPolicy(user=reader("lead", applications=(shop, vault), fieldset_on=(shop,)))
    policy.check_lookup("client_ip", [shop.pk])
    policy.check_lookup("city")
    with pytest.raises(HiddenFieldLookup) as refused:
        policy.check_lookup("client_ip")
    assert refused.value.field == "client_ip"
    assert "client_ip" in str(refused.value)


def test_disclosure_collects_only_rows_that_revealed_data(shop: Application) -> None:
    policy = FieldsetPolicy(user=reader("lead", applications=(shop,), fieldset_on=(shop,)))
    revealing = stored_session(shop, user_tag="a@example.com")
    empty = stored_session(shop, client_ip=None, geo_latitude=None, geo_longitude=None)
    disclosure = Disclosure()
    for session in (revealing, empty):
        policy.mask_session(row_of(session), disclosure)
    assert disclosure.session_ids == [revealing.pk]
    assert disclosure.applications == {"shop"}
    assert disclosure.fieldsets == {SENSITIVE}


@pytest.mark.parametrize("user", ["anonymous", "inactive"])
def test_anonymous_and_inactive_users_read_nothing(shop: Application, user: str) -> None:
    principal: User | AnonymousUser = AnonymousUser()
    if user == "inactive":
        principal = reader("gone", applications=(shop,))
        principal.is_active = False
    policy = FieldsetPolicy(user=principal)
    assert dict(policy.applications) == {}
    assert not policy.can_read(shop.pk)


def test_loading_takes_a_fixed_number_of_queries_whatever_the_grants(
    shop: Application, django_assert_num_queries: Any
) -> None:
    applications = [shop, *(make_application(f"app-{n}") for n in range(8))]
    for number in range(5):
        Fieldset.objects.create(name=f"custom-{number}", fields=["city"])
    groups = [Group.objects.create(name=f"g{n}") for n in range(6)]
    user = make_user("busy", groups=tuple(groups))
    for application in applications:
        grant_record_access(user=user, application=application)
        for group in groups:
            grant_fieldset(fieldset_name="custom-1", group=group, application=application)
    grant_fieldset(fieldset_name="custom-2", user=user)
    policy = FieldsetPolicy(user=user)
    # fieldsets, applications and every grant: one UNION ALL
    with django_assert_num_queries(1):
        for application in applications:
            policy.hidden_fields(application.pk)
    assert "city" in policy.hidden_fields(shop.pk)  # custom-0, -3, -4 withheld


def test_superusers_hold_everything(shop: Application, django_assert_num_queries: Any) -> None:
    Fieldset.objects.create(name="loyalty", fields=["city"])
    policy = FieldsetPolicy(user=make_user("root", superuser=True))
    with django_assert_num_queries(1):  # fieldsets and applications, no grant rows
        assert policy.hidden_fields(shop.pk) == frozenset()
        assert policy.reads_all_applications
    assert policy.holds_everywhere("loyalty")
