"""Searching a response body for values that must not be in it.

A page with a form carries a CSRF token: 64 random letters and digits, which
contain a short planted word such as ``Graz`` about once in 240,000 tokens per
word. The oracle suites render thousands of pages, and CI met one such token,
so the tokens are taken out before the search. Only the token's own places
are (the form field Django renders, the browsable API's ``csrfToken``): a
planted value anywhere else in the page is still found.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from django.middleware.csrf import CSRF_ALLOWED_CHARS, CSRF_TOKEN_LENGTH

_TOKEN = f"[{re.escape(CSRF_ALLOWED_CHARS)}]{{{CSRF_TOKEN_LENGTH}}}"
_CSRF_TOKENS = re.compile(
    rf'(?<=name="csrfmiddlewaretoken" value="){_TOKEN}(?=")|(?<="csrfToken": "){_TOKEN}(?=")'
)


def without_csrf_tokens(body: str) -> str:
    return _CSRF_TOKENS.sub("", body)


def assert_none_in(body: str, secrets: Iterable[str]) -> None:
    searched = without_csrf_tokens(body)
    for secret in secrets:
        assert secret not in searched, f"hidden value {secret!r} leaked"
