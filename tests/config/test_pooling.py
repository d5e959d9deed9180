"""Settings for PostgreSQL behind PgBouncer in transaction mode (docs/operations.md).

Read by real processes, as an operator starts them, since settings are read
once at start. ``.ci/run`` drives the load test through a real PgBouncer.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.config.settings_process import run_with_settings

POOLED = "postgres://rumvault@127.0.0.1:6432/rumvault"  # never connected to here
SHOW = "from django.conf import settings; print(settings.DATABASES['default'].get({key!r}))"


def django_setting(key: str, **variables: str) -> subprocess.CompletedProcess[str]:
    return run_with_settings(SHOW.format(key=key), **variables)


def test_transaction_pooling_reads_chunks_without_server_side_cursors() -> None:
    pooled = django_setting(
        "DISABLE_SERVER_SIDE_CURSORS", DATABASE_URL=POOLED, DATABASE_TRANSACTION_POOLING="true"
    )
    direct = django_setting("DISABLE_SERVER_SIDE_CURSORS", DATABASE_URL=POOLED)
    assert (pooled.stdout.strip(), direct.stdout.strip()) == ("True", "None")


def test_transaction_pooling_refuses_prepared_statements() -> None:
    result = django_setting(
        "OPTIONS",
        DATABASE_URL=POOLED + "?server_side_binding=true",
        DATABASE_TRANSACTION_POOLING="true",
    )
    assert result.returncode != 0
    assert "server_side_binding prepares statements" in result.stderr


def test_transaction_pooling_is_refused_on_sqlite(tmp_path: Path) -> None:
    result = django_setting(
        "OPTIONS",
        DATABASE_URL=f"sqlite:///{tmp_path}/db.sqlite3",
        DATABASE_TRANSACTION_POOLING="true",
    )
    assert result.returncode != 0
    assert "DATABASE_TRANSACTION_POOLING is for PostgreSQL" in result.stderr
