"""rumvault's secret keys: their variables, their public development values, the start-up rule.

Every key is declared once, here. ``config/settings.py`` reads them through
:func:`read_keys`, ``config/checks.py`` checks them, the test suite and the
benchmarks make throwaway values for them with :func:`generate_keys`.

The rule: with ``DEBUG`` on (``make demo``) a missing key falls back to its
development value, which is public (it is in this file). With ``DEBUG`` off the
process refuses to start while any key is missing, malformed or a development
value, and says which variables to set (never their values). A pseudonym
computed under a published key can be reversed by anyone with a list of
likely emails, so "it starts anyway" is not an option.

``python -m config.keys`` prints a fresh set of keys as environment lines.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping

from django.core.exceptions import ImproperlyConfigured

from privacy.keyring import Keyring, parse_keyring

SECRET_KEY_VARIABLE = "SECRET_KEY"  # noqa: S105 (a variable name)
DEVELOPMENT_SECRET_KEY = "django-insecure-rumvault-development-key-do-not-use-in-production"  # noqa: S105

# (variable and setting name, development value). Each is a keyring
# ("<id>:<secret>[,<id>:<secret>...]", see privacy/keyring.py).
DEVELOPMENT_KEYRINGS: tuple[tuple[str, str], ...] = (
    ("RUMVAULT_PSEUDONYM_KEYS", "1:development-pseudonym-key-not-for-production-use"),
    ("RUMVAULT_BLIND_INDEX_KEYS", "1:development-blind-index-key-not-for-production-use"),
    ("RUMVAULT_ENCRYPTION_KEYS", "1:development-encryption-key-not-for-production-use"),
    ("RUMVAULT_SESSION_ID_KEYS", "1:development-session-id-key-not-for-production-use"),
    ("RUMVAULT_AUDIT_KEYS", "1:development-audit-key-not-for-production-use"),
    ("RUMVAULT_RULE_HASH_KEYS", "1:development-rule-hash-key-not-for-production-use"),
)

KEY_VARIABLES: tuple[str, ...] = (SECRET_KEY_VARIABLE, *(name for name, _ in DEVELOPMENT_KEYRINGS))


def development_secrets() -> frozenset[bytes]:
    """Every public secret: the development SECRET_KEY and each development keyring's keys.

    A production key equal to *any* of them is refused, also one copied from
    another keyring.
    """
    found = {DEVELOPMENT_SECRET_KEY.encode()}
    for _, value in DEVELOPMENT_KEYRINGS:
        found.update(parse_keyring(value).keys.values())
    return frozenset(found)


def is_development_keyring(keyring: Keyring) -> bool:
    return not development_secrets().isdisjoint(keyring.keys.values())


def is_development_secret_key(secret_key: str) -> bool:
    return secret_key.encode() in development_secrets()


class Keys:
    """The keys read from the environment: ``secret_key`` and a Keyring per keyring variable."""

    def __init__(self, secret_key: str, keyrings: dict[str, Keyring]) -> None:
        self.secret_key = secret_key
        self.keyrings = keyrings


def read_keys(environ: Mapping[str, str], *, debug: bool) -> Keys:
    """Read every key from ``environ``; without ``debug`` refuse missing and development keys.

    Raises ImproperlyConfigured listing every variable at fault, each with the
    reason, so an operator fixes them all in one go. Values are never quoted.
    """
    problems: list[str] = []
    secret_key = environ.get(SECRET_KEY_VARIABLE, "")
    if not secret_key:
        if debug:
            secret_key = DEVELOPMENT_SECRET_KEY
        else:
            problems.append(f"{SECRET_KEY_VARIABLE} is not set")
    elif not debug and is_development_secret_key(secret_key):
        problems.append(f"{SECRET_KEY_VARIABLE} is a public development value")
    keyrings: dict[str, Keyring] = {}
    for name, development_value in DEVELOPMENT_KEYRINGS:
        value = environ.get(name, "")
        if not value:
            if not debug:
                problems.append(f"{name} is not set")
                continue
            value = development_value
        try:
            keyring = parse_keyring(value)
        except ValueError as error:  # the message names positions and ids, never a secret
            problems.append(f"{name} is malformed: {error}")
            continue
        if not debug and is_development_keyring(keyring):
            problems.append(f"{name} contains a public development key")
        keyrings[name] = keyring
    if problems:
        raise ImproperlyConfigured(
            "rumvault refuses to start with DEBUG off: "
            + "; ".join(problems)
            + ". Set each to a secret of your own (keyrings as '1:<32+ random characters>';"
            " `python -m config.keys` prints a fresh set), or set DEBUG=true for development."
        )
    return Keys(secret_key, keyrings)


def generate_keys() -> dict[str, str]:
    """A fresh random value for every key variable (tests, benchmarks, a new deployment)."""
    return {name: f"1:{secrets.token_urlsafe(48)}" for name in KEY_VARIABLES}


if __name__ == "__main__":
    for variable, generated in generate_keys().items():
        print(f"{variable}={generated}")
