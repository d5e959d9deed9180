"""Reads for the help-desk dashboard, all through the request's reader.

Session rows come from the read layer (``request.reader``): record access,
the fieldset check on every lookup and the blind-index search are the API's
own, and the reader masks and audits what the pages show. This module only
translates the dashboard's form into a typed ``SessionQuery``, and adds the
one read the API does not have: per-day aggregates for the overview,
computed in the database from non-fieldset columns and restricted to the
applications the policy answers. Nothing here reads a personal column (user
tag, IP, coordinates) itself.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, cast

from django.db.models import Count, Max, Q
from django.db.models.functions import TruncDate

from permissions.policy import ApplicationRef, FieldsetPolicy
from sessions_app.models import UserSession
from sessions_app.queries import SessionQuery, UnknownFilters, check_filter_names
from sessions_app.reads import Reader
from sessions_app.selectors import SessionRows
from sessions_app.user_tags import CustomerSearch

# Enough for a help desk to spot the right visit; more means "narrow it down".
RESULT_LIMIT = 100
# The overview draws one bar per day; a year still fits a readable chart.
OVERVIEW_DEFAULT_DAYS = 30
OVERVIEW_MAX_DAYS = 366

# Metrics of the overview and the session column each one aggregates over.
# These columns are not personal, but an administrator may still put them in
# a custom fieldset; then that application's metric is left out (fail closed).
ERROR_FIELD = "error_count"
CONVERSION_FIELD = "converted"


@dataclass(frozen=True, kw_only=True)
class FindCriteria:
    """What the help desk searches by; ``email`` only ever arrives in a POST body."""

    email: str = ""
    application: str = ""  # slug; empty: every readable application
    since: date | None = None
    until: date | None = None  # inclusive day
    errors_only: bool = False
    converted: bool | None = None
    user_id: str = ""
    session: str = ""  # the client's session id, or the numeric id of the session page

    @property
    def is_search(self) -> bool:
        """A user-tag search: audited even when it reveals nothing (docs/permissions.md)."""
        return bool(self.email)

    def query(self) -> SessionQuery:
        """The criteria as the read layer's typed query (whole days become UTC instants)."""
        filters: dict[str, Any] = {}
        if self.application:
            filters["application"] = self.application
        if self.since is not None:
            filters["since"] = _start_of(self.since)
        if self.until is not None:
            # The form's "until" is a whole day; the filter is exclusive.
            filters["until"] = _start_of(self.until + timedelta(days=1))
        if self.errors_only:
            filters["has_errors"] = True
        if self.converted is not None:
            filters["converted"] = self.converted
        if self.user_id:
            filters["user_id"] = self.user_id
        if self.session:
            filters["session_id"] = self.session
        return SessionQuery(filters=filters)


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


class UnknownParameters(ValueError):
    """Query or form names the dashboard does not know (never echoed: one may be an email)."""


def check_parameter_names(
    *, policy: FieldsetPolicy, names: Iterable[str], known: Iterable[str]
) -> None:
    """403 for a name that touches a hidden fieldset field, then ``UnknownParameters``.

    The API's check (``sessions_app.queries.check_filter_names``) with the
    dashboard's names: a hand-made ``?client_ip=...`` is refused naming the
    field, never silently ignored.
    """
    try:
        check_filter_names(policy=policy, names=names, allowed=frozenset(known))
    except UnknownFilters:
        raise UnknownParameters from None


def find_sessions(
    *,
    reader: Reader,
    criteria: FindCriteria,
    search: CustomerSearch | None,
    limit: int = RESULT_LIMIT,
) -> tuple[list[Any], bool]:
    """Readable sessions matching ``criteria``, newest first, masked and audited by the reader.

    At most ``limit``; the flag says more matched. Raises what the read layer
    raises: ``HiddenFieldLookup`` (a criterion touches a field the principal
    cannot see there) and ``ValidationError``.
    """
    query = criteria.query()
    rows = reader.customer_sessions(search, query) if search else reader.sessions(query)
    found = list(rows[: limit + 1])
    page = reader.present_sessions(found[:limit], search=search, query=query)
    return page, len(found) > limit


# --- overview -------------------------------------------------------------------


@dataclass(frozen=True)
class DayStats:
    day: date
    sessions: int = 0
    # Denominators count only sessions of applications whose metric may be shown.
    error_base: int = 0
    errored: int = 0
    conversion_base: int = 0
    converted: int = 0

    @property
    def error_rate(self) -> float | None:
        return self.errored / self.error_base if self.error_base else None

    @property
    def conversion_rate(self) -> float | None:
        return self.converted / self.conversion_base if self.conversion_base else None


@dataclass(frozen=True)
class ApplicationStats(DayStats):
    """The same counters over the whole period for one application (``day`` unused)."""

    application: ApplicationRef | None = None


@dataclass
class Overview:
    since: date
    until: date  # inclusive
    applications: list[ApplicationRef]
    # Applications whose error / conversion numbers were left out, and why:
    # the column is in a fieldset the principal does not hold there.
    without_errors: list[ApplicationRef] = field(default_factory=list)
    without_conversions: list[ApplicationRef] = field(default_factory=list)
    days: list[DayStats] = field(default_factory=list)
    per_application: list[ApplicationStats] = field(default_factory=list)

    @property
    def total(self) -> DayStats:
        return DayStats(
            day=self.until,
            sessions=sum(d.sessions for d in self.days),
            error_base=sum(d.error_base for d in self.days),
            errored=sum(d.errored for d in self.days),
            conversion_base=sum(d.conversion_base for d in self.days),
            converted=sum(d.converted for d in self.days),
        )


def _count_in(application_ids: list[int], **condition: Any) -> Count:
    """COUNT of sessions of ``application_ids`` (matching ``condition``).

    An empty id list would make the filter an always-false ``IN ()``; a
    condition on an impossible id keeps the SQL valid on both databases.
    """
    return Count("id", filter=Q(application_id__in=application_ids or [-1], **condition))


def _aggregates(error_ids: list[int], conversion_ids: list[int]) -> dict[str, Count]:
    return {
        "sessions": Count("id"),
        "error_base": _count_in(error_ids),
        "errored": _count_in(error_ids, error_count__gt=0),
        "conversion_base": _count_in(conversion_ids),
        "converted": _count_in(conversion_ids, converted=True),
    }


def latest_session_day(*, policy: FieldsetPolicy) -> date | None:
    """The day of the newest readable session: the overview's default end."""
    latest = (
        UserSession.objects.filter(application_id__in=list(policy.applications))
        .aggregate(latest=Max("started_at"))
        .get("latest")
    )
    return latest.astimezone(UTC).date() if latest is not None else None


def overview_stats(*, policy: FieldsetPolicy, since: date, until: date) -> Overview:
    """Sessions, error and conversion counts per day (and per application) in two queries.

    Starts from ``policy.applications`` (the same answer record access gives
    every other read) and groups in the database, so the cost does not grow
    with the number of sessions.
    """
    applications = list(policy.applications.values())
    error_apps = [app for app in applications if ERROR_FIELD not in policy.hidden_fields(app.id)]
    conversion_apps = [
        app for app in applications if CONVERSION_FIELD not in policy.hidden_fields(app.id)
    ]
    overview = Overview(
        since=since,
        until=until,
        applications=applications,
        without_errors=[app for app in applications if app not in error_apps],
        without_conversions=[app for app in applications if app not in conversion_apps],
    )
    if not applications:
        return overview
    aggregates = _aggregates([a.id for a in error_apps], [a.id for a in conversion_apps])
    sessions = UserSession.objects.filter(
        application_id__in=[app.id for app in applications],
        started_at__gte=_start_of(since),
        started_at__lt=_start_of(until + timedelta(days=1)),
    )
    by_day = {
        row["day"]: row
        for row in sessions.annotate(day=TruncDate("started_at", tzinfo=UTC))
        .values("day")
        .annotate(**aggregates)
        .order_by("day")
    }
    overview.days = [
        DayStats(**by_day.get(day, {"day": day}))
        for day in (since + timedelta(days=n) for n in range((until - since).days + 1))
    ]
    # Plain dicts: django-stubs types the row by its literal ``values()`` names
    # only, and cannot see the keys ``annotate(**aggregates)`` adds.
    per_application = cast(
        SessionRows, sessions.values("application_id").annotate(**aggregates).order_by()
    )
    by_application = {row.pop("application_id"): row for row in per_application}
    overview.per_application = [
        ApplicationStats(day=until, application=app, **by_application.get(app.id, {}))
        for app in applications
    ]
    return overview
