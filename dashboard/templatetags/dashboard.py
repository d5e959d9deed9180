"""Formatting filters and tags for the dashboard templates."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from django import template
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString

from dashboard import presenters
from dashboard.timezones import display_zone

register = template.Library()


@register.filter
def percent(rate: float | None) -> str:
    """``0.123`` -> ``12.3 %``; no rate (nothing to divide by) -> empty."""
    return "" if rate is None else f"{rate * 100:.1f} %"


def utc_text(moment: datetime) -> str:
    return f"{moment.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC"


@register.simple_tag(takes_context=True)
def local_time(context: dict[str, Any], moment: datetime | None) -> SafeString | str:
    """A moment in the employee's time zone, UTC on hover (and for scripts, ``datetime``).

    ``timezone.js`` rewrites the text in the browser's zone when no zone is
    saved in the profile and the server did not know the browser's yet.
    """
    if moment is None:
        return ""
    zone = display_zone(context["request"])
    iso = moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return format_html(
        '<time datetime="{}" title="{}" data-local-time>{}</time>',
        iso,
        utc_text(moment),
        zone.text(moment),
    )


@register.simple_tag(takes_context=True)
def zone_source(context: dict[str, Any]) -> str:
    """Where the display zone came from (``profile``, ``browser``, ``default``)."""
    request = context.get("request")
    return display_zone(request).source if request is not None else "default"


@register.simple_tag(takes_context=True)
def zone_name(context: dict[str, Any]) -> str:
    request = context.get("request")
    return display_zone(request).name if request is not None else "UTC"


@register.simple_tag
def day_link(day: date, errors_only: bool = False) -> str:
    """The find page for one day's sessions (with errors only)."""
    return presenters.day_link(reverse("dashboard:find"), day, errors_only=errors_only)
