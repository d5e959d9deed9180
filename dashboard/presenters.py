"""Turning masked session values into what the templates draw (pure, no database).

Everything that reaches a template has gone through ``FieldsetPolicy.mask``
first; a presenter only decides how a value looks. A masked field becomes a
``Cell`` with ``masked=True`` (drawn as a "masked" badge), which is different
from a field that simply has no data (drawn as a dash), so a help-desk agent
can tell "you may not see this" from "there is nothing".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from fieldsets.registry import ACTION, FIRST_FAILURE, PRODUCTS, SESSION, SUMMARY_KEY
from logs.models import SeverityLevel, severity_level
from sessions_app.models import ActionType, ProductEvent, is_failure

if TYPE_CHECKING:
    from dashboard.selectors import Overview


@dataclass(frozen=True)
class Cell:
    text: str = ""
    masked: bool = False
    partial: bool = False  # ``text`` is the field's partial form (a partial grant)
    moment: datetime | None = None  # a time: drawn in the employee's zone, UTC on hover

    @property
    def empty(self) -> bool:
        return not self.masked and self.text == ""


def format_duration(milliseconds: int | None) -> str:
    if milliseconds is None:
        return ""
    if milliseconds < 1000:
        return f"{milliseconds} ms"
    seconds = milliseconds / 1000
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {rest} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"


def format_offset(milliseconds: int) -> str:
    """``+m:ss.s`` from the session start (negative if a clock was off)."""
    sign = "-" if milliseconds < 0 else "+"
    minutes, rest = divmod(abs(milliseconds), 60_000)
    return f"{sign}{minutes}:{rest / 1000:04.1f}"


def format_datetime(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S UTC") if value is not None else ""


def format_money(value: Decimal | None, currency: str = "") -> str:
    if value is None:
        return ""
    return f"{value:,.2f} {currency}".strip()


def _text(name: str, value: Any) -> str:
    if value is None or value == "":
        return ""
    if name in ("started_at", "ended_at"):
        return format_datetime(value)
    if name == "duration_ms":
        return format_duration(value)
    if name == "converted":
        return "Yes" if value else "No"
    if name == "revenue":
        return format_money(value)
    if name in ("geo_latitude", "geo_longitude"):
        return f"{value:.4f}".rstrip("0").rstrip(".")
    return str(value)


def cell(
    values: Mapping[str, Any], masked: Sequence[str], name: str, partial: Sequence[str] = ()
) -> Cell:
    if name in partial:
        return Cell(text=_text(name, values.get(name)), partial=True)
    if name in masked:
        return Cell(masked=True)
    value = values.get(name)
    return Cell(text=_text(name, value), moment=value if isinstance(value, datetime) else None)


def masked_note(masked: Sequence[str], partial: Sequence[str] = ()) -> str:
    """The compact note of a row: ``user tag, IP, location`` (registry order, each once).

    Names the session fields masked outright; partial forms are shown, not noted.
    """
    shorts: list[str] = []
    for f in SESSION.fields:
        hidden = f.name in masked or any(name.startswith(f.name + ".") for name in masked)
        if hidden and f.name not in partial and f.short not in shorts:
            shorts.append(f.short)
    return ", ".join(shorts)


@dataclass(frozen=True)
class Failure:
    """The first failed action of a session, as a result row shows it."""

    seq: int
    type_label: Cell
    name: Cell
    http_status: int | None
    status_masked: bool
    message: Cell

    @property
    def failed_request(self) -> bool:
        return self.http_status is not None and self.http_status >= 400


@dataclass(frozen=True)
class ProductLine:
    """Product events of one kind in a session: "Added to cart: Red dress"."""

    event: str
    label: str
    count: int
    names: list[Cell]


@dataclass(frozen=True)
class ResultRow:
    id: int
    started_at: datetime | None
    application: str
    duration: Cell
    actions: Cell
    errors: Cell
    has_errors: bool
    converted: Cell
    revenue: Cell
    user_id: str
    user_tag: Cell
    client_ip: Cell
    failure: Failure | None
    failure_masked: bool  # the summary's first failure is masked as a whole
    products: list[ProductLine]
    products_masked: bool
    masked_note: str  # "user tag, IP, location"; empty when nothing is masked


def _failure(summary: Mapping[str, Any], masked: Sequence[str]) -> Failure | None:
    first = summary.get(FIRST_FAILURE.name)
    if not first:
        return None

    def part(key: str, text: str) -> Cell:
        return Cell(masked=True) if FIRST_FAILURE.path(key) in masked else Cell(text=text)

    kind = first.get("type") or ""
    return Failure(
        seq=first["seq"],
        type_label=part("type", ActionType(kind).label if kind in ActionType.values else kind),
        name=part("name", first.get("name") or ""),
        http_status=first.get("http_status"),
        status_masked=FIRST_FAILURE.path("http_status") in masked,
        message=part("message", first.get("message") or ""),
    )


def _products(summary: Mapping[str, Any], masked: Sequence[str]) -> list[ProductLine]:
    entries = summary.get(PRODUCTS.name) or []
    names_masked = PRODUCTS.path("name") in masked or PRODUCTS.path("sku") in masked
    lines: list[ProductLine] = []
    for event in ProductEvent:  # viewed, added, bought: the funnel's order
        mine = [entry for entry in entries if entry.get("event") == event.value]
        if not mine:
            continue
        names = (
            [Cell(masked=True)]
            if names_masked
            else [Cell(text=e.get("name") or e.get("sku") or "") for e in mine]
        )
        lines.append(
            ProductLine(
                event=event.value,
                label=event.label,
                count=sum(e.get("count") or 0 for e in mine),
                names=[n for n in names if not n.empty],
            )
        )
    return lines


def result_row(item: Any) -> ResultRow:
    """One row of the result list from the reader's masked session (with its summary)."""
    values, masked, partial = item.values, item.masked, item.partial
    summary = item.summary or {}
    error_count = values.get("error_count")
    return ResultRow(
        id=values["id"],
        started_at=values.get("started_at"),
        application=values["application"],
        duration=cell(values, masked, "duration_ms"),
        actions=cell(values, masked, "action_count"),
        errors=cell(values, masked, "error_count"),
        has_errors="error_count" not in masked and bool(error_count),
        converted=cell(values, masked, "converted"),
        revenue=cell(values, masked, "revenue"),
        user_id=values.get("user_id") or "",
        user_tag=cell(values, masked, "user_tag", partial),
        client_ip=cell(values, masked, "client_ip", partial),
        failure=_failure(summary, masked),
        failure_masked=FIRST_FAILURE.path() in masked,
        products=_products(summary, masked),
        products_masked=PRODUCTS.path() in masked,
        masked_note=masked_note(
            [m for m in masked if not m.startswith(SUMMARY_KEY + ".")], partial
        ),
    )


@dataclass(frozen=True)
class SummaryItem:
    label: str
    cell: Cell


# Session page header: the registry's session fields that describe the visit
# (identity and keys are shown elsewhere on the page), properties one by one.
SUMMARY_FIELDS: tuple[tuple[str, str], ...] = tuple(
    (f.label, f.name)
    for f in SESSION.fields
    if (f.hideable and f.name not in ("session_id", "properties")) or f.name == "started_at"
)


def summary(
    values: Mapping[str, Any], masked: Sequence[str], partial: Sequence[str] = ()
) -> list[SummaryItem]:
    items = [
        SummaryItem(label, cell(values, masked, name, partial)) for label, name in SUMMARY_FIELDS
    ]
    if "properties" in masked:
        items.append(SummaryItem("Properties", Cell(masked=True)))
        return items
    properties = values.get("properties") or {}
    for key in sorted(properties):
        if f"properties.{key}" in masked:
            items.append(SummaryItem(key, Cell(masked=True)))
        else:
            items.append(SummaryItem(key, Cell(text=_property_text(properties[key]))))
    return items


def _property_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@dataclass(frozen=True)
class TimelineEntry:
    seq: int
    offset: Cell
    type: str
    type_label: Cell
    name: Cell
    url: Cell
    duration: Cell
    bar_percent: float  # of the longest action in the session
    http_status: int | None
    failed_request: bool
    error_message: Cell
    is_error: bool
    product_label: str
    product: str
    details: list[tuple[str, Cell]]  # headers and request attributes (masked at ingest)
    stands_out: bool  # a failed action (sessions_app.models.is_failure)

    is_log = False


@dataclass(frozen=True)
class LogEntry:
    """A backend log line among the actions: severity as an icon and a label."""

    offset: Cell
    level: str  # "error", "warn", ... ("" when unspecified): the CSS class
    icon: str  # "error", "warning" or "info": dashboard/icons/<icon>.html
    level_label: Cell
    body: Cell
    service: Cell
    details: list[tuple[str, Cell]]  # attributes (masked at ingest)
    stands_out: bool  # error or fatal

    is_log = True


# The icon each severity range is drawn with (templates/dashboard/icons/<name>.html).
SEVERITY_ICONS: dict[str, str] = {
    SeverityLevel.FATAL: "error",
    SeverityLevel.ERROR: "error",
    SeverityLevel.WARN: "warning",
}


def timeline(
    actions: Sequence[Any], *, started_at: datetime, logs: Sequence[Any] = ()
) -> list[TimelineEntry | LogEntry]:
    """The session page's rows from the reader's masked actions and log records.

    Log lines are interleaved with the actions by time (a log line comes after
    the actions that started at or before it). If any action's time is masked
    there is nothing to interleave by: the log lines follow the actions.
    """
    longest = max((a.values["duration_ms"] or 0 for a in actions), default=0)
    entries: list[TimelineEntry | LogEntry] = [
        _entry(a.values, a.masked, started_at, longest) for a in actions
    ]
    times = [a.values["timestamp"] for a in actions]
    if any(time is None for time in times):
        return entries + [_log_entry(r.values, r.masked, started_at) for r in logs]
    merged: list[TimelineEntry | LogEntry] = []
    index = 0
    for record in logs:
        while index < len(entries) and times[index] <= record.values["time"]:
            merged.append(entries[index])
            index += 1
        merged.append(_log_entry(record.values, record.masked, started_at))
    return merged + entries[index:]


def _log_entry(values: Mapping[str, Any], masked: Sequence[str], started_at: datetime) -> LogEntry:
    def shown(name: str, text: str) -> Cell:
        return Cell(masked=True) if name in masked else Cell(text=text)

    level = severity_level(values["severity_number"])
    label = level.label if level is not None else (values["severity_text"] or "Log")
    offset = format_offset(int((values["time"] - started_at).total_seconds() * 1000))
    details: list[tuple[str, Cell]] = []
    if "attributes" in masked:
        details.append(("Attributes", Cell(masked=True)))
    else:
        for key, value in sorted((values["attributes"] or {}).items()):
            hidden = f"attributes.{key}" in masked
            details.append((key, Cell(masked=True) if hidden else Cell(_property_text(value))))
    return LogEntry(
        offset=Cell(text=offset),
        level=level.value if level is not None else "",
        icon=SEVERITY_ICONS.get(level, "info") if level is not None else "info",
        level_label=Cell(masked=True) if "severity_number" in masked else Cell(text=label),
        body=shown("body", values["body"] or ""),
        service=shown("service", values["service"] or ""),
        details=details,
        stands_out=level in (SeverityLevel.ERROR, SeverityLevel.FATAL),
    )


def _entry(
    action: Mapping[str, Any], masked: Sequence[str], started_at: datetime, longest: int
) -> TimelineEntry:
    def shown(name: str, text: str) -> Cell:
        return Cell(masked=True) if name in masked else Cell(text=text)

    status = action["http_status"]
    duration = action["duration_ms"]
    kind = action["type"] or ""
    offset = (
        format_offset(int((action["timestamp"] - started_at).total_seconds() * 1000))
        if action["timestamp"] is not None
        else ""
    )
    event = action["product.event"] or ""
    return TimelineEntry(
        seq=action["seq"],
        offset=shown("timestamp", offset),
        type=kind,
        type_label=shown("type", ActionType(kind).label if kind in ActionType.values else kind),
        name=shown("name", action["name"] or ""),
        url=shown("url", action["url"] or ""),
        duration=shown("duration_ms", format_duration(duration)),
        # Rounded so the inline style is stable; a tiny action still shows a sliver.
        bar_percent=round(max(duration or 0, 0) * 100 / longest, 1) if longest else 0.0,
        http_status=status,
        failed_request=status is not None and status >= 400,
        error_message=shown("error_message", action["error_message"] or ""),
        is_error=kind == ActionType.ERROR or bool(action["error_message"]),
        product_label=ProductEvent(event).label if event in ProductEvent.values else "",
        product=_product(action),
        details=_details(action, masked),
        stands_out=is_failure(type=kind, error_message=action["error_message"], http_status=status),
    )


def _details(action: Mapping[str, Any], masked: Sequence[str]) -> list[tuple[str, Cell]]:
    details: list[tuple[str, Cell]] = []
    for name, label in (("headers", "Header "), ("request_attributes", "")):
        if name in masked:
            details.append((ACTION.field(name).label, Cell(masked=True)))
            continue
        for key, value in sorted((action[name] or {}).items()):
            hidden = f"{name}.{key}" in masked
            details.append((f"{label}{key}", Cell(masked=True) if hidden else Cell(str(value))))
    return details


def _product(action: Mapping[str, Any]) -> str:
    parts = [action["product.name"] or action["product.sku"] or ""]
    quantity = action["product.quantity"]
    if quantity and quantity != 1:
        parts.append(f"x {quantity}")
    if action["product.price"] is not None:
        parts.append(format_money(action["product.price"], action["product.currency"] or ""))
    return " ".join(part for part in parts if part)


# --- SVG charts ---------------------------------------------------------------------
# Geometry in a fixed viewBox; the SVG scales with CSS (width: 100%), so the
# same markup works at 1280px and on a phone.
CHART_WIDTH = 720
CHART_HEIGHT = 220
PAD_LEFT, PAD_RIGHT, PAD_TOP, PAD_BOTTOM = 48, 12, 12, 28


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str  # tooltip and screen-reader text
    href: str = ""  # the sessions behind the bar


@dataclass(frozen=True)
class Tick:
    y: float
    label: str


@dataclass(frozen=True)
class XLabel:
    x: float
    label: str


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    label: str
    href: str = ""  # the sessions behind the point


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    plot_left: int
    plot_right: int
    plot_bottom: int
    ticks: list[Tick]
    x_labels: list[XLabel]
    bars: list[Bar]
    lines: list[str]  # polyline "points" attributes; a gap where there is no data
    points: list[Point]
    empty: bool


def _x_labels(days: Sequence[date], slot: float) -> list[XLabel]:
    # About six labels whatever the period, so they never overlap.
    step = max(1, round(len(days) / 6))
    return [
        XLabel(PAD_LEFT + slot * (i + 0.5), day.strftime("%b %d"))
        for i, day in enumerate(days)
        if i % step == 0
    ]


def _frame(days: Sequence[date]) -> tuple[float, float, float]:
    plot_width = CHART_WIDTH - PAD_LEFT - PAD_RIGHT
    plot_height = CHART_HEIGHT - PAD_TOP - PAD_BOTTOM
    return plot_width / max(len(days), 1), plot_width, plot_height


def bar_chart(
    days: Sequence[date], values: Sequence[int], *, unit: str, links: Sequence[str] = ()
) -> Chart:
    slot, _, plot_height = _frame(days)
    top = max(values, default=0)
    scale_top = max(top, 1)
    bottom = CHART_HEIGHT - PAD_BOTTOM
    bars = []
    for i, (day, value) in enumerate(zip(days, values, strict=True)):
        height = plot_height * value / scale_top
        bars.append(
            Bar(
                x=round(PAD_LEFT + slot * i + slot * 0.15, 2),
                y=round(bottom - height, 2),
                width=round(slot * 0.7, 2),
                height=round(height, 2),
                label=f"{day:%Y-%m-%d}: {value} {unit}",
                href=links[i] if i < len(links) and value else "",
            )
        )
    ticks = [
        Tick(round(bottom - plot_height * f, 2), str(round(scale_top * f))) for f in (0, 0.5, 1)
    ]
    return Chart(
        width=CHART_WIDTH,
        height=CHART_HEIGHT,
        plot_left=PAD_LEFT,
        plot_right=CHART_WIDTH - PAD_RIGHT,
        plot_bottom=bottom,
        ticks=ticks,
        x_labels=_x_labels(days, slot),
        bars=bars,
        lines=[],
        points=[],
        empty=top == 0,
    )


def rate_chart(
    days: Sequence[date],
    rates: Sequence[float | None],
    *,
    name: str,
    links: Sequence[str] = (),
) -> Chart:
    """A line of percentages (0-100 %); days without data break the line."""
    slot, _, plot_height = _frame(days)
    top = max((r for r in rates if r is not None), default=0.0)
    # Round the scale up to a tidy 10 % step so small rates are still readable.
    scale_top = min(1.0, max(0.1, -(-top * 10 // 1) / 10))
    bottom = CHART_HEIGHT - PAD_BOTTOM
    lines: list[str] = []
    points: list[Point] = []
    segment: list[str] = []
    for i, (day, rate) in enumerate(zip(days, rates, strict=True)):
        if rate is None:
            if segment:
                lines.append(" ".join(segment))
            segment = []
            continue
        x = round(PAD_LEFT + slot * (i + 0.5), 2)
        y = round(bottom - plot_height * rate / scale_top, 2)
        segment.append(f"{x},{y}")
        href = links[i] if i < len(links) else ""
        points.append(Point(x, y, f"{day:%Y-%m-%d}: {rate:.1%} {name}", href))
    if segment:
        lines.append(" ".join(segment))
    ticks = [Tick(round(bottom - plot_height * f, 2), f"{scale_top * f:.0%}") for f in (0, 0.5, 1)]
    return Chart(
        width=CHART_WIDTH,
        height=CHART_HEIGHT,
        plot_left=PAD_LEFT,
        plot_right=CHART_WIDTH - PAD_RIGHT,
        plot_bottom=bottom,
        ticks=ticks,
        x_labels=_x_labels(days, slot),
        bars=[],
        lines=lines,
        points=points,
        empty=not points,
    )


def _percent(rate: float | None) -> str:
    return "not available" if rate is None else f"{rate:.1%}"


def overview_descriptions(overview: Overview) -> dict[str, str]:
    """Text alternatives of the three charts (the SVG ``<desc>``) for screen readers."""
    total = overview.total
    period = f"from {overview.since:%Y-%m-%d} to {overview.until:%Y-%m-%d}"
    busiest = max(overview.days, key=lambda day: day.sessions, default=None)
    sessions = f"{total.sessions} sessions {period}."
    if busiest is not None and busiest.sessions:
        sessions += f" Busiest day {busiest.day:%Y-%m-%d} with {busiest.sessions}."
    return {
        "sessions_description": sessions,
        "error_description": (
            f"Share of sessions with at least one failed action per day {period}; "
            f"{_percent(total.error_rate)} over the period."
        ),
        "conversion_description": (
            f"Share of sessions with a purchase per day {period}; "
            f"{_percent(total.conversion_rate)} over the period."
        ),
    }


# --- drill-down links -----------------------------------------------------------------
# Every link from the overview to the sessions behind a number is a plain GET of
# the find page with criteria that name no customer (days, flags, an error
# group's keyed digest); the find page reads them under the same policy.


def day_link(find: str, day: date, *, errors_only: bool = False, converted: bool = False) -> str:
    """The find page for the sessions of one day (in the employee's zone)."""
    params = {"since": day.isoformat(), "until": day.isoformat()}
    if errors_only:
        params["errors_only"] = "on"
    if converted:
        params["converted"] = "yes"
    return f"{find}?{urlencode(params)}"


def period_link(find: str, since: date, until: date) -> str:
    """The find page for a period; an error group adds ``&error_group=<digest>``."""
    return f"{find}?{urlencode({'since': since.isoformat(), 'until': until.isoformat()})}"
