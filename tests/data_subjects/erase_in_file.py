"""Run in a subprocess by ``test_erasure_bytes``: plant, then erase or not, in a SQLite file.

``python -m tests.data_subjects.erase_in_file <erase|keep> <copy>`` with
``DATABASE_URL`` naming the file. Goes through the same services as the API,
then, with the connection still open (a running server: the write-ahead log
is not folded back yet), copies the database file and its WAL to ``<copy>``.
"""

from __future__ import annotations

import os
import sys

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")

import django

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from data_subjects import services  # noqa: E402
from permissions.audit import Actor  # noqa: E402
from tests.data_subjects.planted import JANE, officer, plant  # noqa: E402


def main(mode: str, copy: str) -> None:
    call_command("migrate", verbosity=0)
    plant()
    creator, approver = officer("privacy"), officer("privacy2")
    request = services.request_create(
        user=creator,
        actor=Actor(username="privacy", method="POST", path="/api/v1/data-subject-requests/"),
        new=services.parse_new_request(
            {"user_tag": JANE, "kind": "erase", "reason": "asked", "ticket": "ZD-1"}
        ),
    )
    if mode == "erase":
        services.request_approve(
            user=approver,
            actor=Actor(username="privacy2", method="POST", path="/approve/"),
            request_id=request.pk,
        )
    database = str(connection.settings_dict["NAME"])
    with open(copy, "wb") as out:
        for path in (database, f"{database}-wal"):
            if os.path.exists(path):
                with open(path, "rb") as part:
                    out.write(part.read())
    connection.close()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
