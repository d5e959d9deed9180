"""After an erasure, the person's tag, IP and free text are gone from the SQLite file itself.

Deleted rows normally stay in a SQLite file's free space (and old page images
in its write-ahead log) until something overwrites them. rumvault turns
``secure_delete`` on (Debian's SQLite has it on already; others do not) and
truncates the WAL after an erasure; this test reads the raw bytes of the
database and its WAL while the server's connection is still open (closing the
last connection would fold the WAL back by itself). The same run without the erasure
shows the marks are there to be found, and the bystander's marks stay.
On PostgreSQL the same promise is checked through SQL (``test_requests``).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from django.conf import settings

from tests.data_subjects.planted import BOB, BOB_TEXT, JANE_IP, JANE_NORMALISED, JANE_TEXT

JANE_MARKS = [JANE_NORMALISED, JANE_IP, *JANE_TEXT]


def _database_bytes(mode: str, directory: Path) -> bytes:
    """The database file and its write-ahead log, as a running server leaves them."""
    database = directory / f"{mode}.sqlite3"
    copy = directory / f"{mode}.bytes"
    environment = {**os.environ, "DATABASE_URL": f"sqlite:///{database}"}
    subprocess.run(  # noqa: S603 - our own module, fixed arguments
        [sys.executable, "-m", "tests.data_subjects.erase_in_file", mode, str(copy)],
        cwd=settings.BASE_DIR,
        env=environment,
        check=True,
        timeout=240,
    )
    return copy.read_bytes()


def test_erased_person_is_not_in_the_database_file(tmp_path: Path) -> None:
    kept = _database_bytes("keep", tmp_path).lower()
    for mark in JANE_MARKS:
        assert mark.lower().encode() in kept, mark  # present before: the check can see them

    erased = _database_bytes("erase", tmp_path).lower()
    for mark in JANE_MARKS:
        assert mark.lower().encode() not in erased, mark
    for mark in (BOB, *BOB_TEXT):
        assert mark.lower().encode() in erased, mark  # everyone else is still there
