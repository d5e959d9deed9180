"""OpenAPI documentation of the read API's shapes (drf-spectacular).

These serializers only describe; responses are built by the hand-written
functions in ``sessions_app.api.serializers``. Every field a fieldset can
contain is documented as nullable, because any of them may be masked.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import serializers

from fieldsets.registry import SESSION_FIELDS
from permissions.models import AuditKind
from sessions_app.api.filters import FILTER_FIELDS
from sessions_app.selectors import ORDERINGS

MASKED = " Null when masked (then listed in masked_fields) or when there is no data."


def _maskable(field_class: type[serializers.Field], text: str, **kwargs: Any) -> Any:
    # Fields are re-instantiated from their constructor arguments when the
    # serializer is copied, so nullability must be passed in, not set after.
    return field_class(allow_null=True, help_text=text + MASKED, **kwargs)


class ProductSerializer(serializers.Serializer):
    sku = serializers.CharField()
    name = serializers.CharField()
    price = serializers.DecimalField(max_digits=12, decimal_places=2, allow_null=True)
    currency = serializers.CharField()
    quantity = serializers.IntegerField(allow_null=True)
    event = serializers.CharField(help_text="view, add_to_cart, purchase or empty.")


class ActionSerializer(serializers.Serializer):
    seq = serializers.IntegerField()
    type = serializers.ChoiceField(choices=["page_view", "xhr", "click", "custom", "error"])
    name = serializers.CharField()
    url = serializers.CharField(help_text="Personal data masked at ingest.")
    timestamp = serializers.DateTimeField()
    duration_ms = serializers.IntegerField(allow_null=True)
    http_status = serializers.IntegerField(allow_null=True)
    error_message = serializers.CharField()
    headers = serializers.DictField(child=serializers.CharField())
    request_attributes = serializers.DictField()
    product = ProductSerializer(allow_null=True)


class SessionSerializer(serializers.Serializer):
    id = serializers.IntegerField(help_text="Use with /api/v1/sessions/{id}/.")
    application = serializers.SlugField(help_text="Slug of the application.")
    session_id = _maskable(serializers.CharField, "Client session id.")
    started_at = serializers.DateTimeField()
    ended_at = _maskable(serializers.DateTimeField, "End of the visit.")
    duration_ms = _maskable(serializers.IntegerField, "Duration in milliseconds.")
    user_id = serializers.CharField(
        allow_null=True,
        help_text="Keyed pseudonym of the user tag (e.g. u1_3f9a...), visible to every reader; "
        "the same for one person within one application, different between applications; "
        "null for anonymous sessions.",
    )
    user_tag = _maskable(
        serializers.CharField,
        "The user tag (normalised), revealed only with the fieldset that contains it. Also null "
        "for applications storing a pseudonym only.",
    )
    client_ip = _maskable(serializers.IPAddressField, "Client IP (masked at ingest).")
    geo_latitude = _maskable(serializers.FloatField, "Latitude.")
    geo_longitude = _maskable(serializers.FloatField, "Longitude.")
    country = _maskable(serializers.CharField, "ISO 3166 country code.")
    city = _maskable(serializers.CharField, "City.")
    browser = _maskable(serializers.CharField, "Browser.")
    os = _maskable(serializers.CharField, "Operating system.")
    device = _maskable(serializers.CharField, "Device class.")
    properties = _maskable(
        serializers.DictField,
        "Allowed session properties; a masked properties.<key> keeps its key with null.",
    )
    action_count = _maskable(serializers.IntegerField, "Number of actions.")
    error_count = _maskable(serializers.IntegerField, "Number of failed actions.")
    converted = _maskable(serializers.BooleanField, "Whether the visit purchased.")
    revenue = _maskable(
        serializers.DecimalField, "Revenue (decimal string).", max_digits=14, decimal_places=2
    )
    masked_fields = serializers.ListField(
        child=serializers.CharField(),
        help_text="Names of the fields (or properties.<key>) this response masked because the "
        "caller does not hold a fieldset containing them for this session's application. A "
        "field that is null because there is no data is not listed. Possible names: "
        + ", ".join(SESSION_FIELDS)
        + ", properties.<key>.",
    )


class SessionDetailSerializer(SessionSerializer):
    actions = ActionSerializer(many=True, help_text="In seq order.")


class SessionSearchSerializer(serializers.Serializer):
    user_tag = serializers.CharField(
        help_text="Exact, case-insensitive match on the normalised tag (surrounding space "
        "ignored), answered from a keyed blind index. Allowed to every reader of the "
        "application; the tag is revealed in results only with the fieldset."
    )
    application = serializers.SlugField(required=False)
    since = serializers.DateTimeField(required=False)
    until = serializers.DateTimeField(required=False)
    user_id = serializers.CharField(required=False)
    has_errors = serializers.BooleanField(required=False)
    converted = serializers.BooleanField(required=False)
    country = serializers.CharField(required=False)
    browser = serializers.CharField(required=False)
    device = serializers.CharField(required=False)
    ordering = serializers.CharField(required=False, help_text="As for the list endpoint.")


class ErrorSerializer(serializers.Serializer):
    """Error body: ``detail`` and the keys below, or DRF's ``{"<name>": ["message"]}``."""

    detail = serializers.CharField(required=False)
    allowed = serializers.ListField(
        child=serializers.CharField(),
        required=False,
        help_text="400 for an unknown parameter: the parameters this endpoint accepts.",
    )
    search = serializers.CharField(
        required=False, help_text="400 for a user_tag in a URL: the search endpoint to use."
    )
    field = serializers.CharField(
        required=False,
        help_text="403 for a lookup on a fieldset field the caller cannot see: that field.",
    )


ERROR_RESPONSES = {
    400: OpenApiResponse(
        ErrorSerializer,
        description="Unknown parameter (listed in allowed), invalid value, or a user tag in "
        "the URL (see search). Messages never echo submitted values.",
    ),
    401: OpenApiResponse(ErrorSerializer, description="Not authenticated."),
}
THROTTLED_RESPONSE = OpenApiResponse(
    ErrorSerializer,
    description="Over RUMVAULT_RATE_SEARCH for this user; retry after Retry-After seconds.",
)
# DRF's content negotiation answers a ``format`` it has no renderer for with 404.
UNSUPPORTED_FORMAT_RESPONSE = OpenApiResponse(
    ErrorSerializer, description="Unsupported format: use format=json or format=csv."
)
HIDDEN_FIELD_RESPONSE = OpenApiResponse(
    ErrorSerializer,
    description="Filter, ordering or search on a fieldset field you cannot see (named in field).",
)


class ApplicationSerializer(serializers.Serializer):
    slug = serializers.SlugField()
    name = serializers.CharField()
    hidden_fields = serializers.ListField(
        child=serializers.CharField(), help_text="Fields masked for the caller here."
    )


class FieldsetSerializer(serializers.Serializer):
    name = serializers.CharField()
    description = serializers.CharField()
    # DRF's metaclass moves declared fields out of the class, so this is the
    # response's "fields" key and does not replace Serializer.fields.
    fields = serializers.ListField(child=serializers.CharField())  # type: ignore[assignment]
    builtin = serializers.BooleanField()
    all_applications = serializers.BooleanField(
        help_text="Held for every application (global grant, own or a group's, or superuser)."
    )
    applications = serializers.DictField(
        child=serializers.BooleanField(),
        help_text="Readable application slug -> whether the caller holds the fieldset there.",
    )


class GrantSummarySerializer(serializers.Serializer):
    all_applications = serializers.BooleanField()
    applications = serializers.ListField(child=serializers.SlugField())


class FieldsetGrantSerializer(GrantSummarySerializer):
    name = serializers.CharField()


class MeSerializer(serializers.Serializer):
    username = serializers.CharField()
    is_superuser = serializers.BooleanField()
    can_view_audit = serializers.BooleanField()
    record_access = GrantSummarySerializer()
    fieldsets = FieldsetGrantSerializer(many=True)
    applications = ApplicationSerializer(many=True)


class SettingsChangeSerializer(serializers.Serializer):
    before = serializers.DictField(help_text="Setting name -> value before the change.")
    after = serializers.DictField(help_text="Setting name -> value after the change.")


class AuditRecordSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    username = serializers.CharField()
    kind = serializers.ChoiceField(choices=AuditKind.values)
    method = serializers.CharField()
    path = serializers.CharField()
    applications = serializers.ListField(child=serializers.SlugField())
    session_ids = serializers.ListField(child=serializers.IntegerField())
    fieldsets = serializers.ListField(child=serializers.CharField())
    search_tag_hash = serializers.CharField(
        allow_null=True,
        help_text="Keyed hash of the searched tag (a1_...; never the tag, never a search key).",
    )
    changes = SettingsChangeSerializer(
        allow_null=True,
        help_text="settings_change only: the privacy settings that changed, before and after.",
    )


_FILTER_HELP = {
    "application": "Application slug.",
    "since": "Sessions started at or after (ISO 8601).",
    "until": "Sessions started before (ISO 8601).",
    "user_id": "Exact pseudonymous user id (pseudonyms differ between applications).",
    "has_errors": "true: at least one failed action; false: none.",
    "converted": "true or false.",
    "country": "Country code, case-insensitive.",
    "browser": "Browser name prefix, case-insensitive (e.g. Chrome).",
    "device": "Device class, case-insensitive (e.g. mobile).",
}
_FILTER_TYPES = {"since": OpenApiTypes.DATETIME, "until": OpenApiTypes.DATETIME}
_BOOLEAN_FILTERS = {"has_errors", "converted"}

PAGE_PARAMETERS = [
    OpenApiParameter(
        "cursor",
        OpenApiTypes.STR,
        OpenApiParameter.QUERY,
        description="Opaque position from a previous page's next/previous link.",
    ),
    OpenApiParameter(
        "page_size",
        OpenApiTypes.INT,
        OpenApiParameter.QUERY,
        description="Rows per page, 1-500 (default 50).",
    ),
    OpenApiParameter(
        "format",
        OpenApiTypes.STR,
        OpenApiParameter.QUERY,
        enum=["json", "csv"],
        description="csv: the same page as CSV, masked the same way (or Accept: text/csv).",
    ),
]

SESSION_FILTER_PARAMETERS = [
    OpenApiParameter(
        name,
        OpenApiTypes.BOOL
        if name in _BOOLEAN_FILTERS
        else _FILTER_TYPES.get(name, OpenApiTypes.STR),
        OpenApiParameter.QUERY,
        description=_FILTER_HELP[name]
        + (" 403 if the field is in a fieldset you do not hold." if FILTER_FIELDS[name] else ""),
    )
    for name in FILTER_FIELDS
] + [
    OpenApiParameter(
        "ordering",
        OpenApiTypes.STR,
        OpenApiParameter.QUERY,
        enum=[prefix + name for name in ORDERINGS for prefix in ("", "-")],
        description="Sort order (default -started_at, newest first).",
    ),
]

CSV_DESCRIPTION = (
    "With ?format=csv or Accept: text/csv: the same rows as CSV (header = session keys; "
    "properties and masked_fields as JSON; masked cells empty); next page in the Link header."
)
