"""Layered privacy settings: environment defaults, per-application overrides, their sources."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client

from privacy.defaults import PRIVACY_SETTINGS, defaults_from_environment
from sessions_app.models import Application
from tests.permissions.principals import make_user
from tests.sessions_app.ingest_support import batch, new_application, post, session, stored_session

pytestmark = pytest.mark.django_db


def with_defaults(settings: Any, **values: Any) -> None:
    settings.RUMVAULT_PRIVACY_DEFAULTS = {**settings.RUMVAULT_PRIVACY_DEFAULTS, **values}


def test_a_new_application_starts_from_the_environment_defaults_and_follows_them(
    settings: Any, client: Client
) -> None:
    application, token = new_application()
    assert all(source == "environment" for _, _, source in application.effective_settings())
    with_defaults(settings, ip_masking="off", user_tag_storage="pseudonym_only")
    application = Application.objects.get(pk=application.pk)
    assert application.ip_masking == "off"
    post(client, token, batch(session()))
    stored = stored_session()
    assert stored.client_ip == "81.2.69.142"  # the environment's "off" applied at ingest
    assert stored.user_tag is None


def test_an_override_wins_over_the_default_and_inherit_returns_to_it(settings: Any) -> None:
    with_defaults(settings, retention_days=90)
    application, _ = new_application(retention_days=7)
    assert application.retention_days == 7
    assert application.setting_source("retention_days") == "application"
    out = StringIO()
    call_command("configure_application", "shop", "--retention-days", "inherit", stdout=out)
    application.refresh_from_db()
    assert application.retention_days == 90
    assert "retention_days               90" in out.getvalue()
    assert "(environment)" in out.getvalue()


def test_configure_application_without_options_shows_each_value_and_its_source() -> None:
    new_application(user_tag_storage="encrypted")
    out = StringIO()
    call_command("configure_application", "shop", stdout=out)
    lines = {line.split()[0]: line for line in out.getvalue().splitlines()[1:]}
    assert set(lines) == {setting.name for setting in PRIVACY_SETTINGS}
    assert lines["user_tag_storage"].split()[1:] == ["encrypted", "(application)"]
    assert lines["ip_masking"].split()[1:] == ["all", "(environment)"]


def test_create_application_prints_sources_and_the_token_last() -> None:
    out = StringIO()
    call_command("create_application", "shop", "--name", "Shop", "--phone-region", "AT", stdout=out)
    lines = out.getvalue().splitlines()
    assert lines[-1].startswith("rv_")
    assert any("phone_region" in line and "(application)" in line for line in lines)
    assert Application.objects.get().phone_region_override == "AT"


def test_the_admin_shows_where_each_effective_value_comes_from(client: Client) -> None:
    application, _ = new_application(ip_masking="public")
    client.force_login(make_user("root", superuser=True))
    page = client.get(f"/admin/sessions_app/application/{application.pk}/change/").content.decode()
    assert "Effective settings" in page
    assert "<td>ip_masking</td><td><code>public</code></td><td>application</td>" in page
    assert "<td>retention_days</td><td><code>35</code></td><td>environment</td>" in page


def test_the_admin_saves_an_override_and_audits_it(client: Client) -> None:
    from permissions.models import AuditKind, AuditRecord

    application, _ = new_application()
    client.force_login(make_user("root", superuser=True))
    url = f"/admin/sessions_app/application/{application.pk}/change/"
    response = client.post(url, {"name": "Shop", "retention_days_override": "10"})
    assert response.status_code == 302, response.content.decode()[:2000]
    application.refresh_from_db()
    assert application.retention_days == 10
    record = AuditRecord.objects.get(kind=AuditKind.SETTINGS_CHANGE)
    assert record.changes == {"before": {"retention_days": None}, "after": {"retention_days": 10}}


def test_environment_defaults_are_read_and_refused_when_malformed() -> None:
    assert defaults_from_environment({})["ip_masking"] == "all"
    parsed = defaults_from_environment(
        {
            "RUMVAULT_DEFAULT_URI_MASKING": "off",
            "RUMVAULT_DEFAULT_ALLOWED_PROPERTIES": "a, b",
            "RUMVAULT_DEFAULT_PHONE_REGION": "at",
        }
    )
    assert parsed["mask_personal_data_in_uris"] is False
    assert parsed["allowed_properties"] == ("a", "b")
    assert parsed["phone_region"] == "AT"
    with pytest.raises(ValueError, match="RUMVAULT_DEFAULT_IP_MASKING") as error:
        defaults_from_environment(
            {"RUMVAULT_DEFAULT_IP_MASKING": "some", "RUMVAULT_DEFAULT_RETENTION_DAYS": "0"}
        )
    assert "RUMVAULT_DEFAULT_RETENTION_DAYS" in str(error.value)
