"""A database for one benchmark run, dropped afterwards.

PostgreSQL: a new database on the server of ``DATABASE_URL`` (the role needs
CREATEDB). Otherwise: a SQLite file in a temporary directory.
``throwaway_database`` serves servers started in other processes (load,
fault); ``in_process_database`` sets Django up in this process (ingest, read).
"""

from __future__ import annotations

import os
import sys
import tempfile
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit


def is_postgresql(url: str) -> bool:
    return url.startswith(("postgres://", "postgresql://"))


@contextmanager
def throwaway_database(name: str) -> Iterator[str]:
    """Yield a ``DATABASE_URL`` for a fresh, empty database called ``name``."""
    url = os.environ.get("DATABASE_URL", "")
    if not is_postgresql(url):
        with tempfile.TemporaryDirectory() as directory:
            yield f"sqlite:///{directory}/{name}.sqlite3"
        return
    import psycopg

    parts = urlsplit(url)
    admin_url = url
    with psycopg.connect(admin_url, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlunsplit(parts._replace(path=f"/{name}"))
    finally:
        with psycopg.connect(admin_url, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def in_process_database(name: str) -> Iterator[bool]:
    """Set Django up in this process on a fresh database ``name``; yields "is PostgreSQL".

    For benchmarks that call the code directly: the configured ``DATABASE_URL``
    (or a temporary SQLite file) only names the server; the benchmark gets a
    database of its own, created like a test database and destroyed afterwards.
    """
    project = str(Path(__file__).resolve().parent.parent)
    if project not in sys.path:
        sys.path.insert(0, project)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    from config.keys import generate_keys

    for variable, value in generate_keys().items():  # DEBUG stays off, as in production
        os.environ.setdefault(variable, value)
    # The benchmarks repeat searches and ingests far beyond any person's rate.
    os.environ.setdefault("RUMVAULT_RATE_SEARCH", "1000000/s")
    os.environ.setdefault("RUMVAULT_RATE_INGEST", "1000000/s")
    os.environ.setdefault("RUMVAULT_RATE_INGEST_LOGS", "1000000/s")
    os.environ.setdefault("LOG_LEVEL", "WARNING")  # no request log lines in the timings
    # whitenoise warns when collectstatic has not run; irrelevant here.
    warnings.filterwarnings("ignore", message="No directory at")
    with tempfile.TemporaryDirectory(prefix="rumvault-bench-") as scratch:
        os.environ.setdefault("DATABASE_URL", f"sqlite:///{scratch}/{name}.sqlite3")
        import django
        from django.conf import settings

        django.setup()
        settings.DEBUG = False  # DEBUG keeps every query in memory
        settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]  # django.test.Client
        from django.db import connection

        postgres = connection.vendor == "postgresql"
        connection.settings_dict["TEST"]["NAME"] = name if postgres else f"{scratch}/{name}.sqlite3"
        original_name = settings.DATABASES["default"]["NAME"]
        connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
        try:
            yield postgres
        finally:
            connection.creation.destroy_test_db(original_name, verbosity=0)
