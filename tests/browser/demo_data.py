"""A small, deterministic demo world written through the real ingest service.

Mirrors what ``seed_demo`` sets up, at a size that keeps the browser tests
fast: the ``agent`` reads two shops and holds the sensitive fieldset only
*partially* on ``fashion-store`` (partial forms such as ``j•••@example.com``),
the ``lead`` reads the same shops and holds the sensitive fieldset on
``fashion-store`` only,
and a third application is readable by neither. ``jane.doe@example.com``
has sessions in all three, one of them a failed checkout.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.contrib.auth.models import User

from fieldsets.models import BUILTIN_SENSITIVE, ensure_builtin_fieldsets
from permissions.services import grant_fieldset, grant_record_access
from sessions_app.applications import application_create
from sessions_app.models import Application, UserSession
from sessions_app.services import session_ingest

JANE = "jane.doe@example.com"
JANE_IP = "81.2.69.142"  # stored masked: 81.2.69.0
PASSWORD = "demo-password-for-tests"
DAY = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
OTHER_CUSTOMERS = ("bob@example.org", "chen.li@example.net", "maria.rossi@example.it")


@dataclass(frozen=True)
class DemoData:
    failed_checkout: int  # pk of Jane's failed checkout on fashion-store
    jane_readable: frozenset[int]  # Jane's sessions the agent and the lead may read
    jane_foreign: int  # Jane's session on the application neither may read
    customer_ips: frozenset[str]  # every client IP stored (masked at ingest, still personal)


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _product(event: str) -> dict[str, Any]:
    return {
        "sku": "DRESS-42",
        "name": "Red dress",
        "price": "79.90",
        "currency": "EUR",
        "quantity": 1,
        "event": event,
    }


def _action(
    kind: str,
    name: str,
    path: str,
    moment: datetime,
    duration_ms: int | None = None,
    http_status: int | None = None,
    **extra: Any,
) -> dict[str, Any]:
    action = {
        "type": kind,
        "name": name,
        "url": f"https://shop.example.com{path}",
        "timestamp": _iso(moment),
        **extra,
    }
    if duration_ms is not None:
        action["duration_ms"] = duration_ms
    if http_status is not None:
        action["http_status"] = http_status
    return action


def _session(
    session_id: str, *, tag: str, ip: str, actions: list[dict[str, Any]], **fields: Any
) -> dict[str, Any]:
    return {
        "session_id": session_id,
        "user_tag": tag,
        "client_ip": ip,
        "actions": [{"seq": seq, **action} for seq, action in enumerate(actions)],
        **fields,
    }


def _failed_checkout() -> dict[str, Any]:
    start = DAY + timedelta(hours=1)

    def at(seconds: float) -> datetime:
        return start + timedelta(seconds=seconds)

    payment = "/api/payment"
    actions = [
        _action("page_view", "Loading of /", "/", at(0), 820, 200),
        _action("page_view", "Loading of /dresses/red-dress-42", "/dresses/red-dress-42", at(14),
                640, 200, product=_product("view")),
        _action("click", "Add to cart", "/dresses/red-dress-42", at(41), 90,
                product=_product("add_to_cart")),
        _action("xhr", "POST /api/cart", "/api/cart", at(41.2), 210, 200),
        # Personal data in a URL and in error texts: masked at ingest.
        _action("page_view", "Loading of /checkout", f"/checkout?email={JANE}", at(63), 1210, 200),
        _action("xhr", f"POST {payment}", payment, at(95), 3400, 502,
                error={"message": f"Payment gateway timeout for {JANE}"},
                headers={"Accept": "application/json", "Cookie": "sid=abc"},
                request_attributes={"order_id": "A-998877"}),
        _action("error", "Uncaught TypeError", "/checkout", at(99),
                error={"message": "Cannot read properties of undefined (reading 'orderId')"}),
        _action("xhr", f"POST {payment}", payment, at(131), 2900, 500,
                error={"message": "Payment failed: card declined by issuer"}),
        _action("page_view", "Loading of /checkout/failed", "/checkout/failed", at(135), 430, 200),
    ]  # fmt: skip
    return _session(
        "fs-jane-checkout",
        tag=JANE,
        ip=JANE_IP,
        actions=actions,
        started_at=_iso(at(0)),
        ended_at=_iso(at(150)),
        geo={"country": "AT", "city": "Vienna", "latitude": 48.2082, "longitude": 16.3738},
        browser="Chrome 131",
        os="Android 15",
        device="mobile",
    )


def _simple(
    session_id: str, *, tag: str, start: datetime, ip: str, buys: bool, fails: bool
) -> dict[str, Any]:
    actions = [_action("page_view", "Loading of /", "/", start, 700, 200)]
    if fails:
        actions.append(
            _action("xhr", "GET /api/stock", "/api/stock", start + timedelta(seconds=5), 900, 503,
                    error={"message": "Service unavailable"})
        )  # fmt: skip
    if buys:
        actions.append(
            _action("xhr", "POST /api/checkout", "/api/checkout", start + timedelta(seconds=30),
                    450, 200, product=_product("purchase"))
        )  # fmt: skip
    return _session(
        session_id,
        tag=tag,
        ip=ip,
        actions=actions,
        started_at=_iso(start),
        ended_at=_iso(start + timedelta(minutes=2)),
        geo={"country": "DE", "city": "Berlin", "latitude": 52.52, "longitude": 13.405},
        browser="Firefox 133",
        os="Windows 11",
        device="desktop",
    )


def _traffic(prefix: str, *, days: int = 9) -> list[dict[str, Any]]:
    """A few sessions a day from other customers, for the overview charts."""
    sessions = []
    for day in range(days):
        for n in range(2 + day % 3):
            number = day * 10 + n
            sessions.append(
                _simple(
                    f"{prefix}-{number:03d}",
                    tag=OTHER_CUSTOMERS[number % len(OTHER_CUSTOMERS)],
                    start=DAY - timedelta(days=day, hours=n),
                    ip=f"203.0.113.{10 + number % 200}",
                    buys=number % 3 == 0,
                    fails=number % 4 == 1,
                )
            )
    return sessions


def _ingest(application: Application, sessions: list[dict[str, Any]]) -> None:
    session_ingest(application=application, payload={"sessions": sessions})


def seed() -> DemoData:
    ensure_builtin_fieldsets()  # a transactional test flushed the migration's rows
    fashion = application_create(slug="fashion-store", name="Fashion Store")[0]
    electronics = application_create(
        slug="electronics", name="Electronics", user_tag_storage="encrypted"
    )[0]
    internal = application_create(slug="internal", name="Internal")[0]
    for username in ("agent", "lead"):
        user = User.objects.create_user(username, password=PASSWORD)
        grant_record_access(user=user, application=fashion)
        grant_record_access(user=user, application=electronics)
    lead = User.objects.get(username="lead")
    grant_fieldset(fieldset_name=BUILTIN_SENSITIVE, user=lead, application=fashion)
    agent = User.objects.get(username="agent")
    grant_fieldset(fieldset_name=BUILTIN_SENSITIVE, user=agent, application=fashion, partial=True)

    _ingest(
        fashion,
        [
            _failed_checkout(),
            _simple(
                "fs-jane-earlier",
                tag=JANE,
                start=DAY - timedelta(days=3),
                ip=JANE_IP,
                buys=True,
                fails=False,
            ),
            *_traffic("fs"),
        ],
    )
    _ingest(
        electronics,
        [
            _simple(
                "el-jane",
                tag=JANE,
                start=DAY - timedelta(days=1),
                ip=JANE_IP,
                buys=False,
                fails=True,
            ),
            *_traffic("el", days=6),
        ],
    )
    _ingest(
        internal,
        [_simple("in-jane", tag=JANE, start=DAY, ip="192.0.2.55", buys=False, fails=False)],
    )
    pks = dict(UserSession.objects.values_list("session_id", "pk"))
    return DemoData(
        failed_checkout=pks["fs-jane-checkout"],
        jane_readable=frozenset(
            pks[name] for name in ("fs-jane-checkout", "fs-jane-earlier", "el-jane")
        ),
        jane_foreign=pks["in-jane"],
        customer_ips=frozenset(
            str(ip)
            for ip in UserSession.objects.exclude(client_ip=None).values_list(
                "client_ip", flat=True
            )
        ),
    )
