"""Settings of the test suite: production rules (DEBUG off) with throwaway keys.

``config.settings`` refuses to start without DEBUG unless every key is set to a
value of its own, so the suite makes a fresh random set per run (a variable
already in the environment wins). Subprocesses started by tests inherit them.

Rate limits are set out of reach: fuzzers and oracle suites search hundreds of
times a minute. Tests of the limits set their own (``settings`` fixture).
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
