"""Project-wide fixtures: users, applications and an API client."""

from __future__ import annotations

import pytest
from django.conf import settings
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings

# Hypothesis: bounded, deterministic enough for CI on two cores.
hypothesis_settings.register_profile(
    "ci",
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
hypothesis_settings.load_profile("ci")


@pytest.fixture(autouse=True)
def _fast_password_hashing() -> None:
    # Real hashers make every login in a test cost ~100 ms; security is not under test there.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def database_is_postgresql() -> bool:
    return settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"
