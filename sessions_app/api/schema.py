"""OpenAPI documentation of the read API's shapes (drf-spectacular), from the registry.

These serializers only describe; responses are rendered by
``sessions_app.api.serializers``. The session and action components are
built from ``fieldsets.registry`` (field, type, description, order), and the
search body from ``SessionFilterSet``, so the documentation cannot drift from
what is served. Every field a fieldset can contain is documented as nullable,
because any of them may be masked.
"""

from __future__ import annotations

from typing import Any

import django_filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import serializers

from fieldsets.registry import (
    ACTION,
    LOG,
    PRODUCTS,
    SESSION,
    SUMMARY,
    SUMMARY_KEY,
    Digest,
    Field,
    Kind,
    RecordType,
)
from permissions.models import REASON_MAX_LENGTH, AuditKind
from sessions_app.filters import SessionFilterSet, StrictBooleanFilter
from sessions_app.queries import ORDERINGS

MASKED = " Null when masked (then named in masked_fields) or when there is no data."

_FIELD_CLASSES: dict[Kind, type[serializers.Field]] = {
    Kind.TEXT: serializers.CharField,
    Kind.INTEGER: serializers.IntegerField,
    Kind.FLOAT: serializers.FloatField,
    Kind.BOOLEAN: serializers.BooleanField,
    Kind.DATETIME: serializers.DateTimeField,
    Kind.IP: serializers.IPAddressField,
    Kind.OBJECT: serializers.DictField,
}


def _field(f: Field, *, help_text: str | None = None) -> serializers.Field:
    # Fields are re-instantiated from their constructor arguments when the
    # serializer is copied, so nullability must be passed in, not set after.
    kwargs: dict[str, Any] = {
        "allow_null": f.hideable or f.nullable,
        "help_text": help_text or ((f.help or f.label) + (MASKED if f.hideable else "")),
    }
    if f.kind is Kind.CHOICE:
        values = f.choices.values if f.choices is not None else []
        return serializers.ChoiceField(choices=[*values, ""], **kwargs)
    if f.kind is Kind.DECIMAL:
        return serializers.DecimalField(max_digits=14, decimal_places=2, **kwargs)
    if f.partial is not None and f.kind is Kind.IP:
        # A partial form (81.2.\u2022.\u2022) is no address: documented as text.
        return serializers.CharField(**kwargs)
    return _FIELD_CLASSES[f.kind](**kwargs)


def _masked_fields_help(record: RecordType) -> str:
    names = [f.name for f in record.hideable]
    opens = [f"{f.name}.<key>" for f in record.hideable if f.open_keys]
    if record is SESSION:
        opens += [d.path() for d in SUMMARY] + [
            d.path(key) for d in SUMMARY for key, source in d.parts if ACTION.field(source).hideable
        ]
    return (
        "Names of the fields this response masked because the caller does not hold a "
        "fieldset containing them for the record's application; a field that is null "
        "because there is no data is not listed. Possible names: " + ", ".join(names + opens) + "."
    )


def _digest_serializer(digest: Digest) -> serializers.Field:
    members: dict[str, Any] = {
        key: _field(
            ACTION.field(action_field),
            help_text=f"The action's {action_field}"
            + (MASKED if ACTION.field(action_field).hideable else "."),
        )
        for key, action_field in digest.parts
    }
    many = digest is PRODUCTS
    if many:
        members["count"] = serializers.IntegerField(help_text="Actions with this event.")
    name = "Summary" + digest.name.title().replace("_", "")
    item: type[serializers.Serializer] = type(name, (serializers.Serializer,), members)
    return item(many=many, allow_null=True, help_text=digest.help)


class SummarySerializer(serializers.Serializer):
    """Triage summary of a session's actions (``fieldsets.registry.SUMMARY``)."""


for _digest in SUMMARY:
    SummarySerializer._declared_fields[_digest.name] = _digest_serializer(_digest)


def record_serializer(record: RecordType, name: str) -> type[serializers.Serializer]:
    """A describing serializer of one record type: its fields in output order."""
    attrs: dict[str, Any] = {"__module__": __name__}
    done: set[str] = set()
    for f in record.fields:
        if len(f.json_path) == 1:
            attrs[f.name] = _field(f)
            continue
        group = f.json_path[0]
        if group in done:
            continue
        done.add(group)
        members = {m.json_path[1]: _field(m) for m in record.fields if m.json_path[:1] == (group,)}
        group_class = type(f"{name}{group.title()}", (serializers.Serializer,), members)
        attrs[group] = group_class(
            allow_null=True, help_text=f"Null when the {name.lower()} has no {group}."
        )
    attrs["masked_fields"] = serializers.ListField(
        child=serializers.CharField(), help_text=_masked_fields_help(record)
    )
    if record.has_partial_forms:
        attrs["partial_fields"] = serializers.ListField(
            child=serializers.CharField(),
            help_text="Fields shown in their partial forms (j\u2022\u2022\u2022@example.com) "
            "because the caller holds a partial grant of a fieldset containing them; each "
            "is also in masked_fields. Possible names: "
            + ", ".join(f.name for f in record.fields if f.partial is not None)
            + ".",
        )
    if record is SESSION:
        attrs[SUMMARY_KEY] = SummarySerializer(
            help_text="What happened in the session, for triage: computed from its actions, "
            "each part masked like the action field it comes from."
        )
    return type(name, (serializers.Serializer,), attrs)


SessionSerializer = record_serializer(SESSION, "Session")
ActionSerializer = record_serializer(ACTION, "Action")
LogRecordSerializer = record_serializer(LOG, "LogRecord")


class SessionDetailSerializer(SessionSerializer):  # type: ignore[valid-type, misc]
    actions = ActionSerializer(
        many=True,
        allow_null=True,
        help_text="In seq order; null when they are in a fieldset you do not hold "
        "(then masked_fields names actions).",
    )
    logs = LogRecordSerializer(
        many=True,
        allow_null=True,
        help_text="The session's log records (its session_id attribute, or a trace id of one "
        "of its actions), oldest first; null when they are in a fieldset you do not hold "
        "(then masked_fields names logs).",
    )


def _search_field(name: str, filter_: django_filters.Filter) -> serializers.Field:
    help_text = str(filter_.extra.get("help_text", ""))
    if isinstance(filter_, StrictBooleanFilter):
        return serializers.BooleanField(required=False, help_text=help_text)
    if isinstance(filter_, django_filters.IsoDateTimeFilter):
        return serializers.DateTimeField(required=False, help_text=help_text)
    return serializers.CharField(required=False, help_text=help_text)


SessionSearchSerializer = type(
    "SessionSearch",
    (serializers.Serializer,),
    {
        "__module__": __name__,
        "user_tag": serializers.CharField(
            help_text="Exact, case-insensitive match on the normalised tag (surrounding space "
            "ignored), answered from a keyed blind index. Allowed to every reader of the "
            "application; the tag is revealed in results only with the fieldset."
        ),
        **{
            name: _search_field(name, filter_)
            for name, filter_ in SessionFilterSet.base_filters.items()
        },
        "ordering": serializers.CharField(required=False, help_text="As for the list endpoint."),
    },
)


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
    partial_fields = serializers.ListField(
        child=serializers.CharField(),
        help_text="Fields shown to the caller in their partial forms here (never filterable).",
    )
    reveal_requires_reason = serializers.BooleanField(
        help_text="Fieldset values stay masked until a session is revealed with a reason."
    )
    revealable_fields = serializers.ListField(
        child=serializers.CharField(),
        help_text="Fields a reveal with a reason would show in full on a session here.",
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
    partial_all_applications = serializers.BooleanField(
        help_text="The partial grant is held for every application."
    )
    partial_applications = serializers.DictField(
        child=serializers.BooleanField(),
        help_text="Readable application slug -> whether the caller holds the partial grant.",
    )


class GrantSummarySerializer(serializers.Serializer):
    all_applications = serializers.BooleanField()
    applications = serializers.ListField(child=serializers.SlugField())


class FieldsetGrantSerializer(GrantSummarySerializer):
    name = serializers.CharField()
    partial_all_applications = serializers.BooleanField()
    partial_applications = serializers.ListField(child=serializers.SlugField())


class MeSerializer(serializers.Serializer):
    username = serializers.CharField()
    is_superuser = serializers.BooleanField()
    can_view_audit = serializers.BooleanField()
    record_access = GrantSummarySerializer()
    fieldsets = FieldsetGrantSerializer(many=True)
    applications = ApplicationSerializer(many=True)


class AuditRecordSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    username = serializers.CharField()
    kind = serializers.ChoiceField(choices=AuditKind.values)
    method = serializers.CharField()
    path = serializers.CharField()
    applications = serializers.ListField(child=serializers.SlugField())
    session_ids = serializers.ListField(child=serializers.IntegerField())
    log_ids = serializers.ListField(
        child=serializers.IntegerField(), help_text="Log records whose values were revealed."
    )
    fieldsets = serializers.ListField(child=serializers.CharField())
    partial_fieldsets = serializers.ListField(
        child=serializers.CharField(),
        help_text="Fieldsets whose fields were shown in their partial forms.",
    )
    reason = serializers.CharField(
        allow_null=True,
        help_text="The reason given for the reveal window the values were shown in "
        "(personal data in it masked).",
    )
    search_tag_hash = serializers.CharField(
        allow_null=True,
        help_text="The customer concerned, as a per-subject keyed value (as_...; older records "
        "a1_...): never the tag, never a search key, unlinkable once the customer is erased.",
    )
    changes = serializers.DictField(
        allow_null=True,
        help_text="What changed: settings ({before, after}), grants, fieldsets (fields and "
        "description before and after), masking rules (the rule before and after), re-masking "
        "counts, data-subject requests, key rotations, retention runs. Names and counts, "
        "never personal data.",
    )
    seq = serializers.IntegerField(help_text="Position in the audit hash chain.")
    hash = serializers.CharField(help_text="SHA-256 over this record and the previous hash.")


AUDIT_FILTER_PARAMETERS = [
    OpenApiParameter("user", OpenApiTypes.STR, OpenApiParameter.QUERY,
                     description="Username who acted."),
    OpenApiParameter("kind", OpenApiTypes.STR, OpenApiParameter.QUERY, enum=AuditKind.values),
    OpenApiParameter("application", OpenApiTypes.STR, OpenApiParameter.QUERY,
                     description="Application slug the record concerns."),
    OpenApiParameter("session", OpenApiTypes.INT, OpenApiParameter.QUERY,
                     description="Session id the record concerns."),
    OpenApiParameter("since", OpenApiTypes.DATETIME, OpenApiParameter.QUERY,
                     description="From this instant (inclusive, ISO 8601)."),
    OpenApiParameter("until", OpenApiTypes.DATETIME, OpenApiParameter.QUERY,
                     description="Before this instant (exclusive, ISO 8601)."),
]  # fmt: skip


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

ORDERING_PARAMETER = OpenApiParameter(
    "ordering",
    OpenApiTypes.STR,
    OpenApiParameter.QUERY,
    enum=[prefix + name for name in ORDERINGS for prefix in ("", "-")],
    description="Sort order (default -started_at, newest first). 403 if it orders by a field "
    "in a fieldset you do not hold.",
)

CSV_DESCRIPTION = (
    "With ?format=csv or Accept: text/csv: the same rows as CSV (header = session keys; "
    "properties and masked_fields as JSON; masked cells empty); next page in the Link header."
)


class RevealRequestSerializer(serializers.Serializer):
    reason = serializers.CharField(
        max_length=REASON_MAX_LENGTH,
        help_text="Why (or the ticket); stored in the audit trail with emails, cards and IPs "
        "masked.",
    )


class RevealSerializer(serializers.Serializer):
    reason = serializers.CharField(help_text="The reason as stored (personal data masked).")
    expires_at = serializers.DateTimeField(help_text="Until when reads show the session.")
    session = SessionDetailSerializer(help_text="The session, revealed.")
