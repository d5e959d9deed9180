"""Admin for applications and, read-only, for RUM sessions and actions.

Applications: privacy settings editable, the ingest token never shown.
Applications are created with ``manage.py create_application`` (which prints
the token once), so the admin offers no "add" form that would have to show it.
A staff user sees and changes only applications it can read (record access,
as the policy decides), on top of ``change_application``; every settings
change goes through ``application_configure``, which audits it.

Sessions and actions: a read path like the API, so the same ``FieldsetPolicy``
decides everything. A staff user sees only sessions of applications granted
to it; every personal value is rendered through ``FieldsetPolicy.mask``; no
sensitive field is sortable, searchable, filterable or reachable by a URL
lookup. The search box takes an email and runs the API's own user-tag search
(``sessions_app.selectors.customer_sessions``) through a POST, so the email
never lands in a URL; the URL carries only a random, user-bound, short-lived
search id (``sessions_app.admin_search``), and every page shown for it is
audited.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from functools import partial
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.forms import ModelForm
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.http import urlencode

from access.throttling import search_throttled
from fieldsets.policy import Disclosure, FieldsetPolicy
from permissions.audit import Actor, audit_reveal, audit_search
from sessions_app import admin_search
from sessions_app.applications import PRIVACY_SETTING_FIELDS, application_configure
from sessions_app.models import Application, UserAction, UserSession
from sessions_app.selectors import (
    ACTION_COLUMNS,
    CustomerSearch,
    customer_search,
    customer_sessions,
    session_scope,
)


@admin.register(Application)
class ApplicationAdmin(admin.ModelAdmin):
    list_display = ("slug", "name", "ip_masking", "user_tag_storage", "retention_days")
    search_fields = ("slug", "name")
    readonly_fields = ("slug", "created_at")
    fieldsets = (
        (None, {"fields": ("slug", "name", "created_at")}),
        (
            "Privacy settings (apply to data ingested after a change)",
            {"fields": PRIVACY_SETTING_FIELDS},
        ),
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    # Record access scopes the model permissions: an application the user
    # cannot read does not exist here (404 like a missing id, as on every path).
    def get_queryset(self, request: HttpRequest) -> QuerySet[Application]:
        readable = list(request_policy(request).applications)
        return super().get_queryset(request).filter(pk__in=readable)

    def _readable(self, request: HttpRequest, obj: Application | None) -> bool:
        return obj is None or request_policy(request).can_read(obj.pk)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_view_permission(request, obj) and self._readable(request, obj)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_change_permission(request, obj) and self._readable(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_delete_permission(request, obj) and self._readable(request, obj)

    @transaction.atomic
    def save_model(
        self, request: HttpRequest, obj: Application, form: ModelForm, change: bool
    ) -> None:
        changed = set(form.changed_data)
        others = [name for name in changed if name not in PRIVACY_SETTING_FIELDS]
        if others:
            obj.save(update_fields=others)
        settings = {name: form.cleaned_data[name] for name in PRIVACY_SETTING_FIELDS}
        actor = Actor(
            username=request.user.get_username(), method=request.method or "POST", path=request.path
        )
        application_configure(
            application=obj,
            actor=actor,
            **{name: value for name, value in settings.items() if name in changed},
        )


# --- request-scoped policy ----------------------------------------------------


def request_policy(request: HttpRequest) -> FieldsetPolicy:
    """One policy per request (grants read once, a revocation applies next request)."""
    policy = getattr(request, "_fieldset_policy", None)
    if policy is None:
        policy = FieldsetPolicy(user=request.user)
        request._fieldset_policy = policy  # type: ignore[attr-defined]
        request._fieldset_disclosure = Disclosure()  # type: ignore[attr-defined]
    return policy


# The request being rendered. Django calls list_display/readonly callables with
# the object only; a context variable (per thread and per request) hands them
# the request-scoped policy without storing state on the shared ModelAdmin.
_current_request: ContextVar[HttpRequest] = ContextVar("rumvault_admin_request")


def masked_values(session: UserSession) -> tuple[dict[str, Any], list[str]]:
    """``FieldsetPolicy.mask`` for one session, memoised per request (many columns, one row)."""
    request = _current_request.get()
    cache: dict[int, tuple[dict[str, Any], list[str]]] = request.__dict__.setdefault(
        "_masked_sessions", {}
    )
    if session.pk not in cache:
        policy = request_policy(request)
        cache[session.pk] = policy.mask(session, request._fieldset_disclosure)  # type: ignore[attr-defined]
    return cache[session.pk]


def render_and_audit(
    request: HttpRequest,
    view: Callable[[], HttpResponse],
    *,
    search: CustomerSearch | None = None,
) -> HttpResponse:
    """Run an admin view with masking enabled; render now and audit what was revealed.

    Rendering inside the context lets the column callables find the request,
    and the audit record is written before the values leave the server. A
    page of customer-search results is a search record (like the API's),
    whether it revealed anything or not: the first page, a reload, page 2.
    """
    token = _current_request.set(request)
    try:
        response = view()
        if isinstance(response, TemplateResponse) and not response.is_rendered:
            response.render()
    finally:
        _current_request.reset(token)
    disclosure = getattr(request, "_fieldset_disclosure", None) or Disclosure()
    username, method = request.user.get_username(), request.method or "GET"
    context = getattr(response, "context_data", None) or {}
    if search is not None and "cl" in context:
        policy = request_policy(request)
        scope = session_scope(principal=policy, filters=request.GET)
        audit_search(
            username=username,
            path=request.path,
            method=method,
            search=search,
            applications=[policy.applications[app_id].slug for app_id in scope],
            session_ids=[session.pk for session in context["cl"].result_list],
            disclosure=disclosure,
        )
    elif disclosure:
        audit_reveal(username=username, path=request.path, method=method, disclosure=disclosure)
    return response


CUSTOMER_PARAMETER = "customer"
SEARCH_EXPIRED = (
    "This customer search has expired or belongs to another sign-in. Search for the customer again."
)

MASKED_BADGE = format_html('<span class="masked-badge" title="{}">masked</span>', "Not granted")


class ReadOnlyPolicyAdmin(admin.ModelAdmin):
    """Read-only admin whose access is record access, as decided by the policy."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def application_id_of(self, obj: Any) -> int:
        raise NotImplementedError

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if not (request.user.is_active and request.user.is_staff):
            return False
        policy = request_policy(request)
        if obj is None:
            return bool(policy.applications)
        return policy.can_read(self.application_id_of(obj))

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self.has_view_permission(request)

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        return {}  # no bulk actions (in particular no delete) on RUM data


# --- sessions -------------------------------------------------------------------


class ReadableApplicationFilter(admin.SimpleListFilter):
    """Filter by application, offering only the applications the user may read."""

    title = "application"
    parameter_name = "application"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(app.slug, app.name) for app in request_policy(request).applications.values()]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        slug = self.value()
        if slug is None:
            return queryset
        application = request_policy(request).application_by_slug(slug)
        if application is None:
            # Refused (the admin redirects to ?e=1) rather than shown: the
            # filter links would carry the typed value, which may be anything.
            raise IncorrectLookupParameters
        return queryset.filter(application_id=application.id)


class CustomerSearchFilter(admin.SimpleListFilter):
    """Applies a customer search kept server-side under the random id in ``?customer=``.

    ``changelist_view`` has looked the id up (``admin_search.recall``) before
    the changelist runs; the rows come from ``customer_sessions``, the same
    search as the API's and the dashboard's. The sidebar shows the filter
    only while one is active, so it can be cleared.
    """

    title = "customer search"
    parameter_name = CUSTOMER_PARAMETER

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        value = self.value()
        return [(value, "the searched customer")] if value else []

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() is None:
            return queryset
        search = getattr(request, "_customer_search", None)
        if search is None:  # not looked up by changelist_view: fail closed
            return queryset.none()
        return queryset & customer_sessions(principal=request_policy(request), search=search)


class UserActionInline(admin.TabularInline):
    model = UserAction
    fields = ("seq", "type", "name", "url", "http_status", "duration_ms", "error_message")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return obj is None or request_policy(request).can_read(obj.application_id)


def _masked_column(field_name: str, description: str) -> Any:
    """A changelist/change-form column showing one session field as the policy allows."""

    def column(self: UserSessionAdmin, session: UserSession) -> Any:
        values, masked = masked_values(session)
        if field_name in masked:
            return MASKED_BADGE
        value = values[field_name]
        return self.get_empty_value_display() if value in (None, "", {}) else value

    column.short_description = description  # type: ignore[attr-defined]
    return column


@admin.register(UserSession)
class UserSessionAdmin(ReadOnlyPolicyAdmin):
    change_list_template = "admin/sessions_app/usersession/change_list.html"
    list_display = (
        "started_at",
        "application",
        "user_id_column",
        "user_tag_column",
        "duration_column",
        "action_count_column",
        "error_count_column",
        "converted_column",
        "revenue_column",
        "country_column",
    )
    list_display_links = ("started_at",)
    # started_at is in no fieldset (it is the pagination key); nothing else sorts.
    sortable_by = ("started_at",)
    list_filter = (ReadableApplicationFilter, CustomerSearchFilter)
    search_fields = ()  # the customer search is an exact blind-index POST, below
    list_select_related = ("application",)
    list_per_page = 50
    show_full_result_count = False
    inlines = (UserActionInline,)
    fields = (
        "application",
        "session_id_column",
        "started_at",
        "ended_at_column",
        "duration_column",
        "user_id_column",
        "user_tag_column",
        "client_ip_column",
        "geo_latitude_column",
        "geo_longitude_column",
        "country_column",
        "city_column",
        "browser_column",
        "os_column",
        "device_column",
        "properties_column",
        "action_count_column",
        "error_count_column",
        "converted_column",
        "revenue_column",
    )
    readonly_fields = fields

    session_id_column = _masked_column("session_id", "session id")
    ended_at_column = _masked_column("ended_at", "ended at")
    duration_column = _masked_column("duration_ms", "duration (ms)")
    user_id_column = _masked_column("user_id", "user id")
    user_tag_column = _masked_column("user_tag", "user tag")
    client_ip_column = _masked_column("client_ip", "client IP")
    geo_latitude_column = _masked_column("geo_latitude", "latitude")
    geo_longitude_column = _masked_column("geo_longitude", "longitude")
    country_column = _masked_column("country", "country")
    city_column = _masked_column("city", "city")
    browser_column = _masked_column("browser", "browser")
    os_column = _masked_column("os", "OS")
    device_column = _masked_column("device", "device")
    properties_column = _masked_column("properties", "properties")
    action_count_column = _masked_column("action_count", "actions")
    error_count_column = _masked_column("error_count", "errors")
    converted_column = _masked_column("converted", "converted")
    revenue_column = _masked_column("revenue", "revenue")

    def application_id_of(self, obj: UserSession) -> int:
        return obj.application_id

    def get_queryset(self, request: HttpRequest) -> QuerySet[UserSession]:
        readable = list(request_policy(request).applications)
        return super().get_queryset(request).filter(application_id__in=readable)

    def lookup_allowed(self, lookup: str, value: str, request: HttpRequest | None = None) -> bool:
        # Fail closed: only our two filters may appear in a URL. Anything else
        # (user_tag__startswith=..., client_ip=...) is refused with a 400
        # instead of quietly filtering, so the changelist is never an oracle.
        return lookup in {ReadableApplicationFilter.parameter_name, CUSTOMER_PARAMETER}

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet, search_term: str
    ) -> tuple[QuerySet, bool]:
        if search_term:
            # ?q= in a URL would put an email in browser history and proxies.
            raise PermissionDenied("Search for a customer with the form; it sends a POST.")
        return queryset, False

    def get_urls(self) -> list[Any]:
        customer_search = self.admin_site.admin_view(
            search_throttled("user_tag")(self.customer_search_view)
        )
        return [
            path("customer-search/", customer_search, name="sessions_app_usersession_search"),
            *super().get_urls(),
        ]

    def customer_search_view(self, request: HttpRequest) -> HttpResponse:
        """POST an email; keep the search server-side and redirect to its results.

        Nothing is read here: the results page runs the search and audits it,
        every time it is shown.
        """
        changelist = reverse("admin:sessions_app_usersession_changelist")
        if request.method != "POST" or not self.has_view_permission(request):
            raise PermissionDenied
        try:
            search = customer_search(request.POST.get("user_tag", ""))
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
            return HttpResponseRedirect(changelist)
        search_id = admin_search.remember(request, search)
        return HttpResponseRedirect(f"{changelist}?{urlencode({CUSTOMER_PARAMETER: search_id})}")

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None) -> Any:
        search = None
        if CUSTOMER_PARAMETER in request.GET:
            search = admin_search.recall(request, request.GET[CUSTOMER_PARAMETER])
            if search is None:
                # Unknown, expired, or another user's: never a silently unfiltered list.
                messages.error(request, SEARCH_EXPIRED)
                return HttpResponseRedirect(reverse("admin:sessions_app_usersession_changelist"))
            request._customer_search = search  # type: ignore[attr-defined]
        extra_context = {**(extra_context or {}), "customer_search_active": search is not None}
        return render_and_audit(
            request, partial(super().changelist_view, request, extra_context), search=search
        )

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict | None = None,
    ) -> Any:
        return render_and_audit(
            request, partial(super().change_view, request, object_id, form_url, extra_context)
        )

    def history_view(self, request: HttpRequest, object_id: str, extra_context: Any = None) -> Any:
        return render_and_audit(
            request, partial(super().history_view, request, object_id, extra_context)
        )


ACTION_ADMIN_FIELDS: tuple[str, ...] = ("session", *ACTION_COLUMNS)


@admin.register(UserAction)
class UserActionAdmin(ReadOnlyPolicyAdmin):
    """Actions hold no fieldset fields (URLs, headers and errors are masked at ingest).

    The change page shows the API's action fields and nothing more.
    """

    list_display = ("session", "seq", "type", "name", "http_status", "timestamp")
    list_select_related = ("session",)
    sortable_by = ("timestamp",)
    list_per_page = 100
    show_full_result_count = False
    # Exactly what the API shows of an action (one list, ACTION_COLUMNS): no
    # error_stack, which repeats exception messages and is in no fieldset.
    fields = ACTION_ADMIN_FIELDS
    readonly_fields = fields

    def application_id_of(self, obj: UserAction) -> int:
        return obj.session.application_id

    def get_queryset(self, request: HttpRequest) -> QuerySet[UserAction]:
        readable = list(request_policy(request).applications)
        return super().get_queryset(request).filter(session__application_id__in=readable)

    def lookup_allowed(self, lookup: str, value: str, request: HttpRequest | None = None) -> bool:
        return False
