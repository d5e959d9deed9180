"""Grant services: guardian direct-FK rows per application, model-level permissions for all."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, User

from permissions.models import ApplicationGroupObjectPermission, ApplicationUserObjectPermission
from permissions.policy import FieldsetPolicy
from permissions.services import (
    UnknownFieldset,
    grant_fieldset,
    grant_record_access,
    revoke_fieldset,
    revoke_record_access,
)
from sessions_app.models import Application
from tests.factories import make_application
from tests.permissions.principals import SENSITIVE, make_user

pytestmark = pytest.mark.django_db

READ = "sessions_app.read_sessions"
REVEAL = f"sessions_app.reveal_{SENSITIVE}"


@pytest.fixture
def shop() -> Application:
    return make_application("shop")


@pytest.fixture
def user() -> User:
    return make_user("agent")


def test_per_application_grants_are_guardian_direct_fk_object_permissions(
    user: User, shop: Application
) -> None:
    other = make_application("other")
    assert grant_record_access(user=user, application=shop) is True
    assert grant_record_access(user=user, application=shop) is False  # idempotent
    row = ApplicationUserObjectPermission.objects.get()
    assert (row.user, row.content_object, row.permission.codename) == (user, shop, "read_sessions")
    # django-guardian's own API understands the direct-FK rows.
    fresh = User.objects.get(pk=user.pk)
    assert fresh.has_perm(READ, shop)
    assert not fresh.has_perm(READ, other)
    assert not fresh.has_perm(READ)


def test_global_grants_are_model_level_permissions(user: User, shop: Application) -> None:
    assert grant_fieldset(fieldset_name=SENSITIVE, user=user) is True
    assert grant_fieldset(fieldset_name=SENSITIVE, user=user) is False
    assert User.objects.get(pk=user.pk).has_perm(REVEAL)
    assert not ApplicationUserObjectPermission.objects.exists()


def test_group_grants_reach_members(shop: Application) -> None:
    group = Group.objects.create(name="helpdesk")
    member = make_user("member", groups=(group,))
    grant_record_access(group=group, application=shop)
    grant_fieldset(fieldset_name=SENSITIVE, group=group, application=shop)
    assert ApplicationGroupObjectPermission.objects.count() == 2
    policy = FieldsetPolicy(user=member)
    assert policy.can_read(shop.pk)
    assert policy.holds(SENSITIVE, shop.pk)
    assert User.objects.get(pk=member.pk).has_perm(READ, shop)


def test_revoke_for_one_application_keeps_the_others(user: User, shop: Application) -> None:
    other = make_application("other")
    for application in (shop, other):
        grant_fieldset(fieldset_name=SENSITIVE, user=user, application=application)
    assert revoke_fieldset(fieldset_name=SENSITIVE, user=user, application=shop) is True
    assert revoke_fieldset(fieldset_name=SENSITIVE, user=user, application=shop) is False
    assert list(
        ApplicationUserObjectPermission.objects.values_list("content_object", flat=True)
    ) == [other.pk]


def test_revoke_without_application_removes_the_grant_everywhere(
    user: User, shop: Application
) -> None:
    grant_record_access(user=user)
    grant_record_access(user=user, application=shop)
    assert revoke_record_access(user=user) is True
    assert not ApplicationUserObjectPermission.objects.exists()
    assert not User.objects.get(pk=user.pk).has_perm(READ)
    assert revoke_record_access(user=user) is False


def test_group_global_grant_and_revoke(shop: Application) -> None:
    group = Group.objects.create(name="leads")
    member = make_user("lead", groups=(group,))
    grant_fieldset(fieldset_name=SENSITIVE, group=group)
    grant_record_access(group=group)
    assert FieldsetPolicy(user=member).holds(SENSITIVE, shop.pk)
    revoke_fieldset(fieldset_name=SENSITIVE, group=group)
    assert not FieldsetPolicy(user=member).holds(SENSITIVE, shop.pk)


def test_exactly_one_principal_and_a_known_fieldset(user: User, shop: Application) -> None:
    group = Group.objects.create(name="g")
    with pytest.raises(ValueError, match="exactly one"):
        grant_record_access(application=shop)
    with pytest.raises(ValueError, match="exactly one"):
        grant_record_access(user=user, group=group, application=shop)
    with pytest.raises(UnknownFieldset):
        grant_fieldset(fieldset_name="nope", user=user)


def test_deleting_an_application_deletes_its_grants(user: User, shop: Application) -> None:
    grant_record_access(user=user, application=shop)
    shop.delete()
    assert not ApplicationUserObjectPermission.objects.exists()
