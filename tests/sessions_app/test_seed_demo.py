"""``seed_demo``: refuses without DEBUG, builds the demo, and its data comes out masked."""

from __future__ import annotations

import re
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command
from pytest_django.fixtures import Settings as SettingsWrapper

from fieldsets.models import Fieldset
from permissions.models import ApplicationGroupObjectPermission, ApplicationUserObjectPermission
from sessions_app import user_tags
from sessions_app.management.commands.seed_demo import DEMO_PASSWORD, SENSITIVE_FIELDSET
from sessions_app.models import Application, UserAction, UserSession

pytestmark = pytest.mark.django_db

SESSIONS = 150
# What the demo plants in URLs, errors and attributes; none of it may be stored.
PLANTED = re.compile(r"@example\.com|4111|5555 5555|4012-8888|DE89|hunter2|sid=|Bearer ")


def seed(*args: str) -> str:
    out = StringIO()
    call_command("seed_demo", "--sessions", str(SESSIONS), "--force", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def seeded() -> str:
    return seed()


def test_refuses_to_run_with_debug_off(settings: SettingsWrapper) -> None:
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG") as raised:
        call_command("seed_demo", "--sessions", "1", stdout=StringIO())

    assert raised.value.returncode == 1
    assert not Application.objects.exists()
    assert not get_user_model().objects.exists()


def test_runs_with_debug_on(settings: SettingsWrapper) -> None:
    settings.DEBUG = True
    call_command("seed_demo", "--sessions", "3", stdout=StringIO())
    assert UserSession.objects.count() == 3


def test_creates_the_applications_with_their_privacy_settings(seeded: str) -> None:
    web = Application.objects.get(slug="fashion-store")
    app = Application.objects.get(slug="fashion-store-app")

    assert (web.user_tag_storage, web.ip_masking, web.do_not_track) == ("raw", "all", "anonymous")
    assert web.allowed_properties == ["loyalty_tier", "ab_variant"]
    assert app.user_tag_storage == "encrypted"
    assert UserSession.objects.count() == SESSIONS


def test_creates_the_users_and_prints_the_shared_password(seeded: str) -> None:
    users = {user.username: user for user in get_user_model().objects.all()}

    assert {"agent", "lead", "privacy", "privacy2", "admin"} <= users.keys()
    assert users["admin"].is_superuser
    assert all(
        users[name].is_staff and not users[name].is_superuser
        for name in ("agent", "lead", "privacy")
    )
    assert all(user.check_password(DEMO_PASSWORD) for user in users.values())
    assert DEMO_PASSWORD in seeded


def test_grants_help_desk_lead_and_privacy(seeded: str) -> None:
    users = {user.username: user for user in get_user_model().objects.all()}
    web = Application.objects.get(slug="fashion-store")
    app = Application.objects.get(slug="fashion-store-app")
    fieldset = Fieldset.objects.get(name=SENSITIVE_FIELDSET).permission.codename
    help_desk = Group.objects.get(name="help-desk")

    def per_application(**principal: object) -> set[tuple[str, int]]:
        model = (
            ApplicationUserObjectPermission
            if "user" in principal
            else ApplicationGroupObjectPermission
        )
        rows = model.objects.filter(**principal).values_list(
            "permission__codename", "content_object_id"
        )
        return set(rows)

    assert set(help_desk.user_set.values_list("username", flat=True)) == {"agent", "lead"}
    assert per_application(group=help_desk) == {
        ("read_sessions", web.pk),
        ("read_sessions", app.pk),
    }
    assert per_application(user=users["agent"]) == {("partial_" + fieldset, web.pk)}
    assert per_application(user=users["lead"]) == {(fieldset, web.pk)}
    officer = {"read_sessions", fieldset, "view_auditrecord", "view_datasubjectrequest",
               "create_request", "approve_request", "run_request"}  # fmt: skip
    for username in ("privacy", "privacy2"):
        everywhere = set(users[username].user_permissions.values_list("codename", flat=True))
        assert everywhere == officer
        assert users[username].has_perm("permissions.view_auditrecord")
        assert users[username].has_perm("data_subjects.approve_request")
    assert not users["lead"].has_perm("permissions.view_auditrecord")
    assert not users["lead"].has_perm("data_subjects.create_request")


def test_regulars_have_many_sessions_findable_by_email(seeded: str) -> None:
    jane = user_tags.blind_index_for("jane.doe@example.com")
    assert UserSession.objects.filter(user_tag_blind_index=jane).count() >= SESSIONS // 40


def test_the_shop_stories_are_there(seeded: str) -> None:
    assert UserSession.objects.filter(converted=True, revenue__gt=0).exists()
    assert UserAction.objects.filter(url__endswith="/api/checkout", http_status=500).exists()
    assert UserAction.objects.filter(type="page_view", url__contains="/checkout").exists()
    assert UserAction.objects.filter(url__contains="/account/returns?order=").exists()
    assert UserSession.objects.filter(do_not_track=True, user_id=None, client_ip=None).exists()


def test_planted_personal_data_comes_out_masked(seeded: str) -> None:
    for row in UserAction.objects.values_list(
        "name", "url", "error_message", "error_stack", "headers", "request_attributes"
    ):
        assert not PLANTED.search(str(row)), row
    assert UserAction.objects.filter(error_message="Payment declined for <masked>").exists()
    assert not UserSession.objects.filter(properties__has_key="password").exists()
    assert not UserSession.objects.filter(properties__has_key="cart_token").exists()


def test_tags_are_stored_per_application_mode(seeded: str) -> None:
    mobile = UserSession.objects.filter(application__slug="fashion-store-app")
    assert not mobile.filter(user_tag__isnull=False).exists()
    assert mobile.filter(user_tag_encrypted__isnull=False).exists()
    web_tags = UserSession.objects.filter(
        application__slug="fashion-store", user_id__isnull=False
    ).values_list("user_tag", flat=True)
    assert web_tags
    assert all(tag is not None and tag == user_tags.normalise(tag) for tag in web_tags)


def test_ips_are_masked_and_coordinates_rounded(seeded: str) -> None:
    for ip, latitude in UserSession.objects.exclude(client_ip=None).values_list(
        "client_ip", "geo_latitude"
    ):
        assert ip.endswith(".0") or ip.endswith("::"), ip
        assert latitude == round(latitude, 1)


def test_re_running_reuses_everything_and_duplicates_nothing(seeded: str) -> None:
    actions = UserAction.objects.count()
    output = seed()

    assert "reusing" in output
    assert UserSession.objects.count() == SESSIONS
    assert UserAction.objects.count() == actions
    assert Application.objects.count() == 2


def test_backend_logs_explain_janes_failed_checkout_masked(seeded: str) -> None:
    from logs import selectors as log_selectors
    from logs.models import LogRecord

    jane = user_tags.blind_index_for("jane.doe@example.com")
    failed = [
        session
        for session in UserSession.objects.filter(user_tag_blind_index=jane)
        if session.actions.filter(url__endswith="/api/checkout", http_status=500).exists()
    ]
    assert failed, "Jane has a failed checkout"
    row = UserSession.objects.filter(pk=failed[0].pk).values("id", "application_id", "session_id")
    actions = failed[0].actions.values("trace_id")
    logs = log_selectors.session_logs(session=row.get(), actions=actions)
    bodies = [log["body"] for log in logs]
    assert any(body.startswith("Payment gateway timeout after 30000 ms") for body in bodies)
    assert all(log["session_pk"] == failed[0].pk for log in logs)
    stored = " ".join(f"{r.body} {r.attributes}" for r in LogRecord.objects.all())
    assert "<masked>" in stored
    assert not PLANTED.search(stored)
    assert "never-logged" not in stored
    assert "backend log records added" in seeded


def test_re_running_adds_no_log_records(seeded: str) -> None:
    from logs.models import LogRecord

    count = LogRecord.objects.count()
    seed()
    assert count > 0
    assert LogRecord.objects.count() == count
