"""Help-desk dashboard views: thin glue between forms, the read layer and presenters.

Every view reads through the request's reader (``request.reader``, the read
layer every path shares), which masks what it returns and writes the audit
record before the response is returned, exactly like the API. Pages carrying
session data are ``never_cache``: a shared browser's back button must not
replay them.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import asdict
from datetime import date, datetime
from functools import wraps
from typing import Any, TypeVar, cast

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseBase, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.decorators import method_decorator
from django.utils.http import urlencode
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from access.throttling import search_throttled
from dashboard import presenters
from dashboard.forms import (
    BROWSER_ZONE,
    URL_FORBIDDEN,
    FindForm,
    OverviewForm,
    ProfileForm,
    RevealForm,
)
from dashboard.models import HelpDeskProfile
from dashboard.selectors import (
    OVERVIEW_DEFAULT_DAYS,
    PAGE_SIZE,
    Cursor,
    FindCriteria,
    UnknownErrorGroup,
    UnknownParameters,
    check_parameter_names,
    find_sessions,
    frequent_errors,
    latest_session_day,
    overview_stats,
)
from dashboard.timezones import COOKIE, display_zone, saved_zone, zone_named
from permissions.policy import FieldsetPolicy, HiddenFieldLookup
from permissions.selectors import open_reveal_window
from permissions.services import NothingToReveal, RevealNotRequired
from sessions_app import admin_search
from sessions_app.queries import (
    RepeatedParameter,
    TagInUrl,
    canonical_parameters,
    check_url_parameters,
)
from sessions_app.reads import Reader
from sessions_app.user_tags import CustomerSearch, customer_search

LOGIN_URL = reverse_lazy("dashboard:login")
# Names a find request may carry: the form's fields and Django's CSRF token.
FORM_PARAMETERS = frozenset([*FindForm.base_fields, "csrfmiddlewaretoken"])
# A further page of a search kept server-side: its random id and a cursor.
RESULTS, AFTER, BEFORE = "results", "after", "before"
PAGE_PARAMETERS = frozenset([RESULTS, AFTER, BEFORE])
OVERVIEW_PARAMETERS = frozenset(OverviewForm.base_fields)
# Where the dashboard keeps its searches in the user's session (sessions_app.admin_search).
SEARCH_STORE = "rumvault_dashboard_searches"
SEARCH_EXPIRED = "This result list has expired or belongs to another sign-in. Search again."
BAD_CURSOR = "This page link is not valid. Search again."
UNKNOWN_ERROR_GROUP = (
    "This error no longer matches any failure you can see in that period. Open the overview again."
)
UNKNOWN_MESSAGE = "The request has parameters this page does not know. Use the search form."
REPEATED_MESSAGE = "The request gives a parameter more than once. Use the search form."
TAG_IN_URL_MESSAGE = (
    "A customer email is never accepted in a URL, in any field. Use the search form: "
    "it sends the email in the request body."
)

View = Callable[..., HttpResponse]
AnyView = TypeVar("AnyView", bound=Callable[..., HttpResponseBase])


def refuse_tag_in_url(view: AnyView) -> AnyView:
    """400 for an email (or an ``email``/``user_tag`` parameter) anywhere in the query string.

    Outermost, before the login redirect: that would copy the URL, email and
    all, into ``?next=`` and the login form. The page says where to search
    instead and repeats nothing of the URL.
    """

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        try:
            check_url_parameters(_pairs(request.GET), tag_names=URL_FORBIDDEN)
        except TagInUrl:
            return render(
                request, "dashboard/refused.html", {"error": TAG_IN_URL_MESSAGE}, status=400
            )
        return view(request, *args, **kwargs)

    return cast(AnyView, wrapped)


def dashboard_view(view: AnyView) -> AnyView:
    """No email in the URL, login (staff not required) and no caching, for every page."""
    # The project's LOGIN_URL is the admin's login, which only admits staff.
    return refuse_tag_in_url(login_required(never_cache(view), login_url=LOGIN_URL))


def _pairs(query: QueryDict) -> list[tuple[str, str]]:
    return [(name, value) for name, values in query.lists() for value in values]


def _form_data(query: QueryDict) -> dict[str, str]:
    """A query string or form body keyed by ``parameter_name`` (``Since`` is ``since``).

    ``RepeatedParameter`` for a name given twice, in any spelling: one of the
    values would otherwise be silently ignored.
    """
    return canonical_parameters(_pairs(query))


def _refused(
    request: HttpRequest, template: str, context: dict[str, Any], *, error: str, status: int
) -> HttpResponse:
    return render(request, template, {**context, "error": error}, status=status)


def _check_names(policy: FieldsetPolicy, names: Collection[str], known: Collection[str]) -> None:
    """``check_parameter_names``; ``HiddenFieldLookup`` (403) or ``UnknownParameters`` (400)."""
    check_parameter_names(policy=policy, names=names, known=known)


def _reader(request: HttpRequest) -> Reader:
    return request.reader  # type: ignore[attr-defined, no-any-return]


@dashboard_view
@require_http_methods(["GET", "POST"])
@search_throttled("email")
def find(request: HttpRequest) -> HttpResponse:
    """Search form and result pages. The email travels only in a POST body and is never echoed.

    Every refusal renders the form without what was typed (``NoEchoForm``);
    after a search only the criteria that validated are shown again, the
    email never. Further pages (``?results=<id>&after=<cursor>``) re-run a
    search kept server-side under a random id, like the admin's: no URL
    carries the email, and every page is audited like the first.
    """
    reader = _reader(request)
    policy = reader.policy
    context: dict[str, Any] = {"policy": policy, "searched": False, "error": ""}
    empty_form = FindForm(applications=policy.applications)
    page_template = "dashboard/find.html"
    if request.method == "GET" and RESULTS in request.GET:
        return _result_page(request, reader, {**context, "form": empty_form})
    try:
        data = _form_data(request.POST if request.method == "POST" else request.GET)
    except RepeatedParameter:
        return _refused(
            request,
            page_template,
            {**context, "form": empty_form},
            error=REPEATED_MESSAGE,
            status=400,
        )
    form = FindForm(data or None, applications=policy.applications)
    context["form"] = form
    if not form.is_bound:
        return render(request, page_template, context)
    try:
        _check_names(policy, data.keys(), FORM_PARAMETERS)
    except HiddenFieldLookup as refused:
        return _refused(
            request, page_template, {**context, "form": empty_form}, error=str(refused), status=403
        )
    except UnknownParameters:
        return _refused(
            request,
            page_template,
            {**context, "form": empty_form},
            error=UNKNOWN_MESSAGE,
            status=400,
        )
    if not form.is_valid():
        return render(request, page_template, context, status=400)
    criteria = form.criteria()
    try:
        search = customer_search(criteria.email) if criteria.is_search else None
    except ValidationError as invalid:
        return _refused(
            request, page_template, context, error=" ".join(_messages(invalid)), status=400
        )
    return _answer(request, reader, context, criteria=criteria, search=search, cursor=None)


def _answer(
    request: HttpRequest,
    reader: Reader,
    context: dict[str, Any],
    *,
    criteria: FindCriteria,
    search: CustomerSearch | None,
    cursor: Cursor | None,
    results_id: str | None = None,
) -> HttpResponse:
    """Run the search (one page) and render it, or the read layer's refusal."""
    page_template = "dashboard/find.html"
    try:
        page = find_sessions(
            reader=reader,
            criteria=criteria,
            search=search,
            zone=display_zone(request).zone,
            cursor=cursor,
        )
    except HiddenFieldLookup as refused:
        return _refused(request, page_template, context, error=str(refused), status=403)
    except UnknownErrorGroup:
        return _refused(request, page_template, context, error=UNKNOWN_ERROR_GROUP, status=400)
    except ValidationError as invalid:
        # Messages from the read layer never echo the submitted value.
        return _refused(
            request, page_template, context, error=" ".join(_messages(invalid)), status=400
        )
    if results_id is None and (page.next is not None or page.previous is not None):
        results_id = _keep_search(request, criteria, search)
    # Answered: the validated criteria (never the email) stay in the form so
    # the search can be refined.
    context["form"].accepted = True
    context.update(
        searched=True,
        searched_email=criteria.is_search,
        error_group=bool(criteria.error_group),
        rows=[presenters.result_row(item) for item in page.items],
        page_size=PAGE_SIZE,
        first_page=cursor is None,
        next_link=_page_link(results_id, AFTER, page.next),
        previous_link=_page_link(results_id, BEFORE, page.previous),
    )
    return render(request, page_template, context)


def _page_link(results_id: str | None, name: str, cursor: Cursor | None) -> str:
    if results_id is None or cursor is None:
        return ""
    return f"{reverse('dashboard:find')}?{urlencode({RESULTS: results_id, name: cursor.encode()})}"


def _keep_search(
    request: HttpRequest, criteria: FindCriteria, search: CustomerSearch | None
) -> str:
    """Keep the search server-side (its criteria, and the email's keyed values, never the email)."""
    kept = {
        "criteria": {
            **{name: value for name, value in asdict(criteria).items() if name != "email"},
            "since": criteria.since.isoformat() if criteria.since else None,
            "until": criteria.until.isoformat() if criteria.until else None,
            "email": "",
        },
        "search": asdict(search) if search is not None else None,
    }
    return admin_search.keep(request, store=SEARCH_STORE, payload=kept)


def _result_page(request: HttpRequest, reader: Reader, context: dict[str, Any]) -> HttpResponse:
    """A further page of a kept search: ``?results=<id>`` and ``after`` or ``before``."""
    page_template = "dashboard/find.html"
    try:
        data = _form_data(request.GET)
        _check_names(reader.policy, data.keys(), PAGE_PARAMETERS)
    except (RepeatedParameter, UnknownParameters):
        return _refused(request, page_template, context, error=UNKNOWN_MESSAGE, status=400)
    except HiddenFieldLookup as refused:
        return _refused(request, page_template, context, error=str(refused), status=403)
    if AFTER in data and BEFORE in data:
        return _refused(request, page_template, context, error=BAD_CURSOR, status=400)
    kept = admin_search.kept(request, store=SEARCH_STORE, search_id=data[RESULTS])
    if kept is None:
        return _refused(request, page_template, context, error=SEARCH_EXPIRED, status=400)
    cursor = None
    try:
        if AFTER in data:
            cursor = Cursor.decode(data[AFTER], before=False)
        elif BEFORE in data:
            cursor = Cursor.decode(data[BEFORE], before=True)
    except ValueError:
        return _refused(request, page_template, context, error=BAD_CURSOR, status=400)
    stored = kept["criteria"]
    criteria = FindCriteria(
        **{
            **stored,
            "since": date.fromisoformat(stored["since"]) if stored["since"] else None,
            "until": date.fromisoformat(stored["until"]) if stored["until"] else None,
        }
    )
    search = (
        CustomerSearch(
            blind_indexes=tuple(kept["search"]["blind_indexes"]),
            audit_hash=kept["search"]["audit_hash"],
        )
        if kept["search"]
        else None
    )
    form = FindForm(initial=_initial(criteria), applications=reader.policy.applications)
    return _answer(
        request,
        reader,
        {**context, "form": form},
        criteria=criteria,
        search=search,
        cursor=cursor,
        results_id=data[RESULTS],
    )


def _initial(criteria: FindCriteria) -> dict[str, Any]:
    """The form's fields as the kept criteria say (the email never)."""
    converted = {True: "yes", False: "no", None: ""}[criteria.converted]
    return {
        **{name: value for name, value in asdict(criteria).items() if name != "email"},
        "converted": converted,
    }


def _messages(error: ValidationError) -> list[str]:
    if hasattr(error, "error_dict"):
        return [str(m) for messages in error.message_dict.values() for m in messages]
    return [str(m) for m in error.messages]


@dashboard_view
@require_GET
def session_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One session with its timeline; a foreign application's session is a 404 like a missing id."""
    reader = _reader(request)
    try:
        # The page takes no parameters; a hand-made ?client_ip= is refused like on the list.
        _check_names(reader.policy, request.GET.keys(), known=())
    except HiddenFieldLookup as refused:
        return render(request, "dashboard/refused.html", {"error": str(refused)}, status=403)
    except UnknownParameters:
        return render(request, "dashboard/refused.html", {"error": UNKNOWN_MESSAGE}, status=400)
    return _session_page(request, reader, pk, RevealForm())


def _session_page(
    request: HttpRequest, reader: Reader, pk: int, reveal_form: RevealForm, *, status: int = 200
) -> HttpResponse:
    session = reader.session_with_actions(pk)
    policy = reader.policy
    application = policy.application_by_slug(session.values["application"])
    timeline = presenters.timeline(
        session.actions or [], started_at=session.values["started_at"], logs=session.logs or []
    )
    window = open_reveal_window(user=request.user, session_pk=pk)
    revealable = bool(application and policy.revealable_fields(application.id))
    context = {
        "session": session.values,
        "application": application,
        "masked": session.masked,
        "partial": session.partial,
        "summary": presenters.summary(session.values, session.masked, session.partial),
        "timeline": timeline,
        "action_count": len(session.actions or []),
        "log_count": len(session.logs or []),
        "actions_masked": session.actions is None and "actions" in session.masked,
        "logs_masked": session.logs is None and "logs" in session.masked,
        "failures": sum(1 for entry in timeline if entry.stands_out and not entry.is_log),
        "log_errors": sum(1 for entry in timeline if entry.stands_out and entry.is_log),
        "window": window,
        "can_reveal": revealable and window is None,
        "reveal_form": reveal_form,
        "reveal_minutes": settings.RUMVAULT_REVEAL_WINDOW_SECONDS // 60,
    }
    return render(request, "dashboard/session.html", context, status=status)


@dashboard_view
@require_POST
def session_reveal(request: HttpRequest, pk: int) -> HttpResponse:
    """Reveal one session with a reason (``reveal_requires_reason``), then show it.

    Opening the window reads nothing; the session page it redirects to shows
    the values and writes the audit record with the reason, like the API.
    """
    reader = _reader(request)
    form = RevealForm(_reason_only(request.POST))
    if form.is_valid():
        try:
            reader.open_window(pk, reason=form.cleaned_data["reason"])
        except ValidationError as invalid:
            form.add_error("reason", " ".join(_messages(invalid)))
        except (RevealNotRequired, NothingToReveal) as refused:
            form.add_error(None, str(refused))
        else:
            return redirect("dashboard:session", pk=pk)
    return _session_page(request, reader, pk, form, status=400)


def _reason_only(data: QueryDict) -> dict[str, str]:
    """The reveal form's own fields; anything else in the body is ignored, never echoed."""
    return {name: data.get(name, "") for name in ("reason",) if name in data}


@dashboard_view
@require_http_methods(["GET", "POST"])
def profile(request: HttpRequest) -> HttpResponse:
    """The employee's settings: the time zone (empty: the browser's)."""
    saved = saved_zone(request.user)
    form = ProfileForm(request.POST or None, initial={"time_zone": saved or BROWSER_ZONE})
    if request.method == "POST" and form.is_valid():
        HelpDeskProfile.objects.update_or_create(
            user_id=cast(int, request.user.pk),
            defaults={"time_zone": form.cleaned_data["time_zone"]},
        )
        return redirect("dashboard:profile")
    status = 400 if form.is_bound else 200
    cookie = request.COOKIES.get(COOKIE)
    browser_zone = cookie if zone_named(cookie) is not None else ""  # never echo anything else
    context = {"form": form, "browser_zone": browser_zone}
    return render(request, "dashboard/profile.html", context, status=status)


@dashboard_view
@require_GET
def overview(request: HttpRequest) -> HttpResponse:
    """Sessions per day, error and conversion rates of the readable applications (SVG)."""
    policy = _reader(request).policy
    page = "dashboard/overview.html"
    try:
        data = _form_data(request.GET)
        _check_names(policy, data.keys(), OVERVIEW_PARAMETERS)
    except RepeatedParameter:
        return _refused(request, page, {"form": OverviewForm()}, error=REPEATED_MESSAGE, status=400)
    except UnknownParameters:
        return _refused(request, page, {"form": OverviewForm()}, error=UNKNOWN_MESSAGE, status=400)
    form = OverviewForm(data or None)
    if form.is_bound and not form.is_valid():
        return render(request, page, {"form": form}, status=400)
    # Default: the 30 days up to the newest readable session, so a quiet
    # week (or an old demo database) still shows data. Days are the employee's.
    zone = display_zone(request)
    latest = latest_session_day(policy=policy, zone=zone.zone) or datetime.now(tz=zone.zone).date()
    since, until = form.period(default_until=latest, default_days=OVERVIEW_DEFAULT_DAYS)
    if not form.is_bound:
        form = OverviewForm(initial={"since": since, "until": until})  # show the period used
    stats = overview_stats(policy=policy, since=since, until=until, zone=zone.zone)
    days = [day.day for day in stats.days]
    find = reverse("dashboard:find")
    context = {
        "form": form,
        "stats": stats,
        "zone": zone,
        "errors": frequent_errors(policy=policy, since=since, until=until, zone=zone.zone),
        "sessions_chart": presenters.bar_chart(
            days,
            [d.sessions for d in stats.days],
            unit="sessions",
            links=[presenters.day_link(find, day) for day in days],
        ),
        "error_chart": presenters.rate_chart(
            days,
            [d.error_rate for d in stats.days],
            name="of sessions with errors",
            links=[presenters.day_link(find, day, errors_only=True) for day in days],
        ),
        "conversion_chart": presenters.rate_chart(
            days,
            [d.conversion_rate for d in stats.days],
            name="of sessions converted",
            links=[presenters.day_link(find, day, converted=True) for day in days],
        ),
        "period_link": presenters.period_link(find, since, until),
        **presenters.overview_descriptions(stats),
    }
    return render(request, "dashboard/overview.html", context)


@method_decorator(refuse_tag_in_url, name="dispatch")
class LoginView(auth_views.LoginView):
    """A login page for every active user (the admin's admits staff only)."""

    template_name = "dashboard/login.html"
    redirect_authenticated_user = True
    next_page = "dashboard:find"  # a URL name: Django resolves it (resolve_url)


class LogoutView(auth_views.LogoutView):
    next_page = "dashboard:login"
