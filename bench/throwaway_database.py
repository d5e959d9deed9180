"""A database for one benchmark run, dropped afterwards.

PostgreSQL: a new database on the server of ``DATABASE_URL`` (the role needs
CREATEDB). Otherwise: a SQLite file in a temporary directory.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
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
