"""The fashion shop's backend log lines behind ``seed_demo``'s sessions (JSON ingest records).

Derived from a session's beacon: the checkout service logs each payment
request under the trace id its RUM action carries, and the storefront logs
orders and returns with the visitor's session id. A failed checkout is a
payment gateway timeout; the lines carry the customer's email and card the
way careless backends log them, and ingest masks them like any beacon.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

HOSTS = ("web-1", "web-2", "web-3")


def _at(action: dict[str, Any], milliseconds: int) -> str:
    return (
        datetime.fromisoformat(action["timestamp"]) + timedelta(milliseconds=milliseconds)
    ).isoformat()


def backend_logs(session: dict[str, Any], *, customer: str | None) -> list[dict[str, Any]]:
    """The log records the shop's backend wrote during ``session`` (a beacon)."""
    email = customer or "guest@example.com"
    host = HOSTS[sum(map(ord, session["session_id"])) % len(HOSTS)]
    records: list[dict[str, Any]] = []

    def record(
        action: dict[str, Any], ms: int, level: int, text: str, body: str, **extra: Any
    ) -> None:
        records.append(
            {
                "time": _at(action, ms),
                "severity_number": level,
                "severity_text": text,
                "body": body,
                "service": extra.pop("service", "checkout"),
                "host": host,
                "host_group": "eu-web",
                **extra,
            }
        )

    for action in session.get("actions", []):
        url = action.get("url", "")
        if action.get("type") == "xhr" and url.endswith("/api/checkout"):
            trace = {"trace_id": action["trace_id"]}
            if action.get("http_status", 200) >= 500:
                card = "4111 1111 1111 1111"
                record(action, 120, 13, "WARN",
                       f"acme-pay slow to answer (12000 ms), retrying charge for {email}",
                       attributes={"gateway": "acme-pay", "attempt": 2}, **trace)  # fmt: skip
                record(action, 180, 17, "ERROR",
                       f"Payment gateway timeout after 30000 ms: charge for {email} "
                       f"with card {card} not captured, answering 500",
                       attributes={"gateway": "acme-pay", "customer": email,
                                   "password": "never-logged-but-here-it-is"},
                       **trace)  # fmt: skip
            else:
                record(action, 90, 9, "INFO", "Charge captured by acme-pay",
                       attributes={"gateway": "acme-pay"}, **trace)  # fmt: skip
        elif "/order/confirmation" in url:
            record(action, -400, 9, "INFO", f"Order confirmation mailed to {email}",
                   service="storefront", session_id=session["session_id"])  # fmt: skip
        elif action.get("name") == "Return requested: wrong item":
            record(action, 250, 13, "WARN", "Return opened: wrong item shipped",
                   service="storefront", session_id=session["session_id"],
                   attributes={"customer": email})  # fmt: skip
    return records
