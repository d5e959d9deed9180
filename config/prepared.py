"""Prepared statements for the reads whose best plan does not depend on their values.

PostgreSQL plans a statement every time it runs unless the statement is
prepared; a prepared one can be run with a generic plan, made once per
connection. The masked list page's query (its summary subquery over every
action partition) took 0.27 ms to plan, the session page's 0.36 ms: as
much as running them (``bench/read.py``). Planning once pays where the best
plan is the same whatever the values: the keys of the request (a token key,
a session id, the readable applications, a cursor position).

Where values choose the plan, a generic plan is a trap: a filter on a rare
country is best served by its index, a common one by walking the list order,
and a plan made once serves both. So nothing is prepared unless it runs
inside ``prepared_statements()``, which the read layer opens only around
such reads. psycopg prepares what it is told to (``Connection.prepare_threshold``
is ``None``, so it never prepares on its own, ``executemany`` included).

On only when ``settings.PREPARED_STATEMENTS`` (``DATABASE_PREPARED_STATEMENTS``,
PostgreSQL without transaction pooling: a pooled server connection does not
keep a statement prepared by another client); elsewhere the context does nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import psycopg
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.postgresql.base import ServerBindingCursor
from django.db.backends.signals import connection_created

_PREPARED: ContextVar[bool] = ContextVar("rumvault_prepared_statements", default=False)


@contextmanager
def prepared_statements() -> Iterator[None]:
    """Statements run inside (on any PostgreSQL connection) are prepared once per connection."""
    token = _PREPARED.set(True)
    try:
        yield
    finally:
        _PREPARED.reset(token)


# psycopg's Cursor named again for the type checker: Django's stub leaves it out.
class PreparingCursor(ServerBindingCursor, psycopg.Cursor[Any]):
    """Django's server-binding cursor; prepares inside ``prepared_statements()``."""

    def execute(self, query: Any, params: Any = None, **kwargs: Any) -> Any:
        if not _PREPARED.get() or kwargs.get("prepare") is not None:
            return super().execute(query, params, **kwargs)
        connection = self.connection
        connection.prepare_threshold = 0  # prepare it now, or run the one prepared
        try:
            return super().execute(query, params, prepare=True, **kwargs)
        finally:
            connection.prepare_threshold = None


def _use_preparing_cursor(sender: Any, connection: BaseDatabaseWrapper, **kwargs: Any) -> None:
    if connection.vendor != "postgresql" or not settings.PREPARED_STATEMENTS:
        return
    raw = connection.connection
    if not issubclass(raw.cursor_factory, ServerBindingCursor):
        # OPTIONS["server_side_binding"] (config.settings) is what makes this one.
        raise ImproperlyConfigured("prepared statements need server-side binding")
    raw.prepare_threshold = None
    raw.cursor_factory = PreparingCursor


def install() -> None:
    connection_created.connect(_use_preparing_cursor, dispatch_uid="config.prepared")
