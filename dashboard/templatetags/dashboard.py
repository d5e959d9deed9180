"""Formatting filters for the dashboard templates."""

from __future__ import annotations

from django import template

register = template.Library()


@register.filter
def percent(rate: float | None) -> str:
    """``0.123`` -> ``12.3 %``; no rate (nothing to divide by) -> empty."""
    return "" if rate is None else f"{rate * 100:.1f} %"
