"""OpenAPI documentation of the data-subject request endpoints (describes; renders nothing)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers

from data_subjects.models import RequestKind, RequestStatus
from sessions_app.api.schema import ErrorSerializer

COUNTS_HELP = (
    'Counts per application slug and record type, e.g. {"fashion-store": {"session": 3, '
    '"action": 12}}.'
)


class NewRequestSerializer(serializers.Serializer):
    user_tag = serializers.CharField(
        help_text="The customer's user tag (usually the email), exact and case-insensitive. "
        "Kept encrypted only while the request needs it; never in a URL."
    )
    kind = serializers.ChoiceField(choices=RequestKind.values)
    reason = serializers.CharField(
        help_text="Why (no personal data: it is kept, also after an erasure)."
    )
    ticket = serializers.CharField(
        help_text="Your ticket reference (no personal data), also printed on the receipt."
    )


class ProgressSerializer(serializers.Serializer):
    done = serializers.IntegerField()
    total = serializers.IntegerField()


class DataSubjectRequestSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=RequestKind.values)
    status = serializers.ChoiceField(
        choices=RequestStatus.values,
        help_text="pending_approval (anonymise, erase) -> approved -> running -> done; failed "
        "(resumable with .../run/).",
    )
    reason = serializers.CharField()
    ticket = serializers.CharField()
    created_by = serializers.CharField()
    created_at = serializers.DateTimeField()
    approved_by = serializers.CharField(allow_null=True)
    approved_at = serializers.DateTimeField(allow_null=True)
    run_by = serializers.CharField(allow_null=True)
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    dry_run = serializers.DictField(help_text="Found when the request was created. " + COUNTS_HELP)
    found = serializers.DictField(help_text="Found when the run started. " + COUNTS_HELP)
    done = serializers.DictField(help_text="Processed so far. " + COUNTS_HELP)
    progress = ProgressSerializer()
    stalled = serializers.BooleanField(help_text="Running, but its runner stopped reporting.")
    error = serializers.CharField(allow_null=True)
    receipt_available = serializers.BooleanField()
    export_available = serializers.BooleanField()


class ReceiptSerializer(serializers.Serializer):
    receipt = serializers.CharField()
    request = serializers.IntegerField()
    kind = serializers.CharField()
    ticket = serializers.CharField()
    found = serializers.DictField()
    done = serializers.DictField()
    statement = serializers.CharField()
    audit_record = serializers.DictField(help_text="Position (seq) and hash in the audit chain.")
    signature = serializers.CharField(help_text="HMAC under the audit keyring over the rest.")


class ExportSerializer(serializers.Serializer):
    format = serializers.CharField()
    request = serializers.DictField()
    generated_at = serializers.DateTimeField()
    counts = serializers.DictField(help_text=COUNTS_HELP)
    sessions = serializers.ListField(
        child=serializers.DictField(),
        help_text="Every session as GET /api/v1/sessions/<id>/ shows it, nothing masked, with "
        "its actions.",
    )


REFUSED = {
    400: OpenApiResponse(ErrorSerializer, description="Invalid body (errors with JSON pointers)."),
    401: OpenApiResponse(ErrorSerializer, description="Not authenticated."),
    403: OpenApiResponse(
        ErrorSerializer, description="Missing permission, or approving your own request."
    ),
    404: OpenApiResponse(ErrorSerializer, description="No such request."),
    409: OpenApiResponse(
        ErrorSerializer,
        description="Not in a state for this (e.g. already approved, not done yet).",
    ),
}
