"""Settings of the test suite: production rules (DEBUG off) with throwaway keys.

``config.settings`` refuses to start without DEBUG unless every key is set to a
value of its own, so the suite makes a fresh random set per run (a variable
already in the environment wins). Subprocesses started by tests inherit them.
"""

import os

from config.keys import generate_keys

for _variable, _value in generate_keys().items():
    os.environ.setdefault(_variable, _value)

from config.settings import *  # noqa: E402, F403
