"""What a browser may send, and how its beacon becomes an ordinary ingest batch.

A browser beacon is one session in the ingest format (docs/beacon-format.md),
sent with a public key, so it gets less than the ingest token's holder:

* exactly one session, whose id is a random string the agent made
  (``BROWSER_SESSION_ID``), stored under the ``BROWSER_SESSION_PREFIX``
  namespace. Sessions sent with the ingest token never carry it, so no
  beacon can reach (merge into, relabel, add to) a server-side session;
* no ``client_ip``, ``geo`` or ``properties`` (the server takes the address
  from the connection; nothing else a page could claim is needed), and no
  ``headers`` or ``request_attributes`` in actions: the agent sends none, and
  the smaller the surface a public key opens, the better;
* Do-Not-Track or Global Privacy Control request headers (``DNT: 1``,
  ``Sec-GPC: 1``) mark the session as asking not to be tracked, whatever the
  body says, so the application's ``do_not_track`` setting applies.

Everything else (validation, masking, storage) is ``session_ingest``'s, with
``append_only``: the batch returned here goes through the same pipeline as any other.
"""

from __future__ import annotations

import re
from typing import Any

from django.http.request import HttpHeaders

from sessions_app.ingest.validation import ACTION_KEYS, SESSION_KEYS, BeaconInvalid

BROWSER_SESSION_PREFIX = "rum:"
# ~95 to 380 random bits; letters and digits only, so no detector ever finds
# anything in it (no "@", no separators) and it is stored as it is.
BROWSER_SESSION_ID = re.compile(r"[A-Za-z0-9]{16,64}")
REFUSED_SESSION_KEYS = frozenset({"client_ip", "geo", "properties"})
REFUSED_ACTION_KEYS = frozenset({"headers", "request_attributes"})
# What a browser may send: the ingest fields less the refused ones (one source of truth).
BROWSER_SESSION_KEYS = SESSION_KEYS - REFUSED_SESSION_KEYS
BROWSER_ACTION_KEYS = ACTION_KEYS - REFUSED_ACTION_KEYS
_NOT_FROM_A_BROWSER = "is not accepted from a browser"


def browser_batch(payload: object, *, client_ip: str | None, do_not_track: bool) -> dict[str, Any]:
    """The ingest batch for one browser beacon; raises ``BeaconInvalid``.

    Only what a browser may not send is checked here; ``session_ingest``
    validates the rest (and refuses unknown fields). Messages never repeat a
    value, like the validator's.
    """
    errors: list[dict[str, str]] = []
    if not isinstance(payload, dict):
        raise BeaconInvalid([{"path": "", "message": "the body must be a JSON object"}])
    sessions = payload.get("sessions")
    if not isinstance(sessions, list) or len(sessions) != 1 or not isinstance(sessions[0], dict):
        raise BeaconInvalid(
            [{"path": "/sessions", "message": "must be an array of exactly one session object"}]
        )
    session: dict[str, Any] = dict(sessions[0])
    for key in sorted(REFUSED_SESSION_KEYS & session.keys()):
        errors.append({"path": f"/sessions/0/{key}", "message": _NOT_FROM_A_BROWSER})
    session_id = session.get("session_id")
    if not isinstance(session_id, str) or not BROWSER_SESSION_ID.fullmatch(session_id):
        errors.append(
            {"path": "/sessions/0/session_id", "message": "must be 16 to 64 letters or digits"}
        )
    actions = session.get("actions")
    if isinstance(actions, list):
        for index, action in enumerate(actions):
            if isinstance(action, dict):
                for key in sorted(REFUSED_ACTION_KEYS & action.keys()):
                    path = f"/sessions/0/actions/{index}/{key}"
                    errors.append({"path": path, "message": _NOT_FROM_A_BROWSER})
    if errors:
        raise BeaconInvalid(errors)
    session["session_id"] = BROWSER_SESSION_PREFIX + str(session_id)
    if client_ip is not None:
        session["client_ip"] = client_ip
    if do_not_track:
        session["do_not_track"] = True
    return {**payload, "sessions": [session]}


def requests_do_not_track(headers: HttpHeaders) -> bool:
    """Whether the request carries ``DNT: 1`` or ``Sec-GPC: 1``."""
    return any(str(headers.get(name, "")).strip() == "1" for name in ("DNT", "Sec-GPC"))
