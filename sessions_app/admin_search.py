"""The admin's customer searches, kept server-side so that no URL carries a search key.

The admin's customer search form POSTs a tag. The server keeps the search's
keyed values (``CustomerSearch``: blind indexes, audit hash) in the user's
own Django session under a random id and redirects to the changelist with
``?customer=<id>``. The id is a key to nothing: it is random, it means
something only inside the session of the user who searched, and it expires
after ``RUMVAULT_ADMIN_SEARCH_MAX_AGE`` seconds. A URL copied into an audit
report, another browser or another account finds nothing, and every page
shown for it (reload, page 2) is audited again by the admin.

Why not a signed token (``django.core.signing``)? A signed value is readable
(base64), so it could not carry the blind index, only something that maps to
it on the server anyway; and it could not be revoked at log-out. Django's
session is that server-side map already, bound to one login: log-out flushes
it, a log-in as someone else cycles it.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import asdict
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest

from sessions_app.user_tags import CustomerSearch

SESSION_KEY = "rumvault_customer_searches"
# A user rarely has more than a few searches open; the oldest go first.
MAX_SEARCHES = 20
_COOKIE_SESSIONS = "django.contrib.sessions.backends.signed_cookies"


def _now() -> float:
    return time.time()


def _live_searches(request: HttpRequest, store: str = SESSION_KEY) -> dict[str, dict[str, Any]]:
    """This user's unexpired searches (expired ones are dropped on the way)."""
    stored = request.session.get(store)
    if not isinstance(stored, dict):
        return {}
    now, user_pk = _now(), request.user.pk
    return {
        search_id: entry
        for search_id, entry in stored.items()
        if isinstance(entry, dict)
        and entry.get("user") == user_pk
        and entry.get("expires", 0) > now
    }


def keep(request: HttpRequest, *, store: str, payload: dict[str, Any]) -> str:
    """Keep ``payload`` (JSON-able) for this user and session in ``store``; its random id.

    The dashboard keeps its searches (criteria and customer search) this way too.
    """
    if settings.SESSION_ENGINE == _COOKIE_SESSIONS:
        # The browser would then hold the blind indexes: keys to personal data.
        raise ImproperlyConfigured("Searches kept server-side need a server-side session store.")
    searches = _live_searches(request, store)
    while len(searches) >= MAX_SEARCHES:
        searches.pop(min(searches, key=lambda key: searches[key]["expires"]))
    search_id = secrets.token_urlsafe(16)
    searches[search_id] = {
        **payload,
        "user": request.user.pk,
        "expires": _now() + settings.RUMVAULT_ADMIN_SEARCH_MAX_AGE,
    }
    request.session[store] = searches
    return search_id


def kept(request: HttpRequest, *, store: str, search_id: str) -> dict[str, Any] | None:
    """What ``keep`` kept under ``search_id`` for this user; ``None``: unknown, expired, foreign."""
    if not isinstance(search_id, str):
        return None
    return _live_searches(request, store).get(search_id)


def remember(request: HttpRequest, search: CustomerSearch) -> str:
    """Keep ``search`` for this user and session; return the random id to put in the URL."""
    return keep(request, store=SESSION_KEY, payload=asdict(search))


def recall(request: HttpRequest, search_id: str) -> CustomerSearch | None:
    """The search kept under ``search_id`` for this user; ``None``: unknown, expired or foreign."""
    entry = kept(request, store=SESSION_KEY, search_id=search_id)
    if entry is None:
        return None
    return CustomerSearch(
        blind_indexes=tuple(entry["blind_indexes"]), audit_hash=entry["audit_hash"]
    )
