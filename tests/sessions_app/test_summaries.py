"""The triage summary kept on each session: the same as made from all its actions, after
every write of actions (ingest in any beacon order, re-masking, the migration's backfill).

Anonymisation is held to it in ``tests/data_subjects/test_requests.py``, and what a
summary shows per principal in ``tests/sessions_app/test_api_helpdesk.py`` and the
oracle suite.
"""

from __future__ import annotations

import importlib
from collections import Counter
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from masking_rules import remask
from sessions_app import summaries
from sessions_app.models import Application, UserSession
from sessions_app.services import session_ingest
from tests.masking_rules.support import add_rules, rule_body
from tests.permissions.principals import api_client, reader
from tests.sessions_app.ingest_support import action, batch, new_application, session

# --- the rule, without a database -----------------------------------------------------

# Actions as summary tuples (``summaries.COLUMNS``): seq, type, error_message,
# http_status, name, product event, sku, name.
_ROW = st.fixed_dictionaries(
    {
        "type": st.sampled_from(["page_view", "xhr", "click", "error"]),
        "error_message": st.sampled_from(["", "", "boom"]),
        "http_status": st.none() | st.sampled_from([200, 404, 500]),
        "name": st.sampled_from(["Checkout", "POST /api/cart"]),
        "product_event": st.sampled_from(["", "", "view", "add_to_cart", "purchase"]),
        "product_sku": st.sampled_from(["", "DRESS-42", "JEANS-501"]),
        "product_name": st.sampled_from(["", "Red dress"]),
    }
)


def _tuples(rows: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return [
        tuple(seq if column == "seq" else row[column] for column in summaries.COLUMNS)
        for seq, row in enumerate(rows)
    ]


@settings(max_examples=200)
@given(st.lists(_ROW, max_size=12), st.data())
def test_folding_beacons_in_any_order_gives_the_summary_of_all_actions_at_once(
    rows: list[dict[str, Any]], data: st.DataObject
) -> None:
    actions = _tuples(rows)
    # Any split into beacons, sent in any order (a lost beacon re-sent late).
    order = data.draw(st.permutations(actions))
    cuts = sorted(data.draw(st.sets(st.integers(0, len(order)), max_size=4)))
    beacons = [order[a:b] for a, b in zip([0, *cuts], [*cuts, len(order)], strict=True)]

    folded = None
    for beacon in beacons:
        folded = summaries.summarise(beacon, into=folded)

    assert folded == summaries.summarise(actions)


def test_the_summary_holds_the_first_failure_and_products_in_order_of_first_occurrence() -> None:
    rows = [
        {"type": "xhr", "error_message": "", "http_status": 200, "name": "Cart",
         "product_event": "view", "product_sku": "JEANS-501", "product_name": ""},
        {"type": "xhr", "error_message": "", "http_status": 502, "name": "POST /api/payment",
         "product_event": "", "product_sku": "", "product_name": ""},
        {"type": "click", "error_message": "", "http_status": None, "name": "Buy",
         "product_event": "view", "product_sku": "JEANS-501", "product_name": ""},
        {"type": "error", "error_message": "boom", "http_status": None, "name": "TypeError",
         "product_event": "purchase", "product_sku": "DRESS-42", "product_name": "Red dress"},
    ]  # fmt: skip
    actions = _tuples(rows)
    # The last two first, then the first two.
    folded = summaries.summarise(actions[2:])
    folded = summaries.summarise(actions[:2], into=folded)

    assert summaries.shown(folded) == {
        "first_failure": {"seq": 1, "type": "xhr", "name": "POST /api/payment",
                          "http_status": 502, "message": ""},
        "products": [
            {"event": "view", "sku": "JEANS-501", "name": "", "count": 2},
            {"event": "purchase", "sku": "DRESS-42", "name": "Red dress", "count": 1},
        ],
        "product_seqs": [0, 3],
    }  # fmt: skip
    assert summaries.summarise([]) is None
    assert summaries.shown(None) == {"first_failure": None, "products": []}


# --- kept by every writer --------------------------------------------------------------

ERROR = "Cannot deliver to Hauptstrasse 12 for Anna Probe"
PRODUCT = {"sku": "DRESS-42", "name": "Dress for Anna Probe", "price": "79.90",
           "currency": "EUR", "quantity": 1, "event": "purchase"}  # fmt: skip


def _stored(application: Application) -> dict[int, Any]:
    return dict(UserSession.objects.filter(application=application).values_list("pk", "summary"))


def _made_again(application: Application) -> dict[int, Any]:
    return summaries.computed(
        sessions=UserSession.objects.filter(application=application).values_list(
            "pk", "application_id"
        )
    )


def _checkout(session_id: str) -> dict[str, Any]:
    return session(
        session_id=session_id,
        actions=[
            action(0),
            action(1, type="xhr", http_status=502, error={"message": ERROR}),
            action(2, type="click", product=PRODUCT),
        ],
    )


@pytest.mark.django_db
def test_re_masking_makes_the_summaries_of_the_changed_sessions_again(
    django_assert_max_num_queries: Any,
) -> None:
    application, _ = new_application()
    session_ingest(
        application=application,
        payload=batch(_checkout("s-1"), _checkout("s-2"), session(session_id="s-3")),
    )
    before = _stored(application)
    assert before == _made_again(application)
    assert "Anna Probe" in str(before)
    add_rules(
        *(
            rule_body(name=f"names in {selector}", application="shop", selector=selector,
                      detector=None, pattern="Anna Probe", order=order)
            for order, selector in ((10, "actions.error_message"), (20, "actions.product.name"))
        )
    )  # fmt: skip
    pks = sorted(before)
    counts: Counter[str] = Counter()

    # The batch's budget (masking_rules.remask's docstring: five statements, the
    # savepoint and its release) and the summaries: one read, one UPDATE.
    with django_assert_max_num_queries(9):
        remask._remask_batch(application, pks, counts=counts, dry_run=False)

    after = _stored(application)
    assert after == _made_again(application)
    assert "Anna Probe" not in str(after)
    first = summaries.shown(after[pks[0]])
    assert first["first_failure"]["message"] == "Cannot deliver to Hauptstrasse 12 for <masked>"
    assert first["products"][0]["name"] == "Dress for <masked>"
    # What a reader is shown is the re-masked summary.
    client = api_client(reader("agent", applications=(application,)))
    shown = {row["id"]: row["summary"] for row in client.get("/api/v1/sessions/").json()["results"]}
    assert shown[pks[0]]["products"][0]["name"] == "Dress for <masked>"


@pytest.mark.django_db
def test_the_migration_makes_the_summaries_of_sessions_stored_before_it() -> None:
    application, _ = new_application()
    session_ingest(
        application=application, payload=batch(_checkout("s-1"), session(session_id="s-2"))
    )
    expected = _stored(application)
    UserSession.objects.filter(application=application).update(summary=None)

    migration = importlib.import_module("sessions_app.migrations.0016_session_summary")
    migration.backfill(None, None)

    assert _stored(application) == expected
    assert sum(summary is not None for summary in expected.values()) == 1
