"""Read API views: thin - parse the request into a typed query, read, respond.

Views are DRF generic views: ``pagination_class`` pages, ``serializer_class``
renders. Everything between is the read layer's (``request.reader``): the
request's one ``FieldsetPolicy`` (built lazily after authentication), the
selectors, masking and the audit record. A view only turns the URL or the
JSON body into a ``SessionQuery`` (``sessions_app.queries``) and maps the
read layer's refusals to HTTP.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from contextlib import nullcontext
from typing import Any, cast

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import HttpRequest, QueryDict
from django.urls import reverse
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.generics import GenericAPIView
from rest_framework.parsers import JSONParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import as_serializer_error

from access.throttling import SearchRateThrottle
from config.prepared import prepared_statements
from config.renderers import JSONRenderer
from fieldsets.registry import fields_referenced_by
from fieldsets.selectors import fieldset_list
from logs.filters import LogFilterSet
from logs.models import LogRecord
from logs.queries import LOG_FILTERS, parse_log_query
from permissions.drf import VIEW_AUDIT_PERMISSION, CanViewAuditRecords
from permissions.policy import FieldsetPolicy, HiddenFieldLookup
from permissions.selectors import (
    AUDIT_FILTERS,
    InvalidAuditFilter,
    audit_record_list,
    audit_records_filtered,
)
from permissions.services import NothingToReveal, RevealNotRequired
from sessions_app import selectors
from sessions_app.api import schema
from sessions_app.api.pagination import CURSOR_PARAM, PAGE_SIZE_PARAM, KeysetCursorPagination
from sessions_app.api.renderers import (
    LogCSVRenderer,
    RefusalQuietBrowsableAPIRenderer,
    SessionCSVRenderer,
)
from sessions_app.api.serializers import (
    LogSerializer,
    SessionDetailSerializer,
    SessionSerializer,
    iso_datetime,
    serialize_audit_record,
)
from sessions_app.filters import SessionFilterSet, StrictBooleanFilter
from sessions_app.models import UserSession
from sessions_app.queries import (
    ALLOWED_FILTERS,
    ORDERING,
    SessionQuery,
    TagInUrl,
    UnknownFilters,
    canonical_parameters,
    check_url_parameters,
    parameter_name,
    parse_session_query,
)
from sessions_app.reads import Reader
from sessions_app.user_tags import USER_TAG, customer_search

FORMAT_PARAM = "format"
PAGE_PARAMS = (CURSOR_PARAM, PAGE_SIZE_PARAM, FORMAT_PARAM)
SESSION_RENDERERS = [JSONRenderer, RefusalQuietBrowsableAPIRenderer, SessionCSVRenderer]


class ReadAPIView(GenericAPIView):  # type: ignore[type-arg]
    """Base of every read view: the request's reader, strict query parameters, error mapping."""

    permission_classes = [IsAuthenticated]
    renderer_classes = [JSONRenderer, RefusalQuietBrowsableAPIRenderer]
    # Query parameters besides filters; anything else is a 400 listing these.
    query_params: tuple[str, ...] = (FORMAT_PARAM,)
    # The filters of the endpoint (only used to name a refused parameter).
    filter_names: tuple[str, ...] = ALLOWED_FILTERS

    @property
    def reader(self) -> Reader:
        return self.request.reader  # type: ignore[attr-defined, no-any-return]

    @property
    def policy(self) -> FieldsetPolicy:
        return self.reader.policy

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        # Before authentication and content negotiation: an email in the URL is
        # refused even for an anonymous caller, and names are compared in one
        # spelling everywhere (?FORMAT=csv is ?format=csv, ?CLIENT_IP= is ?client_ip=).
        query = request._request.GET
        check_url_parameters(
            ((name, value) for name, values in query.lists() for value in values),
            known=(*self.filter_names, *self.query_params),
        )
        # django-stubs type GET as an "immutable" QueryDict; this one is made immutable too.
        request._request.GET = _canonical_query(query)  # type: ignore[assignment]
        super().initial(request, *args, **kwargs)

    def handle_exception(self, exc: Exception) -> Response:
        if isinstance(exc, TagInUrl):
            exc = _tag_in_url(exc)
            # The browsable API would print the request URL, and with it the email.
            self.request.accepted_renderer = JSONRenderer()
            self.request.accepted_media_type = JSONRenderer.media_type
        elif isinstance(exc, HiddenFieldLookup):
            exc = PermissionDenied({"detail": str(exc.args[0]), "field": exc.field})
        elif isinstance(exc, UnknownFilters):
            exc = _unknown(allowed=[*exc.allowed, *self.query_params])
        elif isinstance(exc, DjangoValidationError):
            exc = ValidationError(as_serializer_error(exc))
        return super().handle_exception(exc)

    def split_query(self, request: Request, *, filters_allowed: bool) -> dict[str, str]:
        """The filter parameters of the URL; refuses repeats and unknown names.

        Tags and emails in the URL were refused in ``initial``; names are
        already in their one spelling (``parameter_name``).
        """
        filters: dict[str, str] = {}
        for name, values in request.query_params.lists():
            if len(values) != 1:
                raise ValidationError({"detail": "Give each query parameter once."})
            if name not in self.query_params:
                filters[name] = values[0]
        if filters and not filters_allowed:
            # Still a 403 for a hidden field, so no endpoint answers differently.
            readable = list(self.policy.applications)
            for name in filters:
                for field_name in fields_referenced_by(name):
                    self.policy.check_lookup(field_name, readable)
            raise _unknown(allowed=self.query_params)
        return filters

    def wants_csv(self, request: Request) -> bool:
        return getattr(request.accepted_renderer, "format", None) == "csv"


def _canonical_query(query: QueryDict) -> QueryDict:
    """The query string with every name in its ``parameter_name`` spelling.

    Values of names that only differ in spelling are kept together, so
    ``?country=AT&Country=DE`` is a repeated parameter (400), never a silent pick.
    """
    canonical = QueryDict(mutable=True)
    for name, values in query.lists():
        canonical.setlist(parameter_name(name), canonical.getlist(parameter_name(name)) + values)
    canonical._mutable = False
    return canonical


SEARCH_HINT = 'Search with POST /api/v1/sessions/search/ and a JSON body {"user_tag": "..."}.'


def _tag_in_url(exc: TagInUrl) -> ValidationError:
    detail: dict[str, str] = {
        "detail": "A user tag, or anything shaped like an email address, is never accepted "
        f"in a URL. {SEARCH_HINT}",
        "search": reverse("api-session-search"),
    }
    if exc.parameter is not None:
        detail["parameter"] = exc.parameter
    return ValidationError(detail)


def _unknown(*, allowed: Iterable[str]) -> ValidationError:
    # The unknown names are not echoed: one of them could be a user tag.
    names = sorted(set(allowed))
    return ValidationError(
        {"detail": f"Unknown parameter(s). Allowed: {', '.join(names)}.", "allowed": names}
    )


class DocumentedFilters(DjangoFilterBackend):
    """Documents ``SessionFilterSet`` through drf-spectacular's django-filter support.

    Filtering itself is the read layer's: the view validates the parameters
    into a ``SessionQuery`` and the selectors apply it with this same
    FilterSet. So this backend passes the queryset through unchanged.
    """

    def filter_queryset(self, request: Any, queryset: Any, view: Any) -> Any:
        return queryset

    def to_html(self, request: Any, queryset: Any, view: Any) -> str:
        # No filter form in the browsable API: it would re-render what was typed.
        return ""


def _csv_links(view: ReadAPIView, response: Response, filename: str) -> None:
    """A CSV page: the next page's link in ``Link``, served as a download."""
    paginator = view.paginator
    next_link = paginator.get_next_link() if paginator is not None else None  # type: ignore[attr-defined]
    if next_link:
        response["Link"] = f'<{next_link}>; rel="next"'
    response["Content-Disposition"] = f'attachment; filename="{filename}"'


class SessionPageView(ReadAPIView):
    """Base of list and search: one page of sessions, masked and audited by the reader."""

    renderer_classes = SESSION_RENDERERS
    pagination_class = KeysetCursorPagination
    serializer_class = SessionSerializer
    query_params = PAGE_PARAMS

    def get_queryset(self) -> Any:
        """The readable sessions (for DRF tooling; reads go through ``self.reader``).

        drf-spectacular builds the schema on a view with no request user: it
        gets an empty queryset, enough to find the model of the filters.
        """
        if getattr(self, "swagger_fake_view", False):
            return UserSession.objects.none()
        return selectors.readable_sessions(self.policy)

    def session_page(
        self,
        rows: Any,
        *,
        search: Any = None,
        query: SessionQuery | None = None,
        keys_only: bool = False,
    ) -> Response:
        """``keys_only``: the rows' query has no values but keys (``SessionQuery.keys_only``)."""
        with prepared_statements() if keys_only else nullcontext():
            page = self.paginate_queryset(rows)
        csv = self.wants_csv(self.request)
        serializer = self.get_serializer(
            page,
            many=True,
            context={
                **self.get_serializer_context(),
                "reader": self.reader,
                "search": search,
                "query": query,
                "export": csv,
            },
        )
        response = self.get_paginated_response(serializer.data)
        if csv:
            _csv_links(self, response, "sessions.csv")
        return response


class SessionListView(SessionPageView):
    """Sessions of the applications you can read, newest first, cursor-paginated.

    Fields of fieldsets you do not hold for a session's application are null
    and listed in its ``masked_fields``. Unknown parameters are a 400 listing
    the allowed ones; filtering or ordering by a field you cannot see is a 403
    naming it; a ``user_tag`` in the URL is a 400 (use the search endpoint).
    Responses that reveal fieldset values are audited.
    """

    filter_backends = [DocumentedFilters]
    filterset_class = SessionFilterSet

    @extend_schema(
        operation_id="sessions_list",
        summary="List sessions (newest first, cursor-paginated, masked per fieldset)",
        filters=True,  # the FilterSet's parameters, documented by drf-spectacular
        parameters=[schema.ORDERING_PARAMETER, *schema.PAGE_PARAMETERS],
        responses={
            200: schema.SessionSerializer(many=True),
            (200, "text/csv"): OpenApiResponse(
                OpenApiTypes.STR, description=schema.CSV_DESCRIPTION
            ),
            **schema.ERROR_RESPONSES,
            403: schema.HIDDEN_FIELD_RESPONSE,
            404: schema.UNSUPPORTED_FORMAT_RESPONSE,
        },
    )
    def get(self, request: Request) -> Response:
        filters = self.split_query(request, filters_allowed=True)
        query = parse_session_query(filters, policy=self.policy)
        return self.session_page(self.reader.sessions(query), keys_only=query.keys_only)


class SessionSearchView(SessionPageView):
    """Sessions of one customer by user tag: exact, case-insensitive, from a blind index.

    Allowed to every reader of the application; the tag itself is shown only
    with the fieldset that contains it. The body takes the list filters plus
    ``user_tag``; paging (``cursor``, ``page_size``) and ``format`` stay in the
    URL. Every search is audited with a keyed hash of the tag, never the tag.
    """

    parser_classes = [JSONParser]
    # Per user; the dashboard's and the admin's searches count against it too.
    throttle_classes = [SearchRateThrottle]

    def get_serializer(self, *args: Any, **kwargs: Any) -> Any:
        # Without rows, the browsable API asks for the POST form's initial
        # content: that is the search body, not a session.
        if not args and not kwargs.get("many"):
            return schema.SessionSearchSerializer()
        return super().get_serializer(*args, **kwargs)

    def http_method_not_allowed(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Response:
        # A GET search would carry the tag in its URL: say how to search
        # instead (a 400 like a tag in any other URL) rather than a bare 405.
        if request.method in ("GET", "HEAD"):
            raise ValidationError(
                {
                    "detail": f"Use POST for a search. {SEARCH_HINT}",
                    "search": reverse("api-session-search"),
                }
            )
        # DRF passes its Request here (django-stubs and DRF's stubs disagree on the type).
        return super().http_method_not_allowed(cast(Request, request), *args, **kwargs)

    @extend_schema(
        operation_id="sessions_search",
        summary="Find sessions by user tag (exact, case-insensitive; audited)",
        description="A search is a POST with a JSON body: GET on this URL is a 400 pointing "
        "here, because a user tag never travels in a URL.",
        request=schema.SessionSearchSerializer,
        parameters=schema.PAGE_PARAMETERS,
        responses={
            200: schema.SessionSerializer(many=True),
            (200, "text/csv"): OpenApiResponse(
                OpenApiTypes.STR, description=schema.CSV_DESCRIPTION
            ),
            **schema.ERROR_RESPONSES,
            403: schema.HIDDEN_FIELD_RESPONSE,
            429: schema.THROTTLED_RESPONSE,
            404: schema.UNSUPPORTED_FORMAT_RESPONSE,
        },
    )
    def post(self, request: Request) -> Response:
        self.split_query(request, filters_allowed=False)
        body = _search_body(request.data)
        search = customer_search(body.pop(USER_TAG))
        query = parse_session_query(body, policy=self.policy)
        rows = self.reader.customer_sessions(search, query)
        return self.session_page(rows, search=search, query=query)


def _search_body(data: Any) -> dict[str, Any]:
    """The body's filters, keyed by ``parameter_name``; type errors name only known keys."""
    if not isinstance(data, Mapping):
        raise ValidationError({"detail": 'Send a JSON object, e.g. {"user_tag": "..."}.'})
    body = canonical_parameters(data.items())
    if USER_TAG not in body:
        raise ValidationError({USER_TAG: "This field is required."})
    if any(isinstance(value, (list, dict)) for value in body.values()):
        raise ValidationError({"detail": "Give each filter a single value."})
    for name, value in body.items():
        # Only known filters are type-checked here; any other name goes on to
        # the selector, so a hidden field is still a 403 naming it. An unknown
        # key is never echoed as the error's key: it could be the email itself.
        expected = _SEARCH_BODY_TYPES.get(name)
        key = name if expected is not None else "detail"
        if expected is not None and not isinstance(value, expected):
            raise ValidationError({key: "Give this filter as a string."})
        if isinstance(value, str) and not _is_valid_unicode(value):
            raise ValidationError({key: "The value is not valid Unicode text."})
    return body


# JSON types the search body accepts per filter: the boolean filters take
# true/false (or their string forms), every other filter and user_tag a string.
_SEARCH_BODY_TYPES: dict[str, tuple[type, ...]] = {
    **{
        name: (bool, str) if isinstance(filter_, StrictBooleanFilter) else (str,)
        for name, filter_ in SessionFilterSet.base_filters.items()
    },
    ORDERING: (str,),
    USER_TAG: (str,),
}


def _is_valid_unicode(text: str) -> bool:
    # JSON allows lone surrogates ("\ud800"); they cannot be encoded or stored.
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


class SessionDetailView(ReadAPIView):
    """One session with its actions in ``seq`` order and its log records, masked like the list.

    A session of an application you cannot read is a 404, exactly like an id
    that does not exist.
    """

    serializer_class = SessionDetailSerializer

    @extend_schema(
        operation_id="sessions_retrieve",
        summary="One session with its actions and log records (404 if missing or not readable)",
        responses={
            200: schema.SessionDetailSerializer,
            **schema.ERROR_RESPONSES,
            403: schema.HIDDEN_FIELD_RESPONSE,
            404: OpenApiResponse(
                schema.ErrorSerializer, description="No such session, or not one you can read."
            ),
        },
    )
    def get(self, request: Request, pk: int) -> Response:
        self.split_query(request, filters_allowed=False)
        return Response(self.get_serializer(self.reader.session_with_actions(pk)).data)


class LogListView(ReadAPIView):
    """Log records of the applications you can read, newest first, cursor-paginated.

    Masked like sessions: fields of fieldsets you do not hold for a record's
    application are null and listed in its ``masked_fields``; filtering by a
    field you cannot see is a 403 naming it; unknown parameters a 400.
    Applications whose fieldsets hide log records as a whole are left out
    (asking for one with ``application`` is a 403 naming ``logs``).
    Responses that reveal fieldset values are audited.
    """

    renderer_classes = [JSONRenderer, RefusalQuietBrowsableAPIRenderer, LogCSVRenderer]
    pagination_class = KeysetCursorPagination
    serializer_class = LogSerializer
    query_params = PAGE_PARAMS
    filter_names = LOG_FILTERS
    filter_backends = [DocumentedFilters]
    filterset_class = LogFilterSet

    def get_queryset(self) -> Any:
        """For DRF tooling only (schema, browsable API); reads go through ``self.reader``."""
        if getattr(self, "swagger_fake_view", False):
            return LogRecord.objects.none()
        return LogRecord.objects.filter(application_id__in=list(self.policy.applications))

    @extend_schema(
        operation_id="logs_list",
        summary="List log records (newest first, cursor-paginated, masked per fieldset)",
        filters=True,
        parameters=schema.PAGE_PARAMETERS,
        responses={
            200: schema.LogRecordSerializer(many=True),
            (200, "text/csv"): OpenApiResponse(
                OpenApiTypes.STR, description=schema.CSV_DESCRIPTION
            ),
            **schema.ERROR_RESPONSES,
            403: schema.HIDDEN_FIELD_RESPONSE,
            404: schema.UNSUPPORTED_FORMAT_RESPONSE,
        },
    )
    def get(self, request: Request) -> Response:
        filters = self.split_query(request, filters_allowed=True)
        query = parse_log_query(filters, policy=self.policy)
        page = self.paginate_queryset(self.reader.logs(query))
        csv = self.wants_csv(request)
        serializer = self.get_serializer(
            page,
            many=True,
            context={**self.get_serializer_context(), "reader": self.reader, "export": csv},
        )
        response = self.get_paginated_response(serializer.data)
        if csv:
            _csv_links(self, response, "logs.csv")
        return response


REASON = "reason"


class SessionRevealView(ReadAPIView):
    """Reveal one session with a reason: its values for a limited time, audited with the reason.

    Where the session's application sets ``reveal_requires_reason``, the
    fieldsets you hold stay masked until you reveal the session. The body is
    ``{"reason": "..."}`` (a ticket reference will do; personal data in it is
    masked before it is stored). The answer is the session with its actions,
    revealed; reads of the session (``GET /api/v1/sessions/<id>/``) show it
    the same way until ``expires_at``. Lists and searches keep it masked.
    """

    parser_classes = [JSONParser]

    @extend_schema(
        operation_id="sessions_reveal",
        summary="Reveal one session with a reason (reveal_requires_reason; audited)",
        request=schema.RevealRequestSerializer,
        responses={
            201: schema.RevealSerializer,
            **schema.ERROR_RESPONSES,
            403: OpenApiResponse(
                schema.ErrorSerializer,
                description="You hold no fieldset a reveal would show on this application.",
            ),
            404: OpenApiResponse(
                schema.ErrorSerializer, description="No such session, or not one you can read."
            ),
        },
    )
    def post(self, request: Request, pk: int) -> Response:
        self.split_query(request, filters_allowed=False)
        data = request.data
        if not isinstance(data, Mapping) or set(map(parameter_name, data)) != {REASON}:
            # Keys are not echoed: any of them could be the customer's email.
            raise ValidationError({"detail": 'Send a JSON object {"reason": "..."}, nothing else.'})
        reason = next(value for key, value in data.items() if parameter_name(key) == REASON)
        try:
            window, session = self.reader.reveal(pk, reason=reason)
        except RevealNotRequired as refused:
            raise ValidationError({"detail": str(refused)}) from None
        except NothingToReveal as refused:
            raise PermissionDenied({"detail": str(refused)}) from None
        return Response(
            {
                "reason": window.reason,
                "expires_at": iso_datetime(window.expires_at),
                "session": SessionDetailSerializer(session).data,
            },
            status=201,
        )


class ApplicationListView(ReadAPIView):
    """The applications whose sessions you can read, with the fields masked for you in each."""

    @extend_schema(
        operation_id="applications_list",
        summary="Applications the caller can read",
        responses={
            200: schema.ApplicationSerializer(many=True),
            **schema.ERROR_RESPONSES,
            403: schema.HIDDEN_FIELD_RESPONSE,
        },
    )
    def get(self, request: Request) -> Response:
        self.split_query(request, filters_allowed=False)
        return Response(_applications(self.policy))


def _applications(policy: FieldsetPolicy) -> list[dict[str, Any]]:
    return [
        {
            "slug": app.slug,
            "name": app.name,
            "hidden_fields": sorted(policy.hidden_fields(app.id)),
            "partial_fields": sorted(policy.partial_fields(app.id)),
            "reveal_requires_reason": policy.requires_reason(app.id),
            "revealable_fields": sorted(policy.revealable_fields(app.id)),
        }
        for app in policy.applications.values()
    ]


class FieldsetListView(ReadAPIView):
    """Every fieldset, and whether you hold it for each application you can read."""

    @extend_schema(
        operation_id="fieldsets_list",
        summary="Fieldsets, and whether the caller holds each per readable application",
        responses={
            200: schema.FieldsetSerializer(many=True),
            **schema.ERROR_RESPONSES,
            403: schema.HIDDEN_FIELD_RESPONSE,
        },
    )
    def get(self, request: Request) -> Response:
        self.split_query(request, filters_allowed=False)
        policy = self.policy
        definitions = {d["name"]: d for d in fieldset_list()}
        return Response(
            [
                {
                    **definitions[name],
                    "all_applications": policy.holds_everywhere(name),
                    "applications": {
                        app.slug: policy.holds(name, app.id) for app in policy.applications.values()
                    },
                    "partial_all_applications": policy.holds_partially_everywhere(name),
                    "partial_applications": {
                        app.slug: policy.holds_partially(name, app.id)
                        for app in policy.applications.values()
                    },
                }
                for name, _ in policy.fieldsets
                if name in definitions
            ]
        )


class MeView(ReadAPIView):
    """Who you are: record access and fieldset grants (own, groups' and global, united)."""

    @extend_schema(
        operation_id="me_retrieve",
        summary="Who am I: record access and fieldset grants per application",
        responses={
            200: schema.MeSerializer,
            **schema.ERROR_RESPONSES,
            403: schema.HIDDEN_FIELD_RESPONSE,
        },
    )
    def get(self, request: Request) -> Response:
        self.split_query(request, filters_allowed=False)
        policy, user = self.policy, request.user
        applications = list(policy.applications.values())
        return Response(
            {
                "username": user.get_username(),
                "is_superuser": policy.is_superuser,
                "can_view_audit": user.has_perm(VIEW_AUDIT_PERMISSION),
                "record_access": {
                    "all_applications": policy.reads_all_applications,
                    "applications": [app.slug for app in applications],
                },
                "fieldsets": [
                    {
                        "name": name,
                        "all_applications": policy.holds_everywhere(name),
                        "applications": [a.slug for a in applications if policy.holds(name, a.id)],
                        "partial_all_applications": policy.holds_partially_everywhere(name),
                        "partial_applications": [
                            a.slug for a in applications if policy.holds_partially(name, a.id)
                        ],
                    }
                    for name, _ in policy.fieldsets
                ],
                "applications": _applications(policy),
            }
        )


class AuditRecordListView(ReadAPIView):
    """The append-only audit trail, newest first; needs ``permissions.view_auditrecord``.

    Filters: ``user`` (username), ``kind``, ``application`` (slug), ``session``
    (session id), ``since`` (inclusive) and ``until`` (exclusive), ISO 8601.
    Each record carries its position in the hash chain (``seq``) and its ``hash``
    (``manage.py verify_audit`` checks the chain).
    """

    permission_classes = [IsAuthenticated, CanViewAuditRecords]
    pagination_class = KeysetCursorPagination
    query_params = (*PAGE_PARAMS, *AUDIT_FILTERS)

    @extend_schema(
        operation_id="audit_list",
        summary=f"Audit trail, newest first (needs {VIEW_AUDIT_PERMISSION})",
        parameters=[*schema.AUDIT_FILTER_PARAMETERS, *schema.PAGE_PARAMETERS[:2]],  # no CSV
        responses={
            200: schema.AuditRecordSerializer(many=True),
            **schema.ERROR_RESPONSES,
            403: OpenApiResponse(
                schema.ErrorSerializer, description=f"Without {VIEW_AUDIT_PERMISSION}."
            ),
        },
    )
    def get(self, request: Request) -> Response:
        self.split_query(request, filters_allowed=False)
        filters = {name: request.query_params.get(name, "") for name in AUDIT_FILTERS}
        try:
            records = audit_records_filtered({k: v for k, v in filters.items() if v != ""})
        except InvalidAuditFilter as invalid:
            raise ValidationError(invalid.errors) from None
        rows = self.paginate_queryset(audit_record_list(records))
        return self.get_paginated_response([serialize_audit_record(row) for row in rows or []])
