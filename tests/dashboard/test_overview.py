"""Overview: per-day aggregates of readable applications only, drawn as inline SVG."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from django.test import Client

from dashboard.selectors import overview_stats
from fieldsets.models import Fieldset
from fieldsets.registry import closure
from permissions.policy import FieldsetPolicy
from permissions.services import grant_fieldset
from tests.dashboard.conftest import World
from tests.factories import stored_session, stored_sessions

OVERVIEW = "/dashboard/overview/"
DAY = date(2026, 11, 28)


def kpis(html: str) -> dict[str, str]:
    pairs = re.findall(
        r'<span class="kpi-label">([^<]+)</span><span class="kpi-value">(.*?)</span></li>', html
    )
    return dict(pairs)


def test_overview_renders_svg_charts_without_scripts(world: World, agent_client: Client) -> None:
    response = agent_client.get(OVERVIEW)
    html = response.content.decode()

    assert response.status_code == 200
    assert html.count('<svg class="chart"') == 3
    assert 'role="img"' in html
    # The charts need no script; the one script on every page is the local
    # time-zone helper (no inline code, nothing from elsewhere).
    assert re.findall(r"<script[^>]*>", html) == [
        '<script src="/static/dashboard/timezone.js" defer>'
    ]
    assert "http://" not in html.replace("http://www.w3.org", "")  # no CDN
    assert "<rect" in html
    assert "<polyline" in html


def test_overview_counts_only_readable_applications(world: World, agent_client: Client) -> None:
    stored_sessions(world.foreign, [{}] * 5)  # unreadable: must not be counted

    html = agent_client.get(OVERVIEW).content.decode()
    numbers = kpis(html)

    # shop: Jane's checkout (errors, converted) and Bob's; vault: Jane's.
    assert numbers["Sessions"] == "3"
    assert numbers["Error rate"] == "33.3 %"
    assert numbers["Conversion rate"] == "33.3 %"
    assert "Foreign" not in html
    assert "2026-11-28: 3 sessions" in html


def test_default_period_ends_at_the_newest_readable_session(
    world: World, agent_client: Client
) -> None:
    stored_session(world.foreign, started_at=datetime(2027, 3, 1, tzinfo=UTC))

    html = agent_client.get(OVERVIEW).content.decode()

    assert "2026-10-30 to 2026-11-28" in html


def test_period_can_be_chosen_and_is_validated(world: World, agent_client: Client) -> None:
    chosen = agent_client.get(OVERVIEW, {"since": "2026-11-20", "until": "2026-11-27"})
    backwards = agent_client.get(OVERVIEW, {"since": "2026-11-28", "until": "2026-11-01"})
    too_long = agent_client.get(OVERVIEW, {"since": "2020-01-01", "until": "2026-11-28"})

    assert kpis(chosen.content.decode())["Sessions"] == "0"
    assert "No data in this period" in chosen.content.decode()
    assert backwards.status_code == too_long.status_code == 400


def test_metric_in_an_unheld_fieldset_is_left_out_for_that_application(
    world: World, agent_client: Client
) -> None:
    Fieldset.objects.create(name="quality", fields=sorted(closure(["error_count"])))
    # Held on shop, not on vault: vault's error counts are left out, and said so.
    grant_fieldset(fieldset_name="quality", user=world.agent, application=world.shop)

    html = agent_client.get(OVERVIEW).content.decode()
    numbers = kpis(html)

    assert "Error rate leaves out <strong>Vault</strong>" in html
    assert numbers["Error rate"] == "50.0 %"  # 1 of shop's 2 sessions
    assert numbers["Conversion rate"] == "33.3 %"  # conversions are not hidden


def test_selector_aggregates_in_a_fixed_number_of_queries(
    world: World, django_assert_num_queries: object
) -> None:
    start = datetime(2026, 11, 1, tzinfo=UTC)
    stored_sessions(world.shop, [{"started_at": start + timedelta(days)} for days in range(20)])
    policy = FieldsetPolicy(user=world.agent)
    policy.applications  # noqa: B018 - grants are loaded before counting

    with django_assert_num_queries(2):  # type: ignore[operator]
        stats = overview_stats(policy=policy, since=DAY - timedelta(days=29), until=DAY)

    assert len(stats.days) == 30
    assert sum(day.sessions for day in stats.days) == 23
    assert {app.slug for app in stats.applications} == {"shop", "vault"}
    assert [row.sessions for row in stats.per_application] == [22, 1]


@pytest.mark.parametrize("hidden", [["error_count"], ["converted"], ["error_count", "converted"]])
def test_selector_fails_closed_for_hidden_metrics(world: World, hidden: list[str]) -> None:
    Fieldset.objects.create(name="quality", fields=sorted(closure(hidden)))

    stats = overview_stats(policy=FieldsetPolicy(user=world.agent), since=DAY, until=DAY)

    assert (stats.total.error_base == 0) is ("error_count" in hidden)
    assert (stats.total.conversion_base == 0) is ("converted" in hidden)
    assert stats.total.sessions == 3
