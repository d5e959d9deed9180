"""Admin for applications and, read-only, for RUM sessions and actions.

Applications: privacy settings editable, the ingest token never shown.
Applications are created with ``manage.py create_application`` (which prints
the token once), so the admin offers no "add" form that would have to show it.
A staff user sees and changes only applications it can read (record access,
as the policy decides), on top of ``change_application``; every settings
change goes through ``application_configure``, which audits it.

Sessions, actions and log records: a read path like the API, through the same read layer
(``request.reader``). A staff user sees only sessions of applications granted
to it. The columns are the registry's fields; before a page is drawn, the
reader masks (and audits) every record on it at once, and each column shows
its record's masked value. No fieldset field is sortable, searchable,
filterable or reachable by a URL lookup. The search box takes an email and
runs the read layer's user-tag search through a POST, so the email never
lands in a URL; the URL carries only a random, user-bound, short-lived search
id (``sessions_app.admin_search``), and every page shown for it is audited.
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
from django.db.models import F, Model, QuerySet
from django.forms import ModelForm
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.http import urlencode

from access.throttling import search_throttled
from fieldsets.registry import ACTION, LOG, SESSION, Field, RecordType
from logs.models import LogRecord
from logs.selectors import with_session
from permissions.audit import Actor
from permissions.policy import FieldsetPolicy, HiddenFieldLookup
from privacy.defaults import PRIVACY_SETTINGS
from sessions_app import admin_search
from sessions_app.applications import application_configure
from sessions_app.models import Application, UserAction, UserSession
from sessions_app.queries import SessionQuery, check_hidden_names, parameter_name
from sessions_app.reads import Masked, Reader, row_of
from sessions_app.user_tags import CustomerSearch, customer_search

OVERRIDE_FIELDS = tuple(setting.override_field for setting in PRIVACY_SETTINGS)


def request_reader(request: HttpRequest) -> Reader:
    return request.reader  # type: ignore[attr-defined, no-any-return]


def request_policy(request: HttpRequest) -> FieldsetPolicy:
    """The request's one policy (grants read once, a revocation applies next request)."""
    return request_reader(request).policy


@admin.register(Application)
class ApplicationAdmin(admin.ModelAdmin):
    list_display = ("slug", "name", "ip_masking", "user_tag_storage", "retention_days")
    search_fields = ("slug", "name")
    readonly_fields = ("slug", "created_at", "effective_settings")
    fieldsets = (
        (None, {"fields": ("slug", "name", "created_at")}),
        (
            "Privacy settings: overrides of the environment defaults (empty: inherited). "
            "They apply to data ingested after a change; `manage.py remask` (or Jobs) "
            "applies them to stored data",
            {"fields": (*OVERRIDE_FIELDS, "effective_settings")},
        ),
    )

    @admin.display(description="Effective settings")
    def effective_settings(self, obj: Application) -> str:
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td><code>{}</code></td><td>{}</td></tr>",
            (
                (name, _setting_text(value), source)
                for name, value, source in obj.effective_settings()
            ),
        )
        return format_html(
            "<table><tr><th>setting</th><th>value</th><th>from</th></tr>{}</table>", rows
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
        others = [name for name in changed if name not in OVERRIDE_FIELDS]
        if others:
            obj.save(update_fields=others)
        application_configure(
            application=obj,
            actor=Actor.of(request),
            **{
                setting.name: form.cleaned_data[setting.override_field]
                for setting in PRIVACY_SETTINGS
                if setting.override_field in changed
            },
        )


def _setting_text(value: Any) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, list):
        return ", ".join(value) or "(none)"
    return str(value) if value != "" else "(none)"


# --- masked values for the columns ------------------------------------------------
# Django calls column callables with the object only. ``render_and_audit`` has
# the reader mask (and audit) every record of a page at once, keeps the results
# on the request, and sets this context variable (per thread and request) while
# the page is drawn, so a column finds its object's masked values without state
# on the shared ModelAdmin. An object it does not find is drawn masked (fail closed).
_current_request: ContextVar[HttpRequest] = ContextVar("rumvault_admin_request")
_MASKED = "_rumvault_masked"
REFUSED_TEMPLATE = "admin/sessions_app/refused.html"
MASKED_BADGE = format_html('<span class="masked-badge" title="{}">masked</span>', "Not granted")
PARTIAL_BADGE = format_html(
    '<span class="masked-badge" title="{}">partial</span>', "Partial grant: partial form only"
)


def session_actions(session: UserSession) -> QuerySet[UserAction]:
    """A session's actions, within its application (``docs/scaling.md``, "Routable by
    application"); ``session.actions`` would name the session only."""
    return UserAction.objects.filter(application_id=session.application_id, session=session)


def _cache(request: HttpRequest) -> dict[tuple[str, Any], Masked]:
    return request.__dict__.setdefault(_MASKED, {})  # type: ignore[no-any-return]


def _present_page(
    request: HttpRequest, context: dict[str, Any], search: CustomerSearch | None
) -> None:
    reader, cache = request_reader(request), _cache(request)
    original = context.get("original")
    if "cl" in context:  # a changelist
        objects = list(context["cl"].result_list)
        if context["cl"].model is UserAction:
            _present_actions(reader, cache, objects)
            return
        if context["cl"].model is LogRecord:
            _present_logs(reader, cache, objects)
            return
        page = reader.present_sessions(
            [row_of(obj, SESSION) for obj in objects], search=search, query=SessionQuery()
        )
        cache.update((("session", item.values["id"]), item) for item in page)
    elif isinstance(original, UserSession):
        actions = list(session_actions(original).order_by("seq"))
        masked = reader.present_session(
            row_of(original, SESSION), actions=[row_of(a, ACTION) for a in actions]
        )
        cache[("session", original.pk)] = masked
        for action, item in zip(actions, masked.actions or [], strict=False):
            cache[("action", action.pk)] = item
    elif isinstance(original, UserAction):
        _present_actions(reader, cache, [original])
    elif isinstance(original, LogRecord):
        _present_logs(reader, cache, [original])


def _present_logs(
    reader: Reader, cache: dict[tuple[str, Any], Masked], records: list[LogRecord]
) -> None:
    # A record whose application hides log records as a whole is not cached:
    # every column of it is drawn masked.
    masked = reader.present_logs([row_of(record, LOG) for record in records])
    for record, item in zip(records, masked, strict=True):
        if item is not None:
            cache[("log", record.pk)] = item


def _present_actions(
    reader: Reader, cache: dict[tuple[str, Any], Masked], actions: list[UserAction]
) -> None:
    masked = reader.present_actions(
        [(row_of(a.session, SESSION), row_of(a, ACTION)) for a in actions]
    )
    for action, item in zip(actions, masked, strict=True):
        if item is not None:
            cache[("action", action.pk)] = item


def render_and_audit(
    request: HttpRequest,
    view: Callable[[], HttpResponse],
    *,
    search: CustomerSearch | None = None,
) -> HttpResponse:
    """Run an admin view; mask (and audit) its records through the reader, then render.

    The audit record is written before the values leave the server. A page of
    customer-search results is a search record (like the API's), whether it
    revealed anything or not: the first page, a reload, page 2.
    """
    token = _current_request.set(request)
    try:
        response = view()
        if isinstance(response, TemplateResponse) and not response.is_rendered:
            _present_page(request, response.context_data or {}, search)
            response.render()
    finally:
        _current_request.reset(token)
    return response


def _column(record: RecordType, f: Field) -> Callable[[Any, Model], Any]:
    """A column showing one registry field of a record as the reader masked it."""
    kind = record.name

    def column(self: Any, obj: Model) -> Any:
        item = _cache(_current_request.get()).get((kind, obj.pk))
        if item is not None and f.name in item.partial:
            return format_html("{} {}", item.values[f.name], PARTIAL_BADGE)
        if item is None or f.name in item.masked:
            return MASKED_BADGE
        value = item.values[f.name]
        return self.get_empty_value_display() if value in (None, "", {}) else value

    column.short_description = f.label  # type: ignore[attr-defined]
    return column


def column_name(f: Field) -> str:
    """The admin column of a field: a masking column, or the model attribute for a
    computed field (``application``: the row's application, never masked)."""
    if f.storage is None:
        return f.name
    return f.name.replace(".", "_") + "_column"


def columns_of(record: RecordType) -> type:
    """A mixin with one column per registry field of ``record`` (``<name>_column``)."""
    return type(
        f"{record.name.title()}Columns",
        (),
        {column_name(f): _column(record, f) for f in record.fields if f.storage is not None},
    )


SessionColumns = columns_of(SESSION)
ActionColumns = columns_of(ACTION)
LogColumns = columns_of(LOG)


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

    def registry_names(self, parameter: str) -> list[str]:
        """The registry paths a URL parameter of this changelist may name (lookups on the model)."""
        return [parameter]

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

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None) -> Any:
        refused = self.refuse_hidden_lookups(request)
        if refused is not None:
            return refused
        return render_and_audit(request, partial(super().changelist_view, request, extra_context))

    def refuse_hidden_lookups(self, request: HttpRequest) -> HttpResponse | None:
        """A 403 naming the field for a URL parameter that touches a field hidden from the user.

        As on every read path: a lookup on a hidden field is refused by name
        (``lookup_allowed`` refuses every other lookup with a 400 after this),
        never answered, so the changelist is no oracle.
        """
        names = [name for key in request.GET for name in self.registry_names(parameter_name(key))]
        try:
            check_hidden_names(policy=request_policy(request), names=names)
        except HiddenFieldLookup as refused:
            context = {**self.admin_site.each_context(request), "error": str(refused)}
            return TemplateResponse(request, REFUSED_TEMPLATE, context, status=403)
        return None

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


# --- sessions -------------------------------------------------------------------

CUSTOMER_PARAMETER = "customer"
SEARCH_EXPIRED = (
    "This customer search has expired or belongs to another sign-in. Search for the customer again."
)


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
    the changelist runs; the rows come from the read layer's customer search,
    the same as the API's and the dashboard's. The sidebar shows the filter
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
        # The changelist keeps its model instances: the search's rows, as ids.
        rows = request_reader(request).customer_sessions(search, SessionQuery())
        return queryset.filter(pk__in=rows.values("id"))


# The columns of each admin page, from the registry.
INLINE_ACTION_COLUMNS: tuple[str, ...] = tuple(column_name(f) for f in ACTION.fields if f.in_list)
SESSION_PAGE_COLUMNS: tuple[str, ...] = tuple(
    column_name(f) for f in SESSION.fields if f.name != "id"
)
ACTION_PAGE_COLUMNS: tuple[str, ...] = ("session", *(column_name(f) for f in ACTION.fields))


class UserActionInline(ActionColumns, admin.TabularInline):  # type: ignore[misc, valid-type]
    model = UserAction
    fields = INLINE_ACTION_COLUMNS
    readonly_fields = INLINE_ACTION_COLUMNS
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is None:
            return True
        policy = request_policy(request)
        # Actions in a fieldset the user does not hold there: no inline at all.
        hidden = policy.hidden_fields(obj.application_id)
        return policy.can_read(obj.application_id) and ACTION.collection_path not in hidden


@admin.register(UserSession)
class UserSessionAdmin(SessionColumns, ReadOnlyPolicyAdmin):  # type: ignore[misc, valid-type]
    change_list_template = "admin/sessions_app/usersession/change_list.html"
    # The registry's list fields; started_at (the pagination key, in no
    # fieldset) links to the session and is the only one that sorts.
    list_display = (
        "started_at",
        *(column_name(f) for f in SESSION.fields if f.in_list and f.name != "started_at"),
    )
    list_display_links = ("started_at",)
    sortable_by = ("started_at",)
    list_filter = (ReadableApplicationFilter, CustomerSearchFilter)
    search_fields = ()  # the customer search is an exact blind-index POST, below
    list_select_related = ("application",)
    list_per_page = 50
    show_full_result_count = False
    inlines = (UserActionInline,)
    fields = SESSION_PAGE_COLUMNS
    readonly_fields = SESSION_PAGE_COLUMNS

    def application_id_of(self, obj: UserSession) -> int:
        return obj.application_id

    def get_formset_kwargs(
        self, request: HttpRequest, obj: Any, inline: Any, prefix: str
    ) -> dict[str, Any]:
        kwargs: dict[str, Any] = super().get_formset_kwargs(request, obj, inline, prefix)
        if isinstance(inline, UserActionInline) and obj is not None and obj.pk is not None:
            # The inline's actions within the session's application: the formset adds
            # only ``session_id = ...`` (docs/scaling.md, "Routable by application").
            kwargs["queryset"] = kwargs["queryset"].filter(application_id=obj.application_id)
        return kwargs

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
        refused = self.refuse_hidden_lookups(request)
        if refused is not None:
            return refused
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
            request,
            partial(admin.ModelAdmin.changelist_view, self, request, extra_context),
            search=search,
        )


# --- actions --------------------------------------------------------------------


def _actions_shown(request: HttpRequest) -> list[int]:
    """Readable applications whose actions (the collection) are not in a withheld fieldset."""
    policy = request_policy(request)
    return [
        app_id
        for app_id in policy.applications
        if ACTION.collection_path not in policy.hidden_fields(app_id)
    ]


@admin.register(UserAction)
class UserActionAdmin(ActionColumns, ReadOnlyPolicyAdmin):  # type: ignore[misc, valid-type]
    """Actions, each masked as its session's application's fieldsets say."""

    list_display = ("session", *(column_name(f) for f in ACTION.fields if f.in_list))
    list_select_related = ("session",)
    sortable_by = ()
    list_per_page = 100
    show_full_result_count = False
    fields = ACTION_PAGE_COLUMNS
    readonly_fields = ACTION_PAGE_COLUMNS

    def application_id_of(self, obj: UserAction) -> int:
        return obj.application_id

    def registry_names(self, parameter: str) -> list[str]:
        # Lookups here are on actions (url__contains) and through them on sessions.
        names = [parameter, ACTION.path(parameter)]
        for relation in ("session__", "session."):
            if parameter.startswith(relation):
                names.append(parameter.removeprefix(relation))
        return names

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is not None and self.application_id_of(obj) not in _actions_shown(request):
            return False
        return super().has_view_permission(request, obj)

    def get_queryset(self, request: HttpRequest) -> QuerySet[UserAction]:
        # Not even the rows of hidden actions: their number per session is the
        # session's action_count, which the fieldset hides with them.
        # The session (list_select_related) is joined within the action's application:
        # both tables are held to it (docs/scaling.md, "Routable by application").
        return (
            super()
            .get_queryset(request)
            .filter(
                application_id__in=_actions_shown(request),
                session__application_id=F("application_id"),
            )
            .select_related("session")  # the change page shows it too
        )

    def lookup_allowed(self, lookup: str, value: str, request: HttpRequest | None = None) -> bool:
        return False


# --- log records ----------------------------------------------------------------

LOG_PAGE_COLUMNS: tuple[str, ...] = tuple(column_name(f) for f in LOG.fields if f.name != "id")


@admin.register(LogRecord)
class LogRecordAdmin(LogColumns, ReadOnlyPolicyAdmin):  # type: ignore[misc, valid-type]
    """Log records, each masked as its application's fieldsets say; newest first."""

    list_display = tuple(column_name(f) for f in LOG.fields if f.in_list)
    list_display_links = (column_name(LOG.field("time")),)
    list_filter = (ReadableApplicationFilter,)
    sortable_by = ()
    list_per_page = 100
    show_full_result_count = False
    fields = LOG_PAGE_COLUMNS
    readonly_fields = LOG_PAGE_COLUMNS

    def application_id_of(self, obj: LogRecord) -> int:
        return obj.application_id

    def get_queryset(self, request: HttpRequest) -> QuerySet[LogRecord]:
        readable = list(request_policy(request).applications)
        # The session link is resolved on read, as on every other path.
        return with_session(super().get_queryset(request).filter(application_id__in=readable))

    def lookup_allowed(self, lookup: str, value: str, request: HttpRequest | None = None) -> bool:
        return lookup == ReadableApplicationFilter.parameter_name

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet, search_term: str
    ) -> tuple[QuerySet, bool]:
        if search_term:
            raise PermissionDenied("Log records are not searched by text here.")
        return queryset, False
