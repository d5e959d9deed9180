"""The fieldset admin shows the impact of a change before it takes effect."""

from __future__ import annotations

import html
import json
import re

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client

from fieldsets.models import BUILTIN_SENSITIVE, Fieldset
from permissions.audit import CODE_METHOD
from permissions.fieldset_admin import CONFIRM
from permissions.models import AuditKind, AuditRecord
from tests.permissions.principals import World, build_world, make_user

pytestmark = pytest.mark.django_db

ADD = "/admin/fieldsets/fieldset/add/"


@pytest.fixture
def world() -> World:
    return build_world()


def browser(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def page(response: object) -> str:
    return html.unescape(response.content.decode())  # type: ignore[attr-defined]


def hidden_inputs(response: object) -> dict[str, str]:
    raw = response.content.decode()  # type: ignore[attr-defined]
    found = re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', raw)
    return {name: html.unescape(value) for name, value in found}


def impact_table(text: str) -> str:
    table = re.search(r'<table class="impact">.*?</table>', text, re.S)
    return table[0] if table else ""


def changes() -> list[AuditRecord]:
    """Fieldset changes made through the admin (the fixtures' own creations, by code, are
    recorded too, as ``CODE``)."""
    records = AuditRecord.objects.filter(kind=AuditKind.FIELDSET_CHANGE)
    return list(records.exclude(method=CODE_METHOD).order_by("id"))


def test_adding_shows_who_loses_what_and_saves_only_on_confirm(world: World) -> None:
    root = browser(world.users["root"])
    form = {"name": "geo", "description": "", "fields": json.dumps(["city"]), "_save": "Save"}
    preview = root.post(ADD, form)
    assert preview.status_code == 200
    text = page(preview)
    assert "Confirm and save" in text
    # Every reader loses the city, the group's members too; the superuser is not listed.
    for principal in ("agent", "lead", "member", "globe", "helpdesk"):
        assert re.search(
            rf"<strong>{principal}</strong></td>\s*<td>[^<]*</td>\s*<td class=\"lost\">city<", text
        ), principal
    assert "<strong>root</strong>" not in impact_table(text)
    assert "every application" in impact_table(text)  # globe reads them all
    assert not Fieldset.objects.filter(name="geo").exists()
    assert changes() == []

    again = hidden_inputs(preview)
    assert again[CONFIRM] == "1"
    assert json.loads(again["fields"]) == ["city"]
    saved = root.post(ADD, again)
    assert saved.status_code == 302
    assert Fieldset.objects.get(name="geo").fields == ["city"]
    [record] = changes()
    assert record.username == "root"
    assert record.path == ADD
    assert record.changes == {
        "action": "create",
        "fieldset": record.fieldsets[0],
        "before": None,
        "after": {"fields": ["city"], "description": ""},
    }


def test_changing_shows_the_impact_then_saves_with_before_and_after(world: World) -> None:
    geo = Fieldset.objects.create(name="geo", fields=["city"])
    root = browser(world.users["root"])
    url = f"/admin/fieldsets/fieldset/{geo.pk}/change/"
    form = {"description": "", "fields": json.dumps(["city", "country"]), "_save": "Save"}
    preview = root.post(url, form)
    assert preview.status_code == 200
    assert re.search(r'<td class="lost">country<', page(preview))
    assert Fieldset.objects.get(name="geo").fields == ["city"]
    assert root.post(url, hidden_inputs(preview)).status_code == 302
    assert Fieldset.objects.get(name="geo").fields == ["city", "country"]
    assert changes()[0].changes["before"]["fields"] == ["city"]
    assert changes()[0].changes["after"]["fields"] == ["city", "country"]


def test_an_invalid_form_shows_its_errors_not_an_impact(world: World) -> None:
    response = browser(world.users["root"]).post(
        ADD, {"name": "money", "description": "", "fields": json.dumps(["revenue"])}
    )
    assert response.status_code == 200
    text = page(response)
    assert "Confirm and save" not in text
    assert "revenue is derived from actions.product.event" in text


def test_built_ins_stay_read_only(world: World) -> None:
    builtin = Fieldset.objects.get(name=BUILTIN_SENSITIVE)
    root = browser(world.users["root"])
    url = f"/admin/fieldsets/fieldset/{builtin.pk}/change/"
    form = {"description": "", "fields": json.dumps(["user_tag"])}
    assert root.post(url, form).status_code == 403
    assert root.post(url, {**form, CONFIRM: "1"}).status_code == 403
    assert root.get(f"/admin/fieldsets/fieldset/{builtin.pk}/delete/").status_code == 403
    assert changes() == []


def test_the_model_permissions_decide_who_may_add(world: World) -> None:
    form = {"name": "geo", "description": "", "fields": json.dumps(["city"]), CONFIRM: "1"}
    staff = make_user("staff")
    staff.is_staff = True
    staff.save()
    assert browser(staff).post(ADD, form).status_code == 403
    staff.user_permissions.add(
        Permission.objects.get(content_type__app_label="fieldsets", codename="add_fieldset")
    )
    assert browser(User.objects.get(pk=staff.pk)).post(ADD, form).status_code == 302
    assert changes()[0].username == "staff"


def test_deleting_shows_who_would_see_more_and_is_audited(world: World) -> None:
    geo = Fieldset.objects.create(name="geo", fields=["city"])
    root = browser(world.users["root"])
    url = f"/admin/fieldsets/fieldset/{geo.pk}/delete/"
    confirmation = page(root.get(url))
    assert "Who would see more" in confirmation
    assert re.search(r'<td class="gained">city<', confirmation)
    assert root.post(url, {"post": "yes"}).status_code == 302
    assert not Fieldset.objects.filter(name="geo").exists()
    assert changes()[0].changes["before"] == {"fields": ["city"], "description": ""}
    assert changes()[0].changes["after"] is None
