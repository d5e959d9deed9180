"""Settings as a freshly started process reads them (they are read once, at start)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[2]
# Never inherited: the test run's own settings module and replica.
INHERITED_NOT = frozenset(
    {"DJANGO_SETTINGS_MODULE", "DATABASE_REPLICA_URL", "TEST_DATABASE_REPLICA_URL"}
)


def run_with_settings(code: str, **variables: str) -> subprocess.CompletedProcess[str]:
    """``code`` run by ``manage.py shell`` with the environment plus ``variables`` (DEBUG on)."""
    environment = {k: v for k, v in os.environ.items() if k not in INHERITED_NOT}
    environment.update(DEBUG="true", **variables)
    return subprocess.run(  # noqa: S603 (our own interpreter and manage.py)
        [sys.executable, "manage.py", "shell", "--no-imports", "-c", code],
        cwd=PROJECT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )
