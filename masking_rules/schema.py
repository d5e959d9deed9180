"""OpenAPI documentation of the masking-rule API (drf-spectacular); these only describe."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers

from masking_rules.validation import MAX_ORDER, MAX_RULES_PER_SCOPE
from privacy.patterns import PATTERN_MAX_LENGTH
from privacy.rules import Detector, Method
from sessions_app.api.schema import ErrorSerializer


class RuleSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(max_length=100, help_text="Distinct within its scope.")
    application = serializers.SlugField(
        allow_null=True,
        help_text="Slug of the application, or null for an environment-wide rule (runs "
        "for every application, before the application's own rules).",
    )
    order = serializers.IntegerField(
        min_value=0,
        max_value=MAX_ORDER,
        help_text="Rules of a scope run in ascending order; distinct within its scope.",
    )
    selector = serializers.CharField(
        help_text="Registry path or glob of the client strings to rewrite: "
        "actions.error_message, session.city (or city), properties.*, "
        "actions.request_attributes.<key>, actions.product.*, actions.* (every client "
        "string of actions), session.*, * (all).",
    )
    detector = serializers.ChoiceField(
        choices=Detector.values(), allow_null=True, help_text="Exactly one of detector and pattern."
    )
    pattern = serializers.CharField(
        allow_null=True,
        max_length=PATTERN_MAX_LENGTH,
        help_text="An RE2 pattern (linear time; no back-references or look-around). With a "
        "group named mask, (?P<mask>...), only that part is rewritten.",
    )
    method = serializers.ChoiceField(choices=Method.values())
    replacement = serializers.CharField(
        required=False, help_text="The fixed text for method replace (empty otherwise)."
    )
    confirm_catch_all = serializers.BooleanField(
        required=False,
        help_text="Needed for a pattern that finds something in every string over every "
        "client string of a record type (selector '*' or '<record>.*').",
    )


class PreviewRequestSerializer(serializers.Serializer):
    application = serializers.SlugField(help_text="The application whose settings apply.")
    beacon = serializers.DictField(
        required=False, help_text="One session as in an ingest batch (sessions[0])."
    )
    path = serializers.CharField(
        required=False, help_text="Instead of a beacon: the registry path of one field ..."
    )
    text = serializers.CharField(required=False, help_text="... and the string sent in it.")
    rules = RuleSerializer(
        many=True,
        required=False,
        help_text="Proposed rules to preview instead of the stored ones (environment-wide "
        "and the application's); not saved.",
    )


class ChangeSerializer(serializers.Serializer):
    path = serializers.CharField(help_text="JSON pointer into the beacon ('' for a text).")
    rule = serializers.CharField(allow_null=True, help_text="The rule's name; null: built-in.")
    step = serializers.ChoiceField(choices=["environment rules", "application rules", "built-in"])


class PreviewResponseSerializer(serializers.Serializer):
    beacon = serializers.DictField(
        required=False, allow_null=True, help_text="The session as it would be stored."
    )
    text = serializers.CharField(required=False, allow_null=True)
    changes = ChangeSerializer(many=True)
    discarded = serializers.BooleanField(
        required=False, help_text="Do-Not-Track with do_not_track=disable: not stored at all."
    )


class ErrorItemSerializer(serializers.Serializer):
    path = serializers.CharField(help_text="JSON pointer into the request body.")
    message = serializers.CharField()


class RuleErrorSerializer(serializers.Serializer):
    # DRF's metaclass moves declared fields out of the class: this is the "errors" key.
    errors = ErrorItemSerializer(many=True)  # type: ignore[assignment]


RULE_ERRORS = {
    400: OpenApiResponse(
        RuleErrorSerializer,
        description="Invalid rule(s), each error with a JSON pointer into the body; nothing "
        f"saved. A scope holds at most {MAX_RULES_PER_SCOPE} rules.",
    ),
    401: OpenApiResponse(ErrorSerializer, description="Not authenticated."),
    403: OpenApiResponse(
        ErrorSerializer,
        description="Without masking_rules.view_maskingrule (reads) or "
        "masking_rules.manage_rules (writes).",
    ),
}
RULE_DETAIL_ERRORS = {
    **RULE_ERRORS,
    404: OpenApiResponse(
        ErrorSerializer, description="No such rule, or one of an application you cannot read."
    ),
}
