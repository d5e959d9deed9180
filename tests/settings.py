"""Settings of the test suite: production rules (DEBUG off) with throwaway keys.

``config.settings`` refuses to start without DEBUG unless every key is set to a
value of its own, so the suite makes a fresh random set per run (a variable
already in the environment wins). Subprocesses started by tests inherit them.

Rate limits are set out of reach: fuzzers and oracle suites search hundreds of
times a minute. Tests of the limits set their own (``settings`` fixture).

``TEST_DATABASE_REPLICA_URL`` names a streaming replica of ``DATABASE_URL``'s
cluster for the replica tests (marker ``replica``; ``.ci/run`` starts one).
It adds the ``replica`` alias as ``DATABASE_REPLICA_URL`` would, but not the
router: those tests install it, every other test reads the primary as without
a replica. Not ``DATABASE_REPLICA_URL`` itself: subprocesses started by tests
inherit the environment and would find a replica of another database.
"""

import os

from config.keys import generate_keys

for _variable, _value in generate_keys().items():
    os.environ.setdefault(_variable, _value)
for _variable in (
    "RUMVAULT_RATE_SEARCH",
    "RUMVAULT_RATE_INGEST",
    "RUMVAULT_RATE_INGEST_LOGS",
    "RUMVAULT_RATE_LOGIN_ACCOUNT",
    "RUMVAULT_RATE_LOGIN_ADDRESS",
    "RUMVAULT_RATE_BEACON",
    "RUMVAULT_RATE_BEACON_CLIENT",
):
    os.environ.setdefault(_variable, "1000000/s")
# Background jobs run inside the call that starts them: no worker needed.
os.environ.setdefault("RUMVAULT_JOBS_SYNC", "true")

from config.settings import *  # noqa: E402, F403
from config.settings import DATABASES, env  # noqa: E402 (named for the checkers)

# Only with PostgreSQL: tests start subprocesses on SQLite files of their own, with
# the rest of this environment.
if (
    os.environ.get("TEST_DATABASE_REPLICA_URL")
    and DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"
):
    from config.replica import REPLICA, replica_database

    DATABASES[REPLICA] = replica_database(
        env.db_url_config(os.environ["TEST_DATABASE_REPLICA_URL"]), DATABASES["default"]
    )
