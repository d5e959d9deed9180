"""The one credential vocabulary: names whose value is a secret, wherever they appear.

A header, a request attribute, a session property at any depth, a URL query,
fragment or matrix parameter: if its *name* says it holds a credential, the
value is never stored (maps drop the key and the value; URLs mask the value).
Names are compared in their ``normalise_name`` form (NFKC, invisible characters
removed, case-folded, separators ignored), so ``Authorization\u200b``,
``X-API-Key``, ``api_key`` and ``apiKey`` are all caught, and a part may occur
anywhere in the name (``X-Forwarded-Access-Token``, ``Cookie2``, ``PHPSESSID``).

Substrings over-match a little (``session_count`` is dropped too); that is the
side to err on for a rule whose other failure mode is storing passwords.
"""

from __future__ import annotations

import re

# Relative: the log agent (agents/python) ships this module inside its own package.
from .normalise import normalise_name

# Each entry is a part of a normalised name (lower case, no separators).
CREDENTIAL_NAME_PARTS: tuple[str, ...] = (
    "password",
    "passwd",
    "passphrase",
    "passcode",
    "pwd",
    "secret",
    "token",
    "apikey",
    "accesskey",
    "privatekey",
    "signingkey",
    "credential",
    "cookie",
    "session",  # session id, session key, PHPSESSID is below
    "sessid",
    "authoriz",  # authorization, authorize, x-authorization, proxy-authorization
    "authent",  # authentication, x-authenticated-user
    "bearer",
    "jwt",
    "signature",
    "csrf",
    "xsrf",
    "cvv",
    "cvc",
)
# "auth" alone (X-Auth, basic_auth, oauth) but not "author" or "authority", which
# name people and hosts, not secrets.
_AUTH = re.compile(r"auth(?!or(?!i[sz]))")
# Too short to look for inside other words ("passenger", "shipping", "laptop"), so
# only when they are the whole name.
_WHOLE_NAMES = frozenset({"pass", "pin", "otp", "totp"})
_PARTS = re.compile("|".join(map(re.escape, CREDENTIAL_NAME_PARTS)))
# What every credential name holds once normalised: a part, "auth" or a whole name.
CREDENTIAL_NAME_CORES: tuple[str, ...] = (*CREDENTIAL_NAME_PARTS, "auth", *sorted(_WHOLE_NAMES))


def is_credential_name(name: str) -> bool:
    """True when ``name`` (a key, header or parameter name) says its value is a secret."""
    folded = normalise_name(name)
    return (
        folded in _WHOLE_NAMES
        or _PARTS.search(folded) is not None
        or _AUTH.search(folded) is not None
    )
