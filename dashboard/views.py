"""Help-desk dashboard views: thin glue between forms, selectors, masking and audit.

Every view builds one ``FieldsetPolicy`` per request, reads through
``dashboard.selectors`` (which reads through ``sessions_app.selectors``),
masks every row with ``policy.mask`` and writes the audit record before the
response is returned, exactly like the API. Pages carrying session data are
``never_cache``: a shared browser's back button must not replay them.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypedDict

from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

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
from fieldsets.policy import Disclosure, FieldsetPolicy, HiddenFieldLookup
from permissions.audit import audit_reveal, audit_search, request_method
from sessions_app.selectors import normalised_search_tag, session_get

LOGIN_URL = reverse_lazy("dashboard:login")
# Names a find request may carry: the form's fields and Django's CSRF token.
FORM_PARAMETERS = frozenset([*FindForm.base_fields, "csrfmiddlewaretoken"])
UNKNOWN_MESSAGE = "The request has parameters this page does not know. Use the search form."

View = Callable[..., HttpResponse]


def dashboard_view(view: View) -> View:
    """Login (staff not required) and no caching, for every page with session data."""
    # The project's LOGIN_URL is the admin's login, which only admits staff.
    return login_required(never_cache(view), login_url=LOGIN_URL)


class _AuditPath(TypedDict):
    username: str
    path: str
    method: str


def _audit_path(request: HttpRequest) -> _AuditPath:
    return {
        "username": request.user.get_username(),
        "path": request.path,
        "method": request_method(request),
    }


@dashboard_view
@require_http_methods(["GET", "POST"])
def find(request: HttpRequest) -> HttpResponse:
    """Search form and results. The email travels only in a POST body and is not echoed."""
    policy = FieldsetPolicy(user=request.user)
    context: dict[str, Any] = {"policy": policy, "searched": False, "error": ""}
    if request.method == "GET" and URL_FORBIDDEN & request.GET.keys():
        # Refuse rather than ignore: the email would already be in logs and history.
        context.update(
            form=FindForm(applications=policy.applications),
            error="A customer email is never accepted in a URL. Use the search form.",
        )
        return render(request, "dashboard/find.html", context, status=400)
    is_post = request.method == "POST"
    data = request.POST if is_post else request.GET
    form = FindForm(data or None, applications=policy.applications)
    context["form"] = form
    if not form.is_bound:
        return render(request, "dashboard/find.html", context)
    try:
        check_parameter_names(policy=policy, names=data.keys(), known=FORM_PARAMETERS)
    except HiddenFieldLookup as refused:
        context.update(form=FindForm(applications=policy.applications), error=str(refused))
        return render(request, "dashboard/find.html", context, status=403)
    except UnknownParameters:
        context.update(form=FindForm(applications=policy.applications), error=UNKNOWN_MESSAGE)
        return render(request, "dashboard/find.html", context, status=400)
    if not form.is_valid():
        return render(request, "dashboard/find.html", context, status=400)
    criteria = form.criteria()
    try:
        normalised = normalised_search_tag(criteria.email) if criteria.is_search else ""
        result = find_sessions(policy=policy, criteria=criteria)
    except HiddenFieldLookup as refused:
        context["error"] = str(refused)
        return render(request, "dashboard/find.html", context, status=403)
    except ValidationError as invalid:
        # Messages from the selectors never echo the submitted value.
        context["error"] = " ".join(_messages(invalid))
        return render(request, "dashboard/find.html", context, status=400)
    disclosure = Disclosure()
    rows = [presenters.result_row(*policy.mask(row, disclosure)) for row in result.rows]
    if criteria.is_search:
        audit_search(
            **_audit_path(request),
            normalised_tag=normalised,
            applications=[app.slug for app in result.scope],
            session_ids=[row.id for row in rows],
            disclosure=disclosure,
        )
    else:
        audit_reveal(**_audit_path(request), disclosure=disclosure)
    # Never echo the email into the re-rendered form (the page may sit on a
    # shared screen); every other criterion stays so the search can be refined.
    refine = request.POST.copy() if is_post else request.GET.copy()
    refine.pop("email", None)
    context.update(
        form=FindForm(refine, applications=policy.applications),
        searched=True,
        searched_email=criteria.is_search,
        rows=rows,
        truncated=result.truncated,
        result_limit=RESULT_LIMIT,
    )
    return render(request, "dashboard/find.html", context)


def _messages(error: ValidationError) -> list[str]:
    if hasattr(error, "error_dict"):
        return [str(m) for messages in error.message_dict.values() for m in messages]
    return [str(m) for m in error.messages]


@dashboard_view
@require_GET
def session_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One session with its timeline; a foreign application's session is a 404 like a missing id."""
    policy = FieldsetPolicy(user=request.user)
    row = session_get(principal=policy, pk=pk, with_actions=True)
    actions = row.pop("actions")
    disclosure = Disclosure()
    values, masked = policy.mask(row, disclosure)
    audit_reveal(**_audit_path(request), disclosure=disclosure)
    application = policy.applications.get(row["application_id"])
    if application is None:  # session_get already refused it; fail closed anyway
        raise Http404
    timeline = presenters.timeline(actions, started_at=row["started_at"])
    context = {
        "session": values,
        "application": application,
        "masked": masked,
        "summary": presenters.summary(values, masked),
        "timeline": timeline,
        "failures": sum(1 for entry in timeline if entry.stands_out),
    }
    return render(request, "dashboard/session.html", context)


@dashboard_view
@require_GET
def overview(request: HttpRequest) -> HttpResponse:
    """Sessions per day, error and conversion rates of the readable applications (SVG)."""
    policy = FieldsetPolicy(user=request.user)
    form = OverviewForm(request.GET or None)
    if form.is_bound and not form.is_valid():
        return render(request, "dashboard/overview.html", {"form": form}, status=400)
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


class LoginView(auth_views.LoginView):
    """A login page for every active user (the admin's admits staff only)."""

    template_name = "dashboard/login.html"
    redirect_authenticated_user = True
    next_page = "dashboard:find"  # a URL name: Django resolves it (resolve_url)


class LogoutView(auth_views.LogoutView):
    next_page = "dashboard:login"
