"""Derived-field probe: a value a fieldset hides cannot be recomputed from what stays visible.

A custom fieldset hiding ``action_count``, ``error_count``, ``converted``,
``revenue``, ``duration_ms`` and ``ended_at`` was once defeated by counting the
visible actions (60 of 60 sessions recomputed exactly). The registry states
what each field is derived from (``fieldsets.registry``): a fieldset must
contain those sources (saving one without them is refused, naming what to
add), and the policy hides the sources of whatever a withheld fieldset holds,
also for a fieldset stored before that rule.

The probe ingests 60 sessions through the ingest service (some without
actions), then reads each through every read path as a ``reader`` who holds
every fieldset but the derived one, and tries to recompute each hidden field
from everything the page shows: the field itself, the actions (their number,
types, statuses, error messages, product events, prices, quantities), the
session's start and end, ``masked_fields``, the dashboard's chips, timeline and
per-day overview, the admin's columns, inlines and action list. Not one value
may come out. The same extractors, run on the pages of an ``owner`` who holds
the fieldset, recompute the values exactly: the probe can see what it looks for.

By the product contract a field that is null because there is no data is not
listed in ``masked_fields``, so whether a nullable field (``ended_at``) has a
value at all stays visible; every session here has an end, so the probe is
about values.
"""

from __future__ import annotations

import csv
import html
import io
import json
import random
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.test import Client

from access.services import api_token_create
from fieldsets.models import Fieldset, reveal_permission
from fieldsets.registry import closure, missing_sources
from permissions.policy import FieldsetPolicy
from permissions.services import grant_fieldset, grant_record_access
from sessions_app.applications import application_create
from sessions_app.models import Application, ProductEvent, UserSession, is_failure
from sessions_app.services import session_ingest

pytestmark = pytest.mark.django_db

DERIVED = ("action_count", "error_count", "converted", "revenue", "duration_ms", "ended_at")
# The derived fields and what the registry says they come from: the actions.
CLOSED = [*DERIVED, "actions"]
FIELDSET = "visit-outcome"
TAG = "probe.customer@example.com"
SESSIONS = 60
START = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)
CENT = Decimal("0.01")


class _Unknown:
    def __repr__(self) -> str:
        return "UNKNOWN"


UNKNOWN: Any = _Unknown()  # what a page does not tell


# --- the rule at save time ---------------------------------------------------------


def test_the_registry_names_the_sources_to_add() -> None:
    assert missing_sources(DERIVED) == {
        "action_count": ["actions"],
        "error_count": ["actions.type", "actions.http_status", "actions.error_message"],
        "converted": ["actions.product.event"],
        "revenue": ["actions.product.event", "actions.product.price", "actions.product.quantity"],
        "duration_ms": ["actions.timestamp", "actions.duration_ms"],
    }
    assert missing_sources(CLOSED) == {}
    assert {"actions", "actions.product.price", "actions.timestamp"} <= closure(DERIVED)


def test_saving_without_the_sources_is_refused_naming_what_to_add() -> None:
    with pytest.raises(ValidationError) as refused:
        Fieldset.objects.create(name=FIELDSET, fields=list(DERIVED))
    message = " ".join(refused.value.messages)
    assert "action_count is derived from actions: add them too." in message
    assert "actions.product.price" in message
    assert not Fieldset.objects.filter(name=FIELDSET).exists()
    Fieldset.objects.create(name=FIELDSET, fields=CLOSED)


def test_the_admin_form_refuses_it_too_naming_what_to_add() -> None:
    root = User.objects.create_superuser("root", password="pw-not-used-12345")
    client = Client()
    client.force_login(root)
    response = client.post(
        "/admin/fieldsets/fieldset/add/",
        {"name": FIELDSET, "description": "", "fields": json.dumps(list(DERIVED))},
    )
    assert response.status_code == 200  # the form again, with the error
    page = html.unescape(response.content.decode())
    assert "action_count is derived from actions: add them too." in page
    assert "revenue is derived from actions.product.event, actions.product.price" in page
    assert not Fieldset.objects.filter(name=FIELDSET).exists()


# --- the probe ----------------------------------------------------------------------


def _beacon(number: int, rng: random.Random) -> dict[str, Any]:
    started = START + timedelta(days=number, minutes=rng.randint(0, 600))
    actions: list[dict[str, Any]] = []
    moment = started
    for seq in range(0 if number % 10 == 0 else rng.randint(1, 8)):
        moment += timedelta(seconds=rng.randint(2, 90))
        action: dict[str, Any] = {
            "seq": seq,
            "type": rng.choice(["page_view", "xhr", "click", "custom", "error"]),
            "name": f"step {seq}",
            "url": f"https://shop.example.com/step/{seq}",
            "timestamp": moment.isoformat().replace("+00:00", "Z"),
            "duration_ms": rng.randint(10, 3000),
        }
        status = rng.choice([None, 200, 200, 302, 404, 500])
        if status is not None:
            action["http_status"] = status
        if rng.random() < 0.2:
            action["error"] = {"message": "Request failed"}
        event = rng.choice([None, None, "view", "add_to_cart", "purchase"])
        if event is not None:
            action["product"] = {
                "sku": f"SKU-{seq}",
                "event": event,
                "price": f"{rng.randint(100, 99999) / 100:.2f}",
                "quantity": rng.randint(1, 4),
                "currency": "EUR",
            }
        actions.append(action)
    ended = moment + timedelta(seconds=rng.randint(5, 600))  # after the last action
    return {
        "session_id": f"probe-{number:03d}",
        "started_at": started.isoformat().replace("+00:00", "Z"),
        "ended_at": ended.isoformat().replace("+00:00", "Z"),
        "user_tag": TAG,
        "actions": actions,
    }


@dataclass
class Probe:
    shop: Application
    reader: User
    owner: User
    truth: dict[int, dict[str, Any]]  # pk -> the hidden values, as stored

    def api(self, user: User) -> Client:
        return Client(headers={"Authorization": f"Token {api_token_create(user=user)[1]}"})

    def browser(self, user: User) -> Client:
        client = Client()
        client.force_login(user)
        return client


def build_probe(*, stored_before_the_rule: bool) -> Probe:
    shop, _ = application_create(slug="shop", name="Shop")
    rng = random.Random(20261128)
    session_ingest(
        application=shop, payload={"sessions": [_beacon(n, rng) for n in range(SESSIONS)]}
    )
    if stored_before_the_rule:
        # A fieldset from before derivations were declared: no sources, and no
        # validation (bulk_create skips save()); the policy must close it itself.
        Fieldset.objects.bulk_create(
            [Fieldset(name=FIELDSET, fields=list(DERIVED), permission=reveal_permission(FIELDSET))]
        )
    else:
        Fieldset.objects.create(name=FIELDSET, fields=CLOSED)
    users = {}
    for username in ("reader", "owner"):
        user = User.objects.create_user(username, password="pw-not-used-12345", is_staff=True)
        grant_record_access(user=user, application=shop)
        for name in Fieldset.objects.values_list("name", flat=True):
            if name != FIELDSET or username == "owner":
                grant_fieldset(fieldset_name=name, user=user, application=shop)
        users[username] = user
    truth = {
        row["id"]: row
        for row in UserSession.objects.values("id", "started_at", *DERIVED).order_by("id")
    }
    return Probe(shop=shop, reader=users["reader"], owner=users["owner"], truth=truth)


@pytest.fixture(params=[False, True], ids=["validated-fieldset", "stored-before-the-rule"])
def probe(request: pytest.FixtureRequest) -> Probe:
    return build_probe(stored_before_the_rule=request.param)


def test_the_data_has_what_a_recomputation_needs(probe: Probe) -> None:
    # Guards the probe: varied counts, errors, purchases and some empty sessions.
    values = list(probe.truth.values())
    assert len(values) == SESSIONS
    assert {v["action_count"] for v in values} >= {0, 1, 8}
    assert len({v["error_count"] for v in values}) > 3
    assert {v["converted"] for v in values} == {True, False}
    assert len({v["revenue"] for v in values}) > 10
    assert all(v["ended_at"] is not None for v in values)


def test_the_policy_hides_the_sources_with_what_they_derive(probe: Probe) -> None:
    hidden = FieldsetPolicy(user=probe.reader).hidden_fields(probe.shop.pk)
    assert set(DERIVED) | {"actions", "actions.product.price", "actions.timestamp"} <= hidden
    assert FieldsetPolicy(user=probe.owner).hidden_fields(probe.shop.pk) == frozenset()


# What one read path showed of one session.
@dataclass
class Seen:
    started_at: datetime | None = None
    values: dict[str, Any] = field(default_factory=dict)  # derived fields shown as such
    # Each visible action as (failed, purchase value or None), UNKNOWN where masked;
    # None: this path shows no actions of the session.
    actions: list[tuple[Any, Any]] | None = None
    masked: tuple[str, ...] | None = None  # masked_fields, where the path shows them


def recompute(seen: Seen) -> dict[str, Any]:
    """Every derived field as this page lets one compute it, or UNKNOWN."""
    values = {name: seen.values.get(name, UNKNOWN) for name in DERIVED}
    actions = seen.actions
    if actions is not None:
        if values["action_count"] is UNKNOWN:
            values["action_count"] = len(actions)
        failed = [f for f, _ in actions]
        if values["error_count"] is UNKNOWN and UNKNOWN not in failed:
            values["error_count"] = sum(failed)
        purchases = [p for _, p in actions]
        if UNKNOWN not in purchases:
            bought = [p for p in purchases if p is not None]
            if values["converted"] is UNKNOWN:
                values["converted"] = bool(bought)
            if values["revenue"] is UNKNOWN:
                values["revenue"] = sum(bought, Decimal(0))
    if seen.started_at is not None:
        if values["duration_ms"] is UNKNOWN and values["ended_at"] is not UNKNOWN:
            values["duration_ms"] = int(
                (values["ended_at"] - seen.started_at).total_seconds() * 1000
            )
        if values["ended_at"] is UNKNOWN and values["duration_ms"] is not UNKNOWN:
            values["ended_at"] = seen.started_at + timedelta(milliseconds=values["duration_ms"])
    return values


# --- extractors: one per read path, {session pk: Seen} -----------------------------


def _datetime(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text.replace("Z", "+00:00"))


def _json_session(data: dict[str, Any]) -> Seen:
    masked = data["masked_fields"]
    values: dict[str, Any] = {}
    for name in DERIVED:
        if name in masked:
            continue
        value = data[name]
        if name in ("ended_at",):
            value = _datetime(value)
        elif name == "revenue":
            value = Decimal(value)
        values[name] = value
    actions = None
    if "actions" in data:
        if data["actions"] is not None:
            actions = [_json_action(a) for a in data["actions"]]
        elif "actions" not in masked:
            actions = []  # null and not masked: there are none
    return Seen(_datetime(data["started_at"]), values, actions, tuple(masked))


def _json_action(action: dict[str, Any]) -> tuple[Any, Any]:
    masked = set(action["masked_fields"])
    failed = (
        UNKNOWN
        if masked & {"type", "http_status", "error_message"}
        else is_failure(
            type=action["type"],
            error_message=action["error_message"],
            http_status=action["http_status"],
        )
    )
    product = action["product"] or {}
    if masked & {"product.event", "product.price", "product.quantity"}:
        return failed, UNKNOWN
    if product.get("event") != ProductEvent.PURCHASE:
        return failed, None
    price = Decimal(product["price"] or 0)
    return failed, (price * (product["quantity"] or 1)).quantize(CENT)


def api_detail(probe: Probe, user: User) -> dict[int, Seen]:
    client = probe.api(user)
    return {pk: _json_session(client.get(f"/api/v1/sessions/{pk}/").json()) for pk in probe.truth}


def browsable_detail(probe: Probe, user: User) -> dict[int, Seen]:
    client = probe.browser(user)
    seen = {}
    for pk in probe.truth:
        page = client.get(f"/api/v1/sessions/{pk}/", headers={"Accept": "text/html"})
        # The last <pre> is the response (the first one is the request line).
        pre = re.findall(r'<pre class="prettyprint">(.*?)</pre>', page.content.decode(), re.S)
        text = html.unescape(re.sub(r"<[^>]+>", "", pre[-1]))
        seen[pk] = _json_session(json.loads(text[text.index("\n{") :]))
    return seen


def api_list(probe: Probe, user: User) -> dict[int, Seen]:
    data = probe.api(user).get("/api/v1/sessions/?page_size=500").json()
    return {row["id"]: _json_session(row) for row in data["results"]}


def api_search(probe: Probe, user: User) -> dict[int, Seen]:
    data = (
        probe.api(user)
        .post(
            "/api/v1/sessions/search/?page_size=500",
            data={"user_tag": TAG},
            content_type="application/json",
        )
        .json()
    )
    return {row["id"]: _json_session(row) for row in data["results"]}


def api_csv(probe: Probe, user: User) -> dict[int, Seen]:
    text = probe.api(user).get("/api/v1/sessions/?page_size=500&format=csv").content.decode()
    seen = {}
    for row in csv.DictReader(io.StringIO(text)):
        row_data: dict[str, Any] = {
            name: (value if value != "" else None) for name, value in row.items()
        }
        row_data["masked_fields"] = json.loads(row["masked_fields"])
        for name in ("action_count", "error_count", "duration_ms"):
            if row_data[name] is not None:
                row_data[name] = int(row_data[name])
        if row_data["converted"] is not None:
            row_data["converted"] = row_data["converted"] in ("true", "True", "1")
        seen[int(row["id"])] = _json_session(row_data)
    return seen


def _cells(page: str, pattern: str) -> dict[str, str]:
    return {
        label: html.unescape(re.sub(r"<[^>]+>", "", value)).strip()
        for label, value in re.findall(pattern, page, re.S)
    }


def _masked(text: str) -> bool:
    return text == "masked" or text.endswith(" masked")


def _money(text: str) -> Decimal:
    return Decimal(re.sub(r"[^\d.]", "", text.split()[0]))


def dashboard_session(probe: Probe, user: User) -> dict[int, Seen]:
    client = probe.browser(user)
    seen = {}
    for pk in probe.truth:
        page = client.get(f"/dashboard/sessions/{pk}/").content.decode()
        summary = _cells(page, r"<dt>(.*?)</dt>\s*<dd>(.*?)</dd>")
        values: dict[str, Any] = {}
        if not _masked(summary["Ended"]):
            values["ended_at"] = datetime.strptime(
                summary["Ended"], "%Y-%m-%d %H:%M:%S UTC"
            ).replace(tzinfo=UTC)
        chip_list = re.search(r'<ul class="chips".*?</ul>', page, re.S)
        assert chip_list is not None
        chips = html.unescape(re.sub(r"<[^>]+>", "", chip_list[0]))
        if (errors := re.search(r"(\d+) errors?\b", chips)) is not None:
            values["error_count"] = int(errors[1])
        elif "No errors" in chips:
            values["error_count"] = 0
        if "Not converted" in chips:
            values["converted"] = False
        actions: list[tuple[Any, Any]] | None = None
        if "This session has no recorded actions." in page:
            actions = []
        elif "in a fieldset you do not hold" not in page:
            actions = []
            for row in re.findall(r'<tr class="action [^"]*".*?</tr>', page, re.S):
                bought = re.search(r'badge-product">Bought</span>([^<]*)</p>', row)
                purchase = None
                if bought is not None:
                    quantity = re.search(r"x (\d+)", bought[1])
                    price = re.search(r"([\d,]+\.\d\d) [A-Z]{3}", bought[1])
                    assert price is not None
                    purchase = _money(price[1]) * (int(quantity[1]) if quantity else 1)
                actions.append(("is-failure" in row.split(">")[0], purchase))
        start = datetime.strptime(summary["Started"], "%Y-%m-%d %H:%M:%S UTC").replace(tzinfo=UTC)
        seen[pk] = Seen(start, values, actions)
    return seen


def _find_rows(page: str) -> dict[int, Seen]:
    """The triage rows of the result list: what each shows of the derived fields."""
    seen = {}
    for row in re.findall(r"<tr[^>]*>\s*<td.*?</tr>", page, re.S):
        link = re.search(r'href="/dashboard/sessions/(\d+)/"', row)
        if link is None:
            continue
        cells = _cells(row, r'<td data-label="([^"]+)"[^>]*>(.*?)</td>')
        values: dict[str, Any] = {}
        actions = re.search(r"· (\d+) actions?", cells["Duration"])
        if actions:
            values["action_count"] = int(actions[1])
        failure = cells["Failure"]
        more = re.search(r"(\d+) failed actions", failure)
        if "No failures" in failure:
            values["error_count"] = 0
        elif more:
            values["error_count"] = int(more[1])
        elif failure and not _masked(failure.split()[0] if failure.split() else ""):
            values["error_count"] = 1  # one failure shown, no "N failed actions"
        converted = cells["Converted"]
        if converted.startswith(("Yes", "No")):
            values["converted"] = converted.startswith("Yes")
            price = re.search(r"([\d,]+\.\d\d)", converted)
            if price:
                values["revenue"] = _money(price[1])
        seen[int(link[1])] = Seen(None, values)
    return seen


def dashboard_find(probe: Probe, user: User) -> dict[int, Seen]:
    client = probe.browser(user)
    found: dict[int, Seen] = {}
    for page in (
        client.get("/dashboard/?application=shop").content.decode(),
        client.post("/dashboard/", {"email": TAG}, follow=True).content.decode(),
    ):
        while True:  # every result page, through the "older" links
            found.update(_find_rows(page))
            older = re.search(r'href="([^"]+)">Older sessions', page)
            if older is None:
                break
            page = client.get(html.unescape(older[1])).content.decode()
    return found


def dashboard_overview(probe: Probe, user: User) -> dict[int, Seen]:
    """One session per day: a day's conversions are its session's ``converted``."""
    first = START.date()
    page = (
        probe.browser(user)
        .get(f"/dashboard/overview/?since={first}&until={first + timedelta(days=SESSIONS)}")
        .content.decode()
    )
    by_day: dict[str, dict[str, Any]] = {}
    for day, _, errors, conversions in re.findall(
        r'<tr><th scope="row">([\d-]+)</th><td class="num">(?:<a [^>]*>)?(\d+)(?:</a>)?</td>'
        r'<td class="num">(.*?)</td><td class="num">(.*?)</td></tr>',
        page,
    ):
        values: dict[str, Any] = {}
        if "/" in conversions:
            values["converted"] = conversions.split("/")[0].strip() == "1"
        if "/" in errors and errors.split("/")[0].strip() == "0":
            values["error_count"] = 0  # no failed action that day
        by_day[day] = values
    return {
        pk: Seen(None, by_day.get(str(row["started_at"].date()), {}))
        for pk, row in probe.truth.items()
    }


def _admin_value(name: str, text: str) -> Any:
    if name == "ended_at":
        return datetime.fromisoformat(text)
    if name == "converted":
        return text == "True"
    if name == "revenue":
        return Decimal(text)
    return int(text)


def admin_changelist(probe: Probe, user: User) -> dict[int, Seen]:
    client = probe.browser(user)
    seen = {}
    for page_number in (1, 2):
        page = client.get(f"/admin/sessions_app/usersession/?p={page_number}").content.decode()
        for row in re.findall(r"<tr><th class=\"field-started_at.*?</tr>", page, re.S):
            pk = int(re.search(r"/usersession/(\d+)/change/", row)[1])  # type: ignore[index]
            cells = _cells(row, r'<td class="field-(\w+?)_column[^"]*">(.*?)</td>')
            values = {
                name: _admin_value(name, cells[name])
                for name in DERIVED
                if name in cells and not _masked(cells[name])
            }
            seen[pk] = Seen(None, values)
    return seen


def _inline_failed(row: str) -> Any:
    cells = _cells(row, r'<td class="field-(\w+?)_column">\s*(.*?)\s*</td>')
    if any(_masked(cells[name]) for name in ("type", "http_status", "error_message")):
        return UNKNOWN
    status = cells["http_status"]
    return is_failure(
        type=cells["type"],
        error_message=cells["error_message"] if cells["error_message"] != "-" else "",
        http_status=int(status) if status != "-" else None,
    )


def admin_change(probe: Probe, user: User) -> dict[int, Seen]:
    client = probe.browser(user)
    labels = {"Ended": "ended_at", "Duration": "duration_ms", "Actions": "action_count",
              "Errors": "error_count", "Converted": "converted", "Revenue": "revenue"}  # fmt: skip
    seen = {}
    for pk in probe.truth:
        page = client.get(f"/admin/sessions_app/usersession/{pk}/change/").content.decode()
        fields = _cells(page, r'<label>([^<:]+):</label>\s*<div class="readonly">(.*?)</div>')
        values = {
            labels[label]: _admin_value(labels[label], text)
            for label, text in fields.items()
            if label in labels and not _masked(text) and text != "-"
        }
        start = datetime.fromisoformat(fields["Started"])
        actions = None
        if 'id="actions-group"' in page:
            rows = re.findall(r'<tr class="form-row has_original".*?</tr>', page, re.S)
            # The inline has no product columns: purchases stay unknown here.
            actions = [(_inline_failed(row), UNKNOWN) for row in rows]
        seen[pk] = Seen(start, values, actions)
    return seen


def admin_actions(probe: Probe, user: User) -> dict[int, Seen]:
    """The action list: rows per session (a session absent from it tells nothing)."""
    client = probe.browser(user)
    rows_of: dict[int, list[tuple[Any, Any]]] = {}
    first = client.get("/admin/sessions_app/useraction/").content.decode()
    total = re.search(r"(\d+) user actions?", first)
    pages = -(-int(total[1]) // 100) if total else 1
    for page_number in range(1, pages + 1):
        page = client.get(f"/admin/sessions_app/useraction/?p={page_number}").content.decode()
        for row in re.findall(r"<tr><th class=\"field-session.*?</tr>", page, re.S):
            pk = int(re.search(r">Session (\d+)<", row)[1])  # type: ignore[index]
            cells = _cells(row, r'<td class="field-(\w+?)_column[^"]*">(.*?)</td>')
            failed = (
                UNKNOWN
                if any(_masked(cells[n]) for n in ("type", "http_status", "error_message"))
                else is_failure(
                    type=cells["type"],
                    error_message=cells["error_message"] if cells["error_message"] != "-" else "",
                    http_status=int(cells["http_status"]) if cells["http_status"] != "-" else None,
                )
            )
            rows_of.setdefault(pk, []).append((failed, UNKNOWN))
    # Only the count and failures: without product columns, purchases stay unknown.
    return {pk: Seen(None, {}, actions) for pk, actions in rows_of.items()}


EXTRACTORS: dict[str, Callable[[Probe, User], dict[int, Seen]]] = {
    "api-detail": api_detail,
    "browsable-api-detail": browsable_detail,
    "api-list": api_list,
    "api-search": api_search,
    "api-csv": api_csv,
    "dashboard-session": dashboard_session,
    "dashboard-find": dashboard_find,
    "dashboard-overview": dashboard_overview,
    "admin-changelist": admin_changelist,
    "admin-change": admin_change,
    "admin-actions": admin_actions,
}

# What each path gives away to someone who may see it: the owner's control.
# (sessions with actions only, for the action list; purchases are not on the admin's.)
OWNER_RECOVERS: dict[str, tuple[str, ...]] = {
    "api-detail": DERIVED,
    "browsable-api-detail": DERIVED,
    "api-list": DERIVED,
    "api-search": DERIVED,
    "api-csv": DERIVED,
    "dashboard-session": DERIVED,
    # Revenue is shown beside a purchase only ("Yes 61.40"), never as a lone 0.00.
    "dashboard-find": ("action_count", "error_count", "converted"),
    "dashboard-overview": ("converted",),
    "admin-changelist": ("action_count", "error_count", "converted", "revenue", "duration_ms"),
    "admin-change": DERIVED,
    "admin-actions": ("action_count", "error_count"),
}


def _exact(recomputed: dict[str, Any], truth: dict[str, Any], name: str) -> bool:
    value = recomputed[name]
    return value is not UNKNOWN and value == truth[name]


def _leaks(probe: Probe, path: str) -> list[str]:
    seen = EXTRACTORS[path](probe, probe.reader)
    problems = []
    if path != "admin-actions" and set(seen) != set(probe.truth):
        problems.append(f"{path} does not show every session")  # the extraction broke
    for pk, observation in seen.items():
        recomputed = recompute(observation)
        leaked = [name for name in DERIVED if recomputed[name] is not UNKNOWN]
        if leaked:
            problems.append(f"{path}: session {pk} gives away {leaked}")
    # Nor does masked_fields tell one session from another.
    if len({observation.masked for observation in seen.values()}) > 1:
        problems.append(f"{path}: masked_fields differ between sessions")
    return problems


def _owner_misses(probe: Probe, path: str) -> list[str]:
    owner = EXTRACTORS[path](probe, probe.owner)
    with_actions = {pk for pk, truth in probe.truth.items() if truth["action_count"]}
    expected = with_actions if path == "admin-actions" else set(probe.truth)
    problems = []
    for name in OWNER_RECOVERS[path]:
        exact = {pk for pk, o in owner.items() if _exact(recompute(o), probe.truth[pk], name)}
        if exact != expected:
            problems.append(f"{path} {name}: {len(exact)} of {len(expected)}")
    return problems


def test_no_hidden_derived_value_can_be_recomputed_on_any_read_path(probe: Probe) -> None:
    # One world for every path (building it is the slow part); all problems at once.
    assert [problem for path in EXTRACTORS for problem in _leaks(probe, path)] == []
    # The control: the same extraction on the pages of the fieldset's holder
    # recomputes every value each path carries, exactly.
    assert [problem for path in EXTRACTORS for problem in _owner_misses(probe, path)] == []


def _statuses(responses: Iterable[Any]) -> set[int]:
    return {response.status_code for response in responses}


def test_no_filter_or_ordering_answers_from_a_hidden_derived_field(probe: Probe) -> None:
    api = probe.api(probe.reader)
    browser = probe.browser(probe.reader)
    queries = [
        "has_errors=true",
        "converted=false",
        "ordering=duration_ms",
        "ordering=-error_count",
    ]
    assert _statuses(api.get(f"/api/v1/sessions/?{q}") for q in queries) == {403}
    bodies = [{"has_errors": True}, {"converted": "true"}, {"ordering": "-duration_ms"}]
    searches = (
        api.post(
            "/api/v1/sessions/search/",
            data={"user_tag": TAG, **body},
            content_type="application/json",
        )
        for body in bodies
    )
    assert _statuses(searches) == {403}
    finds = [{"errors_only": "on"}, {"converted": "yes"}, {"email": TAG, "errors_only": "on"}]
    assert _statuses(browser.post("/dashboard/", data) for data in finds) == {403}
    # The owner may: the refusals are about the fieldset, not the filters.
    assert _statuses(probe.api(probe.owner).get(f"/api/v1/sessions/?{q}") for q in queries) == {200}
