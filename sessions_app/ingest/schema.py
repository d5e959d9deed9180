"""OpenAPI description of ``POST /api/v1/ingest/sessions/`` (drf-spectacular).

These serializers only describe the beacon; ``sessions_app.ingest.validation``
validates it (faster, and with JSON-pointer errors). Names and limits come
from the validator's own constants, so the two cannot drift apart silently;
``tests/security/test_schema_fuzz.py`` checks the documented responses.
"""

from __future__ import annotations

from typing import TypedDict

from drf_spectacular.utils import OpenApiExample
from rest_framework import serializers

from sessions_app.ingest import validation
from sessions_app.models import ActionType, ProductEvent


class _Optional(TypedDict):
    required: bool
    allow_null: bool


# A TypedDict, so mypy checks ``**_OPTIONAL`` against each field's keyword arguments.
_OPTIONAL = _Optional(required=False, allow_null=True)


def _keys(serializer: type[serializers.Serializer]) -> frozenset[str]:
    return frozenset(serializer._declared_fields)


class BeaconGeoSerializer(serializers.Serializer):
    country = serializers.CharField(max_length=2, help_text="ISO 3166-1 alpha-2.", **_OPTIONAL)
    city = serializers.CharField(max_length=validation.COLUMN_MAX_LENGTHS["city"], **_OPTIONAL)
    latitude = serializers.FloatField(min_value=-90, max_value=90, **_OPTIONAL)
    longitude = serializers.FloatField(min_value=-180, max_value=180, **_OPTIONAL)


class BeaconErrorSerializer(serializers.Serializer):
    message = serializers.CharField(help_text="Personal data in it is masked.", **_OPTIONAL)
    stack = serializers.CharField(**_OPTIONAL)


class BeaconProductSerializer(serializers.Serializer):
    sku = serializers.CharField(max_length=validation.PRODUCT_SKU_MAX_LENGTH, **_OPTIONAL)
    name = serializers.CharField(max_length=validation.PRODUCT_NAME_MAX_LENGTH, **_OPTIONAL)
    price = serializers.CharField(help_text='Decimal string, e.g. "79.90".', **_OPTIONAL)
    currency = serializers.CharField(help_text="ISO 4217, e.g. EUR.", **_OPTIONAL)
    quantity = serializers.IntegerField(min_value=1, max_value=validation.MAX_QUANTITY, **_OPTIONAL)
    event = serializers.ChoiceField(choices=ProductEvent.values)


class BeaconActionSerializer(serializers.Serializer):
    seq = serializers.IntegerField(
        min_value=0,
        max_value=validation.MAX_INT32,
        help_text="Unique per session; re-sent seqs are ignored.",
    )
    type = serializers.ChoiceField(choices=ActionType.values)
    name = serializers.CharField(max_length=validation.ACTION_NAME_MAX_LENGTH, **_OPTIONAL)
    url = serializers.CharField(help_text="Masked at ingest (see the privacy model).", **_OPTIONAL)
    timestamp = serializers.DateTimeField(help_text="With a time zone.")
    duration_ms = serializers.FloatField(min_value=0, max_value=validation.MAX_INT32, **_OPTIONAL)
    http_status = serializers.IntegerField(min_value=100, max_value=599, **_OPTIONAL)
    error = BeaconErrorSerializer(**_OPTIONAL)
    headers = serializers.DictField(
        child=serializers.CharField(), help_text="Sensitive headers are dropped.", **_OPTIONAL
    )
    request_attributes = serializers.DictField(**_OPTIONAL)
    product = BeaconProductSerializer(**_OPTIONAL)
    trace_id = serializers.CharField(
        min_length=validation.TRACE_ID_LENGTH,
        max_length=validation.TRACE_ID_LENGTH,
        help_text="W3C trace id (32 hex digits) of the request the action made: backend log "
        "records with the same trace id show in the session.",
        **_OPTIONAL,
    )
    input_value = serializers.CharField(
        help_text="Accepted and discarded: user input is never stored.", **_OPTIONAL
    )


class BeaconSessionSerializer(serializers.Serializer):
    session_id = serializers.CharField(max_length=validation.SESSION_ID_MAX_LENGTH)
    started_at = serializers.DateTimeField(help_text="With a time zone.")
    ended_at = serializers.DateTimeField(**_OPTIONAL)
    user_tag = serializers.CharField(
        help_text="E.g. the customer's email; stored per the application's user_tag_storage.",
        **_OPTIONAL,
    )
    client_ip = serializers.IPAddressField(**_OPTIONAL)
    do_not_track = serializers.BooleanField(**_OPTIONAL)
    geo = BeaconGeoSerializer(**_OPTIONAL)
    browser = serializers.CharField(
        max_length=validation.COLUMN_MAX_LENGTHS["browser"], **_OPTIONAL
    )
    os = serializers.CharField(max_length=validation.COLUMN_MAX_LENGTHS["os"], **_OPTIONAL)
    device = serializers.CharField(max_length=validation.COLUMN_MAX_LENGTHS["device"], **_OPTIONAL)
    properties = serializers.DictField(
        help_text="Keys not in the application's allowed_properties are dropped.", **_OPTIONAL
    )
    actions = BeaconActionSerializer(many=True, required=False)


class BeaconSerializer(serializers.Serializer):
    sessions = BeaconSessionSerializer(many=True)


class IngestSessionResultSerializer(serializers.Serializer):
    session_id = serializers.CharField()
    status = serializers.ChoiceField(choices=["created", "updated", "discarded"])
    actions_added = serializers.IntegerField(min_value=0)


class IngestResultSerializer(serializers.Serializer):
    sessions = IngestSessionResultSerializer(many=True)


class IngestErrorSerializer(serializers.Serializer):
    path = serializers.CharField(help_text='RFC 6901 JSON pointer ("" for the whole body).')
    message = serializers.CharField(help_text="Never repeats a submitted value.")


class IngestErrorsSerializer(serializers.Serializer):
    # DRF's metaclass moves declared fields out of the class, so this is the
    # response's "errors" key and does not replace Serializer.errors.
    errors = IngestErrorSerializer(many=True)  # type: ignore[assignment]


# The documented keys are exactly the validator's: a new field must be added
# to both, or importing this module fails.
for documented, accepted, ignored in (
    (_keys(BeaconSessionSerializer), validation.SESSION_KEYS, frozenset()),
    (_keys(BeaconGeoSerializer), validation.GEO_KEYS, frozenset()),
    (_keys(BeaconActionSerializer), validation.ACTION_KEYS, frozenset({"input_value"})),
    (_keys(BeaconErrorSerializer), validation.ERROR_KEYS, frozenset()),
    (_keys(BeaconProductSerializer), validation.PRODUCT_KEYS, frozenset()),
):
    if documented - ignored != accepted:
        raise ImportError(f"ingest schema and validator disagree: {documented ^ accepted}")

EXAMPLE = OpenApiExample(
    "A failed checkout",
    value={
        "sessions": [
            {
                "session_id": "s-0001",
                "started_at": "2026-11-28T10:00:00Z",
                "user_tag": "jane.doe@example.com",
                "client_ip": "203.0.113.42",
                "actions": [
                    {
                        "seq": 0,
                        "type": "xhr",
                        "name": "POST /api/payment",
                        "url": "https://shop.example.com/api/payment",
                        "timestamp": "2026-11-28T10:01:00Z",
                        "http_status": 500,
                        "error": {"message": "Payment declined"},
                    }
                ],
            }
        ]
    },
    request_only=True,
)
