"""Fieldset definitions: the seeded built-in, validation, read-only built-ins, the admin."""

from __future__ import annotations

import pytest
from django.contrib.admin.sites import site
from django.contrib.auth.models import Permission
from django.core.exceptions import ValidationError
from django.test import RequestFactory

from fieldsets.models import (
    BUILTIN_FIELDSETS,
    BUILTIN_SENSITIVE,
    Fieldset,
    ReadOnlyFieldset,
    ensure_builtin_fieldsets,
)
from permissions.models import ApplicationUserObjectPermission
from permissions.services import grant_fieldset
from tests.factories import make_application
from tests.permissions.principals import make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def builtin() -> Fieldset:
    return Fieldset.objects.get(name=BUILTIN_SENSITIVE)


def test_migration_seeds_the_builtin_fieldset(builtin: Fieldset) -> None:
    assert builtin.builtin is True
    assert builtin.fields == ["user_tag", "client_ip", "geo_latitude", "geo_longitude"]
    assert builtin.permission.codename == f"reveal_{BUILTIN_SENSITIVE}"
    assert builtin.permission.content_type.app_label == "sessions_app"
    assert builtin.permission.content_type.model == "application"


def test_builtin_fieldsets_are_read_only(builtin: Fieldset) -> None:
    builtin.fields = ["user_tag"]
    with pytest.raises(ReadOnlyFieldset):
        builtin.save()
    with pytest.raises(ReadOnlyFieldset):
        builtin.delete()
    with pytest.raises(ReadOnlyFieldset):
        Fieldset.objects.filter(pk=builtin.pk).update(fields=["user_tag"])
    with pytest.raises(ReadOnlyFieldset):
        Fieldset.objects.all().delete()
    with pytest.raises(ReadOnlyFieldset):
        Fieldset(name="fake-builtin", fields=["city"], builtin=True).save()
    builtin.refresh_from_db()
    assert builtin.fields == ["user_tag", "client_ip", "geo_latitude", "geo_longitude"]


def test_ensure_builtin_fieldsets_is_idempotent() -> None:
    ensure_builtin_fieldsets()
    ensure_builtin_fieldsets()
    assert Fieldset.objects.filter(builtin=True).count() == len(BUILTIN_FIELDSETS)


def test_custom_fieldset_gets_its_own_permission_and_takes_it_away() -> None:
    fieldset = Fieldset.objects.create(name="loyalty", fields=["properties.tier", "city"])
    assert fieldset.permission.codename == "reveal_loyalty"
    user = make_user("lead")
    grant_fieldset(fieldset_name="loyalty", user=user, application=make_application("shop"))
    grant_fieldset(fieldset_name="loyalty", user=user)
    fieldset.delete()
    assert not Permission.objects.filter(codename="reveal_loyalty").exists()
    assert not ApplicationUserObjectPermission.objects.exists()
    assert not user.user_permissions.exists()


def test_custom_fieldsets_are_editable_but_keep_their_name() -> None:
    fieldset = Fieldset.objects.create(name="geo", fields=["city"])
    fieldset.fields = ["city", "country"]
    fieldset.description = "Where"
    fieldset.save()
    fieldset.name = "renamed"
    with pytest.raises(ValidationError):
        fieldset.save()
    with pytest.raises(ReadOnlyFieldset):
        Fieldset.objects.filter(pk=fieldset.pk).update(name="renamed")


@pytest.mark.parametrize(
    "fields",
    [[], "user_tag", ["user_tag", "user_tag"], ["email"], ["id"], ["started_at"], ["user_id"],
     ["properties."], ["properties.has space"], [3]],
)  # fmt: skip
def test_invalid_field_lists_are_refused_on_save(fields: object) -> None:
    with pytest.raises(ValidationError):
        Fieldset.objects.create(name="bad", fields=fields)
    assert not Fieldset.objects.filter(name="bad").exists()


@pytest.mark.parametrize("name", ["Upper", "with space", "-lead", "trail-", "a--b", ""])
def test_names_are_slug_like(name: str) -> None:
    with pytest.raises(ValidationError):
        Fieldset.objects.create(name=name, fields=["city"])


def _admin_request(*, superuser: bool) -> object:
    request = RequestFactory().get("/admin/")
    user = make_user("root" if superuser else "staff", superuser=superuser)
    user.is_staff = True
    request.user = user
    return request


def test_admin_builtin_is_read_only_and_custom_is_superuser_only(builtin: Fieldset) -> None:
    model_admin = site._registry[Fieldset]
    custom = Fieldset.objects.create(name="geo", fields=["city"])
    root = _admin_request(superuser=True)
    assert not model_admin.has_change_permission(root, builtin)
    assert not model_admin.has_delete_permission(root, builtin)
    assert model_admin.has_view_permission(root, builtin)
    assert model_admin.has_add_permission(root)
    assert model_admin.has_change_permission(root, custom)
    assert "name" in model_admin.get_readonly_fields(root, custom)
    assert not model_admin.get_actions(root)  # no bulk delete
    staff = _admin_request(superuser=False)
    assert not model_admin.has_add_permission(staff)
    assert not model_admin.has_change_permission(staff, custom)
    assert not model_admin.has_delete_permission(staff, custom)


def test_admin_pages_render_for_a_superuser(builtin: Fieldset, client: object) -> None:
    root = make_user("root", superuser=True)
    client.force_login(root)  # type: ignore[attr-defined]
    for url in (
        "/admin/fieldsets/fieldset/",
        f"/admin/fieldsets/fieldset/{builtin.pk}/change/",
        "/admin/fieldsets/fieldset/add/",
        "/admin/permissions/auditrecord/",
        "/admin/permissions/applicationuserobjectpermission/",
        "/admin/permissions/applicationgroupobjectpermission/add/",
    ):
        assert client.get(url).status_code == 200, url  # type: ignore[attr-defined]
