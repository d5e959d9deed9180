"""The API's help-desk shapes: triage summary, partial fields, reveal with a reason."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.core.management import call_command
from hypothesis import given, settings
from hypothesis import strategies as st

from fieldsets.models import Fieldset
from fieldsets.registry import ACTION
from permissions.audit import Actor
from permissions.models import AuditRecord, RevealWindow
from permissions.policy import FieldsetPolicy
from permissions.services import grant_fieldset
from sessions_app import summaries
from sessions_app.applications import application_configure
from sessions_app.models import Application, UserSession, is_failure
from sessions_app.services import session_ingest
from sessions_app.summaries import listed_summary
from tests.factories import make_application, stored_session
from tests.permissions.principals import SENSITIVE, api_client, make_user, reader
from tests.reading import read_sessions

pytestmark = pytest.mark.django_db

JANE = "jane.doe@example.com"
LIST = "/api/v1/sessions/"


# Action column -> where a beacon carries it: the registry's beacon path for client
# strings ("error.message"), else the field's own path ("product.event").
BEACON_PATHS = {f.storage: (f.beacon or f.name).split(".") for f in ACTION.fields}


def add_actions(
    session: UserSession, *specs: dict[str, Any], seqs: Iterable[int] | None = None
) -> None:
    """Send actions given by their columns to a stored session, as a later beacon of it:
    the ``seq``-th spec gets that ``seq``; ``seqs``: send only those. A column left empty
    is not sent; a product without an event is no product event, and is not sent."""
    beacon = []
    for seq, spec in enumerate(specs):
        if seqs is not None and seq not in seqs:
            continue
        action: dict[str, Any] = {
            "seq": seq,
            "timestamp": (session.started_at + timedelta(seconds=seq)).isoformat(),
        }
        for column, value in {"type": "page_view", "name": f"Loading of /{seq}", **spec}.items():
            if value in ("", None):
                continue
            *parents, key = BEACON_PATHS[column]
            target = action
            for parent in parents:
                target = target.setdefault(parent, {})
            target[key] = str(value) if isinstance(value, Decimal) else value
        if "event" not in action.get("product", {"event": None}):
            del action["product"]
        beacon.append(action)
    session_ingest(
        application=session.application,
        payload={"sessions": [{"session_id": session.session_id,
                               "started_at": session.started_at.isoformat(),
                               "actions": beacon}]},
    )  # fmt: skip


def dress(event: str) -> dict[str, Any]:
    return {
        "product_sku": "DRESS-42",
        "product_name": "Red dress",
        "product_price": Decimal("79.90"),
        "product_currency": "EUR",
        "product_quantity": 1,
        "product_event": event,
    }


@pytest.fixture
def shop() -> Application:
    return make_application("shop")


@pytest.fixture
def checkout(shop: Application) -> UserSession:
    session = stored_session(shop, user_tag=JANE, client_ip="81.2.69.0")
    add_actions(
        session,
        {**dress("view")},
        {"type": "click", "name": "Add to cart", **dress("add_to_cart")},
        {"type": "xhr", "name": "POST /api/payment", "http_status": 502,
         "error_message": "Payment gateway timeout for <masked>"},
        {"type": "error", "name": "Uncaught TypeError", "error_message": "Cannot read orderId"},
        {"type": "xhr", "name": "POST /api/cart", "http_status": 200, **dress("add_to_cart")},
    )  # fmt: skip
    return session


# --- summary ------------------------------------------------------------------------


def test_list_items_carry_the_first_failure_and_the_product_events(
    shop: Application, checkout: UserSession
) -> None:
    quiet = stored_session(shop)
    add_actions(quiet, {"http_status": 200})
    client = api_client(reader("agent", applications=(shop,)))

    rows = {row["id"]: row for row in client.get(LIST).json()["results"]}

    assert rows[checkout.pk]["summary"] == {
        "first_failure": {
            "seq": 2,
            "type": "xhr",
            "name": "POST /api/payment",
            "http_status": 502,
            "message": "Payment gateway timeout for <masked>",
        },
        "products": [
            {"event": "view", "sku": "DRESS-42", "name": "Red dress", "count": 1},
            {"event": "add_to_cart", "sku": "DRESS-42", "name": "Red dress", "count": 2},
        ],
    }
    assert rows[quiet.pk]["summary"] == {"first_failure": None, "products": []}
    # The detail carries the same summary.
    detail = client.get(f"{LIST}{checkout.pk}/").json()
    assert detail["summary"] == rows[checkout.pk]["summary"]


def test_the_csv_carries_the_summary_and_partial_fields_as_json(
    shop: Application, checkout: UserSession
) -> None:
    client = api_client(reader("agent", applications=(shop,)))
    response = client.get(f"{LIST}?format=csv")
    [row] = list(csv.DictReader(io.StringIO(response.content.decode())))

    assert json.loads(row["summary"])["first_failure"]["http_status"] == 502
    assert json.loads(row["partial_fields"]) == []


def test_summary_parts_are_masked_like_their_action_fields(
    shop: Application, checkout: UserSession
) -> None:
    Fieldset.objects.create(name="messages", fields=["actions.error_message"])
    Fieldset.objects.create(name="catalogue", fields=["actions.product.name"])
    client = api_client(reader("agent", applications=(shop,)))

    row = client.get(LIST).json()["results"][0]

    assert row["summary"]["first_failure"]["message"] is None
    assert row["summary"]["first_failure"]["http_status"] == 502
    assert [p["name"] for p in row["summary"]["products"]] == [None, None]
    assert "summary.first_failure.message" in row["masked_fields"]
    assert "summary.products.name" in row["masked_fields"]
    assert "timeout" not in json.dumps(row)
    assert "Red dress" not in json.dumps(row)


@pytest.mark.parametrize(
    ("fields", "masked"),
    [
        (
            ["error_count", "actions.type", "actions.http_status", "actions.error_message"],
            ["summary.first_failure"],
        ),
        (["converted", "actions.product.event"], ["summary.products"]),
        (["actions", "action_count"], ["summary.first_failure", "summary.products"]),
    ],
)
def test_a_digest_is_masked_whole_where_what_selects_it_is_hidden(
    shop: Application, checkout: UserSession, fields: list[str], masked: list[str]
) -> None:
    Fieldset.objects.create(name="custom", fields=fields)
    quiet = stored_session(shop)  # no failure, no product: masked all the same
    client = api_client(reader("agent", applications=(shop,)))

    for row in client.get(LIST).json()["results"]:
        for name in masked:
            assert row["summary"][name.split(".")[1]] is None
            assert name in row["masked_fields"], (row["id"], quiet.pk)


def test_summaries_cost_no_query_whatever_the_page(
    shop: Application, django_assert_max_num_queries: Any
) -> None:
    for number in range(30):
        session = stored_session(shop)
        add_actions(session, {"http_status": 500 if number % 2 else 200}, dress("purchase"))
    client = api_client(reader("agent", applications=(shop,)))
    client.get(LIST)  # the first request of a principal reads its grants; later ones need not
    counts = []
    for size in (2, 30):
        with django_assert_max_num_queries(6) as captured:
            response = client.get(f"{LIST}?page_size={size}")
        assert response.status_code == 200
        assert all(row["summary"]["products"] for row in response.json()["results"])
        counts.append(len(captured))
        # Kept on the sessions: the page reads no action.
        assert not [q for q in captured.captured_queries if "useraction" in q["sql"]]
    assert counts[0] == counts[1]


actions = st.lists(
    st.fixed_dictionaries(
        {
            "type": st.sampled_from(["page_view", "xhr", "click", "custom", "error"]),
            "error_message": st.sampled_from(["", "", "boom"]),
            "http_status": st.none() | st.sampled_from([200, 301, 399, 400, 404, 500, 599]),
            "product_event": st.sampled_from(["", "", "view", "add_to_cart", "purchase"]),
            "product_sku": st.sampled_from(["", "DRESS-42", "JEANS-501"]),
        }
    ),
    max_size=8,
)


@settings(max_examples=40)
@given(st.lists(actions, min_size=1, max_size=4), st.integers(min_value=0, max_value=8))
def test_the_stored_summary_is_made_from_all_actions_whatever_their_beacons(
    shop: Application, sessions: list[list[dict[str, Any]]], cut: int
) -> None:
    lister = FieldsetPolicy(user=make_user("lister", superuser=True))
    stored = []
    for specs in sessions:
        session = stored_session(shop)
        # Two beacons, the later actions first: ingest folds each into the stored summary.
        add_actions(session, *specs, seqs=range(cut, len(specs)))
        add_actions(session, *specs, seqs=range(cut))
        stored.append((session.pk, specs))
    kept = dict(
        UserSession.objects.filter(pk__in=[pk for pk, _ in stored]).values_list("pk", "summary")
    )
    # What the actions stored make, read again from them: the same as what was folded.
    assert summaries.computed(sessions=[(pk, shop.pk) for pk, _ in stored]) == kept
    for pk, specs in stored:
        failed = [
            seq
            for seq, spec in enumerate(specs)
            if is_failure(
                type=spec["type"],
                error_message=spec["error_message"],
                http_status=spec["http_status"],
            )
        ]
        first = summaries.shown(kept[pk])["first_failure"]
        assert (first["seq"] if first else None) == (failed[0] if failed else None)
    # A list page reads them with its rows: the same answers again.
    page = [row for row in read_sessions(lister, {}) if row["id"] in kept]
    assert len(page) == len(stored)
    assert {row["id"]: listed_summary(row) for row in page} == {
        pk: summaries.shown(summary) for pk, summary in kept.items()
    }
    UserSession.objects.filter(pk__in=[pk for pk, _ in stored]).delete()
    lister.user.delete()


# --- partial fields in the API --------------------------------------------------------


def test_a_partial_grant_shows_partial_forms_in_list_detail_and_csv(
    shop: Application, checkout: UserSession
) -> None:
    agent = reader("agent", applications=(shop,))
    grant_fieldset(fieldset_name=SENSITIVE, user=agent, application=shop, partial=True)
    client = api_client(agent)

    row = client.get(LIST).json()["results"][0]
    detail = client.get(f"{LIST}{checkout.pk}/").json()
    exported = client.get(f"{LIST}?format=csv").content.decode()

    for data in (row, detail):
        assert data["user_tag"] == "j•••@example.com"
        assert data["client_ip"] == "81.2.•.•"
        assert data["partial_fields"] == ["user_tag", "client_ip", "geo_latitude", "geo_longitude"]
        assert set(data["partial_fields"]) <= set(data["masked_fields"])
    assert "j•••@example.com" in exported
    for body in (json.dumps(row), json.dumps(detail), exported):
        assert JANE not in body
        assert "81.2.69.0" not in body
    assert client.get(f"{LIST}?ordering=client_ip").status_code == 403
    refused = client.post(
        f"{LIST}search/", {"user_tag": JANE, "client_ip": "81.2.69.0"}, format="json"
    )
    assert refused.status_code == 403
    # The exact tag search stays allowed, and finds her.
    found = client.post(f"{LIST}search/", {"user_tag": JANE}, format="json").json()
    assert [r["id"] for r in found["results"]] == [checkout.pk]

    applications = client.get("/api/v1/applications/").json()
    assert applications[0]["partial_fields"] == sorted(row["partial_fields"])
    me = client.get("/api/v1/me/").json()
    sensitive = next(f for f in me["fieldsets"] if f["name"] == SENSITIVE)
    assert sensitive["partial_applications"] == ["shop"]
    assert sensitive["applications"] == []


def test_partial_reveals_are_audited(shop: Application, checkout: UserSession) -> None:
    agent = reader("agent", applications=(shop,))
    grant_fieldset(fieldset_name=SENSITIVE, user=agent, application=shop, partial=True)

    api_client(agent).get(LIST)

    record = AuditRecord.objects.get(kind="reveal")
    assert record.partial_fieldsets == [SENSITIVE]
    assert record.fieldsets == []
    audit = api_client(make_user("root", superuser=True)).get("/api/v1/audit/?kind=reveal").json()
    assert audit["results"][0]["partial_fieldsets"] == [SENSITIVE]


# --- reveal with a reason ---------------------------------------------------------------


def reveal(client: Any, pk: int, body: Any) -> Any:
    return client.post(f"{LIST}{pk}/reveal/", body, format="json")


@pytest.fixture
def gated(shop: Application) -> Application:
    actor = Actor(username="ops", method="COMMAND", path="test")
    return application_configure(application=shop, actor=actor, reveal_requires_reason=True)


def test_reveal_with_a_reason_shows_the_session_until_it_expires(
    gated: Application, checkout: UserSession
) -> None:
    client = api_client(reader("lead", applications=(gated,), fieldset_on=(gated,)))
    before = client.get(f"{LIST}{checkout.pk}/").json()
    assert before["user_tag"] is None
    assert "user_tag" in before["masked_fields"]
    assert client.get("/api/v1/applications/").json()[0]["revealable_fields"] == [
        "client_ip", "geo_latitude", "geo_longitude", "user_tag",
    ]  # fmt: skip

    response = reveal(client, checkout.pk, {"reason": "HD-4711, caller jane.doe@example.com"})

    assert response.status_code == 201
    body = response.json()
    assert body["reason"] == "HD-4711, caller <masked>"
    assert body["session"]["user_tag"] == JANE
    assert body["expires_at"].endswith("Z")
    after = client.get(f"{LIST}{checkout.pk}/").json()
    assert after["user_tag"] == JANE
    assert after["masked_fields"] == []
    # Lists and searches keep it masked.
    listed = client.get(LIST).json()["results"][0]
    assert listed["user_tag"] is None
    records = AuditRecord.objects.filter(kind="reveal").order_by("id")
    assert [r.reason for r in records] == ["HD-4711, caller <masked>"] * 2
    assert all(r.session_ids == [checkout.pk] for r in records)

    RevealWindow.objects.update(expires_at=RevealWindow.objects.get().created_at)
    assert client.get(f"{LIST}{checkout.pk}/").json()["user_tag"] is None


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"reason": ""},
        {"reason": "   "},
        {"reason": 42},
        {"reason": "x" * 501},
        {"reason": "ok", "jane.doe@example.com": 1},
        ["reason"],
    ],
)
def test_a_reveal_needs_exactly_a_reason_and_never_echoes_the_body(
    gated: Application, checkout: UserSession, body: Any
) -> None:
    client = api_client(reader("lead", applications=(gated,), fieldset_on=(gated,)))

    response = reveal(client, checkout.pk, body)

    assert response.status_code == 400
    assert "jane" not in response.content.decode()
    assert "x" * 50 not in response.content.decode()
    assert not RevealWindow.objects.exists()


def test_reveal_refusals(shop: Application, gated: Application, checkout: UserSession) -> None:
    foreign = stored_session(make_application("foreign"), user_tag=JANE)
    missing = UserSession.objects.order_by("-pk").first().pk + 100
    lead = api_client(reader("lead", applications=(gated,), fieldset_on=(gated,)))
    agent = api_client(reader("agent", applications=(gated,)))

    assert reveal(agent, checkout.pk, {"reason": "HD-1"}).status_code == 403
    foreign_answer = reveal(lead, foreign.pk, {"reason": "HD-1"})
    missing_answer = reveal(lead, missing, {"reason": "HD-1"})
    assert foreign_answer.status_code == missing_answer.status_code == 404
    assert foreign_answer.content == missing_answer.content
    assert reveal(api_client(), checkout.pk, {"reason": "HD-1"}).status_code == 401
    assert lead.get(f"{LIST}{checkout.pk}/reveal/").status_code == 405
    assert not RevealWindow.objects.exists()

    application_configure(
        application=gated,
        actor=Actor(username="ops", method="COMMAND", path="test"),
        reveal_requires_reason=False,
    )
    assert reveal(lead, checkout.pk, {"reason": "HD-1"}).status_code == 400


def test_configure_application_switches_the_setting_and_audits_it(shop: Application) -> None:
    call_command(
        "configure_application", "shop", "--reveal-requires-reason", "on", stdout=io.StringIO()
    )
    shop.refresh_from_db()
    assert shop.reveal_requires_reason is True
    record = AuditRecord.objects.get(kind="settings_change")
    assert record.changes == {
        "before": {"reveal_requires_reason": False},
        "after": {"reveal_requires_reason": True},
    }
    call_command(
        "configure_application", "shop", "--reveal-requires-reason", "off", stdout=io.StringIO()
    )
    shop.refresh_from_db()
    assert shop.reveal_requires_reason is False


def test_grant_and_revoke_partial_from_the_command_line(shop: Application) -> None:
    agent = reader("agent", applications=(shop,))
    out = io.StringIO()
    call_command(
        "grant", "--user", "agent", "--fieldset", SENSITIVE, "--application", "shop", "--partial",
        stdout=out,
    )  # fmt: skip
    assert "partial grant" in out.getvalue()
    policy = FieldsetPolicy(user=agent)
    assert policy.holds_partially(SENSITIVE, shop.pk)
    assert not policy.holds(SENSITIVE, shop.pk)

    call_command(
        "revoke", "--user", "agent", "--fieldset", SENSITIVE, "--application", "shop",
        "--partial", stdout=io.StringIO(), stderr=io.StringIO(),
    )  # fmt: skip
    assert not FieldsetPolicy(user=agent).holds_partially(SENSITIVE, shop.pk)

    with pytest.raises(Exception, match="--partial"):
        call_command("grant", "--user", "agent", "--application", "shop", "--partial")
