"""Admin for applications and, read-only, for RUM sessions and actions.

Applications: privacy settings editable, the ingest token never shown.
Applications are created with ``manage.py create_application`` (which prints
the token once), so the admin offers no "add" form that would have to show it.

Sessions and actions: a read path like the API, so the same ``FieldsetPolicy``
decides everything. A staff user sees only sessions of applications granted
to it; every personal value is rendered through ``FieldsetPolicy.mask``; no
sensitive field is sortable, searchable, filterable or reachable by a URL
lookup. The search box takes an email and does an exact blind-index lookup,
like the API's search, through a POST so the email never lands in a URL.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from functools import partial
from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from fieldsets.policy import Disclosure, FieldsetPolicy
from permissions.audit import audit_reveal, audit_search
from sessions_app import user_tags
from sessions_app.applications import PRIVACY_SETTING_FIELDS
from sessions_app.models import Application, UserAction, UserSession
from sessions_app.selectors import normalised_search_tag


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


def render_and_audit(request: HttpRequest, view: Callable[[], HttpResponse]) -> HttpResponse:
    """Run an admin view with masking enabled; render now and audit what was revealed.

    Rendering inside the context lets the column callables find the request,
    and the audit record is written before the values leave the server.
    """
    token = _current_request.set(request)
    try:
        response = view()
        if isinstance(response, TemplateResponse) and not response.is_rendered:
            response.render()
    finally:
        _current_request.reset(token)
    disclosure = getattr(request, "_fieldset_disclosure", None)
    if disclosure:
        audit_reveal(
            username=request.user.get_username(),
            path=request.path,
            method=request.method or "GET",
            disclosure=disclosure,
        )
    return response


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
        return queryset.filter(application_id=application.id if application else -1)


class CustomerSearchFilter(admin.SimpleListFilter):
    """Applies a customer search by its keyed blind index.

    The search view puts the *hash* in the URL, never the email itself; the
    sidebar shows the filter only while one is active, so it can be cleared.
    """

    title = "customer search"
    parameter_name = "customer"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        value = self.value()
        return [(value, "the searched customer")] if value else []

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() is None:
            return queryset
        return queryset.filter(user_tag_blind_index=self.value())


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
        return lookup in {ReadableApplicationFilter.parameter_name, "customer"}

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet, search_term: str
    ) -> tuple[QuerySet, bool]:
        if search_term:
            # ?q= in a URL would put an email in browser history and proxies.
            raise PermissionDenied("Search for a customer with the form; it sends a POST.")
        return queryset, False

    def get_urls(self) -> list[Any]:
        customer_search = self.admin_site.admin_view(self.customer_search_view)
        return [
            path("customer-search/", customer_search, name="sessions_app_usersession_search"),
            *super().get_urls(),
        ]

    def customer_search_view(self, request: HttpRequest) -> HttpResponse:
        """POST an email; redirect to the changelist filtered by its keyed blind index."""
        changelist = reverse("admin:sessions_app_usersession_changelist")
        if request.method != "POST" or not self.has_view_permission(request):
            raise PermissionDenied
        try:
            normalised = normalised_search_tag(request.POST.get("user_tag", ""))
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
            return HttpResponseRedirect(changelist)
        blind_index = user_tags.blind_index_for(normalised)
        policy = request_policy(request)
        session_ids = list(
            UserSession.objects.filter(
                application_id__in=list(policy.applications),
                user_tag_blind_index__in=user_tags.blind_index_candidates_for(normalised),
            ).values_list("id", flat=True)
        )
        audit_search(
            username=request.user.get_username(),
            path=request.path,
            method="POST",
            normalised_tag=normalised,
            applications=[app.slug for app in policy.applications.values()],
            session_ids=session_ids,
            disclosure=Disclosure(),
        )
        return HttpResponseRedirect(f"{changelist}?customer={blind_index}")

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None) -> Any:
        extra_context = {
            **(extra_context or {}),
            "customer_search_active": "customer" in request.GET,
        }
        return render_and_audit(request, partial(super().changelist_view, request, extra_context))

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


@admin.register(UserAction)
class UserActionAdmin(ReadOnlyPolicyAdmin):
    """Actions hold no fieldset fields (URLs, headers and errors are masked at ingest)."""

    list_display = ("session", "seq", "type", "name", "http_status", "timestamp")
    list_select_related = ("session",)
    sortable_by = ("timestamp",)
    list_per_page = 100
    show_full_result_count = False
    fields = (
        "session",
        "seq",
        "type",
        "name",
        "url",
        "timestamp",
        "duration_ms",
        "http_status",
        "error_message",
        "error_stack",
        "headers",
        "request_attributes",
        "product_sku",
        "product_name",
        "product_price",
        "product_currency",
        "product_quantity",
        "product_event",
    )
    readonly_fields = fields

    def application_id_of(self, obj: UserAction) -> int:
        return obj.session.application_id

    def get_queryset(self, request: HttpRequest) -> QuerySet[UserAction]:
        readable = list(request_policy(request).applications)
        return super().get_queryset(request).filter(session__application_id__in=readable)

    def lookup_allowed(self, lookup: str, value: str, request: HttpRequest | None = None) -> bool:
        return False
