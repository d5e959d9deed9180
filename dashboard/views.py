"""Help-desk dashboard views: thin glue between forms, the read layer and presenters.

Every view reads through the request's reader (``request.reader``, the read
layer every path shares), which masks what it returns and writes the audit
record before the response is returned, exactly like the API. Pages carrying
session data are ``never_cache``: a shared browser's back button must not
replay them.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import UTC, datetime
from functools import wraps
from typing import Any, TypeVar, cast

from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseBase, QueryDict
from django.shortcuts import render
from django.urls import reverse_lazy
from django.utils.decorators import method_decorator
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from access.throttling import search_throttled
from dashboard import presenters
from dashboard.forms import URL_FORBIDDEN, FindForm, OverviewForm
from dashboard.selectors import (
    OVERVIEW_DEFAULT_DAYS,
    RESULT_LIMIT,
    UnknownParameters,
    check_parameter_names,
    find_sessions,
    latest_session_day,
    overview_stats,
)
from permissions.policy import FieldsetPolicy, HiddenFieldLookup
from sessions_app.queries import (
    RepeatedParameter,
    TagInUrl,
    canonical_parameters,
    check_url_parameters,
)
from sessions_app.reads import Reader
from sessions_app.user_tags import customer_search

LOGIN_URL = reverse_lazy("dashboard:login")
# Names a find request may carry: the form's fields and Django's CSRF token.
FORM_PARAMETERS = frozenset([*FindForm.base_fields, "csrfmiddlewaretoken"])
OVERVIEW_PARAMETERS = frozenset(OverviewForm.base_fields)
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
    """Search form and results. The email travels only in a POST body and is never echoed.

    Every refusal renders the form without what was typed (``NoEchoForm``);
    after a search only the criteria that validated are shown again, the
    email never.
    """
    reader = _reader(request)
    policy = reader.policy
    context: dict[str, Any] = {"policy": policy, "searched": False, "error": ""}
    empty_form = FindForm(applications=policy.applications)
    page_template = "dashboard/find.html"
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
        page, truncated = find_sessions(reader=reader, criteria=criteria, search=search)
    except HiddenFieldLookup as refused:
        return _refused(request, page_template, context, error=str(refused), status=403)
    except ValidationError as invalid:
        # Messages from the read layer never echo the submitted value.
        return _refused(
            request, page_template, context, error=" ".join(_messages(invalid)), status=400
        )
    rows = [presenters.result_row(item.values, item.masked) for item in page]
    # Answered: the validated criteria (never the email) stay in the form so
    # the search can be refined.
    form.accepted = True
    context.update(
        searched=True,
        searched_email=criteria.is_search,
        rows=rows,
        truncated=truncated,
        result_limit=RESULT_LIMIT,
    )
    return render(request, page_template, context)


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
    except UnknownParameters:
        return render(request, "dashboard/refused.html", {"error": UNKNOWN_MESSAGE}, status=400)
    session = reader.session_with_actions(pk)
    application = reader.policy.application_by_slug(session.values["application"])
    timeline = presenters.timeline(session.actions or [], started_at=session.values["started_at"])
    context = {
        "session": session.values,
        "application": application,
        "masked": session.masked,
        "summary": presenters.summary(session.values, session.masked),
        "timeline": timeline,
        "actions_masked": session.actions is None and "actions" in session.masked,
        "failures": sum(1 for entry in timeline if entry.stands_out),
    }
    return render(request, "dashboard/session.html", context)


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
    # week (or an old demo database) still shows data.
    latest = latest_session_day(policy=policy) or datetime.now(tz=UTC).date()
    since, until = form.period(default_until=latest, default_days=OVERVIEW_DEFAULT_DAYS)
    if not form.is_bound:
        form = OverviewForm(initial={"since": since, "until": until})  # show the period used
    stats = overview_stats(policy=policy, since=since, until=until)
    days = [day.day for day in stats.days]
    context = {
        "form": form,
        "stats": stats,
        "sessions_chart": presenters.bar_chart(
            days, [d.sessions for d in stats.days], unit="sessions"
        ),
        "error_chart": presenters.rate_chart(
            days, [d.error_rate for d in stats.days], name="of sessions with errors"
        ),
        "conversion_chart": presenters.rate_chart(
            days, [d.conversion_rate for d in stats.days], name="of sessions converted"
        ),
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
