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

import base64
import binascii
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any, cast

from django.db.models import Count, F, Max, Q
from django.db.models.functions import TruncDate
from django.utils.crypto import salted_hmac

from permissions.policy import ApplicationRef, FieldsetPolicy, HiddenFieldLookup
from sessions_app.models import FAILED_ACTION, UserAction, UserSession
from sessions_app.queries import SessionQuery, UnknownFilters, check_filter_names
from sessions_app.reads import Masked, Reader
from sessions_app.selectors import FAILED_ACTION_LOOKUPS, SessionRows
from sessions_app.user_tags import CustomerSearch

# Rows per result page: enough to spot the right visit; "next" shows older ones.
PAGE_SIZE = 50
RESULT_LIMIT = PAGE_SIZE
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
    error_group: str = ""  # a "most frequent errors" row of the overview (its digest)

    @property
    def is_search(self) -> bool:
        """A user-tag search: audited even when it reveals nothing (docs/permissions.md)."""
        return bool(self.email)

    def query(self, zone: tzinfo = UTC) -> SessionQuery:
        """The criteria as the read layer's typed query (whole days in ``zone`` become instants)."""
        filters: dict[str, Any] = {}
        if self.application:
            filters["application"] = self.application
        if self.since is not None:
            filters["since"] = _start_of(self.since, zone)
        if self.until is not None:
            # The form's "until" is a whole day; the filter is exclusive.
            filters["until"] = _start_of(self.until + timedelta(days=1), zone)
        if self.errors_only:
            filters["has_errors"] = True
        if self.converted is not None:
            filters["converted"] = self.converted
        if self.user_id:
            filters["user_id"] = self.user_id
        if self.session:
            filters["session_id"] = self.session
        return SessionQuery(filters=filters)


def _start_of(day: date, zone: tzinfo = UTC) -> datetime:
    return datetime.combine(day, time.min, tzinfo=zone).astimezone(UTC)


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


@dataclass(frozen=True)
class Cursor:
    """A position in a newest-first result list: the (started_at, id) of a row.

    Carried in the result links as opaque base64 JSON; it names no customer
    (a start time and rumvault's own row number). ``before``: the page ends
    just before this row (going back), otherwise it starts just after it.
    """

    started_at: datetime
    id: int
    before: bool = False

    def encode(self) -> str:
        data = {"t": self.started_at.astimezone(UTC).isoformat(), "i": self.id}
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode("ascii")

    @classmethod
    def decode(cls, text: str, *, before: bool) -> Cursor:
        """``ValueError`` for anything that is not a cursor this page made."""
        try:
            data = json.loads(base64.urlsafe_b64decode(text.encode("ascii")))
            moment = datetime.fromisoformat(data["t"])
            number = data["i"]
        except (ValueError, UnicodeError, binascii.Error, KeyError, TypeError):
            raise ValueError("invalid cursor") from None
        if moment.tzinfo is None or isinstance(number, bool) or not isinstance(number, int):
            raise ValueError("invalid cursor")
        return cls(started_at=moment.astimezone(UTC), id=number, before=before)


@dataclass(frozen=True)
class ResultPage:
    items: list[Masked]
    next: Cursor | None  # the page after this one starts after this row
    previous: Cursor | None  # the page before this one ends before this row


class UnknownErrorGroup(ValueError):
    """An error group that no longer matches any failure of the period (data changed)."""


def find_sessions(
    *,
    reader: Reader,
    criteria: FindCriteria,
    search: CustomerSearch | None,
    zone: tzinfo = UTC,
    cursor: Cursor | None = None,
    size: int = PAGE_SIZE,
) -> ResultPage:
    """One page of readable sessions matching ``criteria``, newest first, masked and audited.

    Keyset pages over (started_at, id), so page 3 costs what page 1 does and
    rows never repeat. Each row carries its triage summary. Raises what the
    read layer raises: ``HiddenFieldLookup`` (a criterion touches a field the
    principal cannot see there) and ``ValidationError``; ``UnknownErrorGroup``.
    """
    query = criteria.query(zone)
    if criteria.error_group:
        match = resolve_error_group(
            policy=reader.policy, criteria=criteria, zone=zone, digest=criteria.error_group
        )
        rows = reader.sessions_with_failed_action(query, error_message=match[0], name=match[1])
    else:
        rows = reader.customer_sessions(search, query) if search else reader.sessions(query)
    if cursor is not None:
        moment, number = cursor.started_at, cursor.id
        if cursor.before:
            rows = rows.filter(
                Q(started_at__gt=moment) | Q(started_at=moment, id__gt=number)
            ).order_by("started_at", "id")
        else:
            rows = rows.filter(Q(started_at__lt=moment) | Q(started_at=moment, id__lt=number))
    found = list(rows[: size + 1])
    more = len(found) > size
    found = found[:size]
    if cursor is not None and cursor.before:
        found.reverse()
        has_next, has_previous = True, more
    else:
        has_next, has_previous = more, cursor is not None
    page = reader.present_sessions(found, search=search, query=query, summaries=True)
    return ResultPage(
        items=page,
        next=_cursor_at(found[-1]) if has_next and found else None,
        previous=_cursor_at(found[0], before=True) if has_previous and found else None,
    )


def _cursor_at(row: dict[str, Any], *, before: bool = False) -> Cursor:
    return Cursor(started_at=row["started_at"], id=row["id"], before=before)


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


def latest_session_day(*, policy: FieldsetPolicy, zone: tzinfo = UTC) -> date | None:
    """The day (in ``zone``) of the newest readable session: the overview's default end."""
    latest = (
        UserSession.objects.filter(application_id__in=list(policy.applications))
        .aggregate(latest=Max("started_at"))
        .get("latest")
    )
    return latest.astimezone(zone).date() if latest is not None else None


def overview_stats(
    *, policy: FieldsetPolicy, since: date, until: date, zone: tzinfo = UTC
) -> Overview:
    """Sessions, error and conversion counts per day (and per application) in two queries.

    Starts from ``policy.applications`` (the same answer record access gives
    every other read) and groups in the database, so the cost does not grow
    with the number of sessions. Days are days in ``zone`` (the employee's).
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
        started_at__gte=_start_of(since, zone),
        started_at__lt=_start_of(until + timedelta(days=1), zone),
    )
    by_day = {
        row["day"]: row
        for row in sessions.annotate(day=TruncDate("started_at", tzinfo=zone))
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


# --- most frequent errors ------------------------------------------------------------

ERROR_GROUPS_SHOWN = 10


@dataclass(frozen=True)
class ErrorGroup:
    """Failed actions of one masked message and one request (action name) in a period."""

    digest: str  # names the group in links; says nothing about the message without the key
    message: str
    name: str
    failures: int
    sessions: int


@dataclass(frozen=True)
class FrequentErrors:
    groups: list[ErrorGroup]
    applications: list[ApplicationRef]  # whose failures are counted
    left_out: list[ApplicationRef]  # where the policy hides a field the table shows


def _digest(message: str, name: str) -> str:
    # Keyed (SECRET_KEY), so a link never works as a lookup of a message's text.
    value = f"{name}\x00{message}"
    return salted_hmac("rumvault.dashboard.error-group", value, algorithm="sha256").hexdigest()[:32]


def _error_applications(
    policy: FieldsetPolicy, application: str = ""
) -> tuple[list[ApplicationRef], list[ApplicationRef]]:
    """Readable applications (or the one named) where every field of the table is fully shown."""
    applications = [
        app for app in policy.applications.values() if not application or app.slug == application
    ]
    shown = []
    for app in applications:
        try:
            for path in FAILED_ACTION_LOOKUPS:  # the read layer's own check of this lookup
                policy.check_lookup(path, [app.id])
        except HiddenFieldLookup:
            continue
        shown.append(app)
    return shown, [app for app in applications if app not in shown]


def _failed_actions(applications: list[ApplicationRef], since: datetime, until: datetime) -> Any:
    # Actions and their joined sessions each held to the applications, the session
    # joined within the action's own (docs/scaling.md, "Routable by application").
    return UserAction.objects.filter(
        FAILED_ACTION,
        application_id__in=[app.id for app in applications] or [-1],
        session__application_id=F("application_id"),
        session__started_at__gte=since,
        session__started_at__lt=until,
    )


def frequent_errors(
    *,
    policy: FieldsetPolicy,
    since: date,
    until: date,
    zone: tzinfo = UTC,
    limit: int = ERROR_GROUPS_SHOWN,
) -> FrequentErrors:
    """The most frequent failures of the period, grouped by masked message and request.

    Counted over the readable applications where the policy shows error
    counts, error messages and action names in full; the others are named in
    ``left_out`` (fail closed, like the overview's rates). Messages are masked
    at ingest; one query.
    """
    applications, left_out = _error_applications(policy)
    rows = (
        _failed_actions(applications, _start_of(since, zone), _start_of(until + timedelta(1), zone))
        .values("error_message", "name")
        .annotate(failures=Count("id"), sessions=Count("session_id", distinct=True))
        .order_by("-failures", "-sessions", "name", "error_message")[:limit]
        if applications
        else []
    )
    groups = [
        ErrorGroup(
            digest=_digest(row["error_message"], row["name"]),
            message=row["error_message"],
            name=row["name"],
            failures=row["failures"],
            sessions=row["sessions"],
        )
        for row in rows
    ]
    return FrequentErrors(groups=groups, applications=applications, left_out=left_out)


def resolve_error_group(
    *, policy: FieldsetPolicy, criteria: FindCriteria, zone: tzinfo, digest: str
) -> tuple[str, str]:
    """The (message, name) of an error group of the criteria's period, by its digest.

    The digest is looked up among the failures the same policy lets the
    overview count, so a link cannot name a group the principal could not see.
    ``UnknownErrorGroup`` if none matches (the data changed, or the link was made up).
    """
    applications, _ = _error_applications(policy, criteria.application)
    if not applications or criteria.since is None or criteria.until is None:
        raise UnknownErrorGroup
    pairs = (
        _failed_actions(
            applications,
            _start_of(criteria.since, zone),
            _start_of(criteria.until + timedelta(1), zone),
        )
        .values_list("error_message", "name")
        .distinct()
    )
    for message, name in pairs:
        if _digest(message, name) == digest:
            return message, name
    raise UnknownErrorGroup
