"""Model constraints and privacy-settings validation."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from sessions_app.applications import application_create
from sessions_app.models import Application, UserAction, UserSession

pytestmark = pytest.mark.django_db

STARTED = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)


@pytest.fixture
def application() -> Application:
    return application_create(slug="shop", name="Shop")[0]


def test_new_application_has_the_documented_privacy_defaults(application: Application) -> None:
    assert application.ip_masking == "all"
    assert application.mask_personal_data_in_uris is True
    assert application.do_not_track == "anonymous"
    assert application.allowed_properties == []
    assert application.user_tag_storage == "raw"
    assert application.retention_days == 35


@pytest.mark.parametrize("days", [0, 3658, 10000])
def test_retention_days_outside_1_to_3657_is_invalid(application: Application, days: int) -> None:
    application.retention_days = days
    with pytest.raises(ValidationError) as error:
        application.full_clean()
    assert "retention_days_override" in error.value.message_dict


@pytest.mark.parametrize("days", [1, 3657])
def test_retention_days_bounds_are_valid(application: Application, days: int) -> None:
    application.retention_days = days
    application.full_clean()


def test_database_refuses_retention_outside_range_even_without_validation(
    application: Application,
) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        Application.objects.filter(pk=application.pk).update(retention_days_override=4000)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("ip_masking", "some"),
        ("do_not_track", "maybe"),
        ("user_tag_storage", "plaintext"),
        ("allowed_properties", "loyalty_tier"),
        ("allowed_properties", ["a", "a"]),
        ("allowed_properties", ["", "b"]),
    ],
)
def test_invalid_privacy_setting_is_refused(
    application: Application, field: str, value: object
) -> None:
    setattr(application, field, value)
    with pytest.raises(ValidationError) as error:
        application.full_clean()
    assert f"{field}_override" in error.value.message_dict


def test_database_refuses_unknown_ip_masking_mode(application: Application) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        Application.objects.filter(pk=application.pk).update(ip_masking_override="some")


def test_session_id_is_unique_per_application(application: Application) -> None:
    other = application_create(slug="other", name="Other")[0]
    UserSession.objects.create(application=application, session_id="s-1", started_at=STARTED)
    # The same client id in another application is a different session.
    UserSession.objects.create(application=other, session_id="s-1", started_at=STARTED)
    with pytest.raises(IntegrityError), transaction.atomic():
        UserSession.objects.create(application=application, session_id="s-1", started_at=STARTED)


def test_action_seq_is_unique_per_session(application: Application) -> None:
    session = UserSession.objects.create(
        application=application, session_id="s-1", started_at=STARTED
    )
    other = UserSession.objects.create(
        application=application, session_id="s-2", started_at=STARTED
    )
    app = application
    UserAction.objects.create(
        application=app, session=session, seq=0, type="click", timestamp=STARTED
    )
    UserAction.objects.create(
        application=app, session=other, seq=0, type="click", timestamp=STARTED
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        UserAction.objects.create(
            application=app, session=session, seq=0, type="page_view", timestamp=STARTED
        )


def test_session_str_names_only_the_primary_key(application: Application) -> None:
    session = UserSession.objects.create(
        application=application,
        session_id="s-1",
        started_at=STARTED,
        user_tag="jane@example.com",
        client_ip="203.0.113.0",
    )
    assert "jane" not in str(session)
    assert "203.0.113" not in str(session)
    # session_id may be in a custom fieldset, so it stays out too.
    assert session.session_id not in str(session)
    assert str(session) == f"Session {session.pk}"
