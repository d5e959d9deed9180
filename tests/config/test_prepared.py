"""Prepared statements (config/prepared.py): the reads that ask for them, and only those.

A generic plan is made once for every value; where a value chooses the plan
(a filter on a rare country) it must never be used. PostgreSQL lists what a
connection has prepared in ``pg_prepared_statements``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from django.db import connection

from config.prepared import prepared_statements
from sessions_app.models import Application, UserSession
from tests.config.settings_process import run_with_settings
from tests.factories import make_application, stored_session
from tests.permissions.principals import api_client, reader

DIRECT = "postgres://rumvault@127.0.0.1:5432/rumvault"  # never connected to here
SHOW = "from django.conf import settings; print(settings.DATABASES['default']['OPTIONS'])"


def _prepared(table: str) -> list[str]:
    """The statements this connection has prepared that read ``table``."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return [sql for (sql,) in cursor.fetchall() if f'FROM "{table}"' in sql]


@pytest.mark.postgres
@pytest.mark.django_db
def test_only_statements_run_inside_the_context_are_prepared() -> None:
    table = Application._meta.db_table
    Application.objects.filter(name="outside").exists()
    with prepared_statements():
        Application.objects.filter(slug="inside").exists()
    statements = _prepared(table)
    assert any('"slug" = $' in sql for sql in statements)
    assert not any('"name" = $' in sql for sql in statements)


@pytest.mark.postgres
@pytest.mark.django_db
def test_a_list_is_prepared_unless_a_filter_value_could_change_its_plan() -> None:
    shop = make_application("shop")
    session = stored_session(shop, country="DE")
    client = api_client(reader("ann", applications=(shop,)))
    table = UserSession._meta.db_table

    assert client.get("/api/v1/sessions/").status_code == 200
    assert client.get(f"/api/v1/sessions/{session.pk}/").status_code == 200
    assert client.get("/api/v1/sessions/", {"application": "shop"}).status_code == 200
    prepared = _prepared(table)
    assert len(prepared) >= 2  # the list (twice, by application) and the session page

    assert client.get("/api/v1/sessions/", {"country": "DE"}).json()["results"]
    assert not any('"country" = $' in sql for sql in _prepared(table))


def test_prepared_statements_are_on_for_a_direct_connection_only() -> None:
    direct = run_with_settings(SHOW, DATABASE_URL=DIRECT)
    pooled = run_with_settings(SHOW, DATABASE_URL=DIRECT, DATABASE_TRANSACTION_POOLING="true")
    off = run_with_settings(SHOW, DATABASE_URL=DIRECT, DATABASE_PREPARED_STATEMENTS="false")
    assert "'server_side_binding': True" in direct.stdout
    assert "server_side_binding" not in pooled.stdout
    assert "server_side_binding" not in off.stdout


def test_prepared_statements_are_refused_where_they_cannot_work(tmp_path: Path) -> None:
    pooled = run_with_settings(
        SHOW,
        DATABASE_URL=DIRECT,
        DATABASE_TRANSACTION_POOLING="true",
        DATABASE_PREPARED_STATEMENTS="true",
    )
    sqlite = run_with_settings(
        SHOW, DATABASE_URL=f"sqlite:///{tmp_path}/db.sqlite3", DATABASE_PREPARED_STATEMENTS="true"
    )
    assert pooled.returncode != 0
    assert "transaction pooling cannot carry prepared statements" in pooled.stderr
    assert sqlite.returncode != 0
    assert "DATABASE_PREPARED_STATEMENTS is for PostgreSQL" in sqlite.stderr
