"""Reads for the help-desk dashboard, all through the request's ``FieldsetPolicy``.

Session rows come from ``sessions_app.selectors`` (``session_list`` /
``session_get``), so record access, the fieldset check on every lookup and
the blind-index search are the API's own. This module only translates the
dashboard's form into those filters, and adds the one read the API does not
have: per-day aggregates for the overview, computed in the database from
non-fieldset columns and restricted to the applications the policy answers.
Nothing here reads a personal column (user tag, IP, coordinates) itself.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, cast

from django.db.models import Count, Max, Q
from django.db.models.functions import TruncDate

from fieldsets.policy import ApplicationRef, FieldsetPolicy
from sessions_app.models import UserSession
from sessions_app.selectors import (
    USER_TAG,
    SessionRows,
    UnknownFilters,
    check_filter_names,
    session_list,
)

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
SESSION_ID_FIELD = "session_id"


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


@dataclass(frozen=True)
class FindResult:
    rows: list[dict[str, Any]]  # ``.values()`` rows for ``FieldsetPolicy.mask``
    truncated: bool  # more rows matched than ``RESULT_LIMIT``
    scope: list[ApplicationRef]  # the applications the search looked in (for the audit)


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def _filters(criteria: FindCriteria) -> dict[str, Any]:
    """The dashboard criteria as ``session_list`` filters (ISO strings, as the API sends them)."""
    filters: dict[str, Any] = {}
    if criteria.application:
        filters["application"] = criteria.application
    if criteria.since is not None:
        filters["since"] = _start_of(criteria.since).isoformat()
    if criteria.until is not None:
        # The form's "until" is a whole day; the filter is exclusive.
        filters["until"] = _start_of(criteria.until + timedelta(days=1)).isoformat()
    if criteria.errors_only:
        filters["has_errors"] = "true"
    if criteria.converted is not None:
        filters["converted"] = "true" if criteria.converted else "false"
    if criteria.user_id:
        filters["user_id"] = criteria.user_id
    if criteria.email:
        filters[USER_TAG] = criteria.email
    return filters


def _scope(policy: FieldsetPolicy, slug: str) -> list[ApplicationRef]:
    if slug:
        application = policy.application_by_slug(slug)
        return [application] if application is not None else []
    return list(policy.applications.values())


class UnknownParameters(ValueError):
    """Query or form names the dashboard does not know (never echoed: one may be an email)."""


def check_parameter_names(
    *, policy: FieldsetPolicy, names: Iterable[str], known: Iterable[str]
) -> None:
    """403 for a name that touches a hidden fieldset field, then ``UnknownParameters``.

    The API's check (``sessions_app.selectors.check_filter_names``) with the
    dashboard's names: a hand-made ``?client_ip=...`` is refused naming the
    field, never silently ignored; ``user_tag`` is no dashboard parameter
    (the email travels as ``email`` in a POST), so it is merely unknown.
    """
    try:
        check_filter_names(policy=policy, names=names, allowed=frozenset(known))
    except UnknownFilters:
        raise UnknownParameters from None


def find_sessions(
    *, policy: FieldsetPolicy, criteria: FindCriteria, limit: int = RESULT_LIMIT
) -> FindResult:
    """Readable sessions matching ``criteria``, newest first, at most ``limit`` of them.

    Raises what ``session_list`` raises: ``HiddenFieldLookup`` (a criterion
    touches a field the principal cannot see there) and ``ValidationError``.
    """
    sessions = session_list(principal=policy, filters=_filters(criteria))
    scope = _scope(policy, criteria.application)
    if criteria.session:
        # ``session_list`` has no session-id filter; ``session_id`` can be put in
        # a fieldset, so ask the policy first exactly as session_list would.
        policy.check_lookup(SESSION_ID_FIELD, [app.id for app in scope])
        lookup = Q(session_id=criteria.session)
        if criteria.session.isdigit():
            lookup |= Q(pk=int(criteria.session))
        sessions = sessions.filter(lookup)
    rows = list(sessions[: limit + 1])
    return FindResult(rows=rows[:limit], truncated=len(rows) > limit, scope=scope)


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
