"""Fieldset writes: preview the impact, then create or change, confirmed.

Fieldsets fail closed, so saving one can hide fields from people who need
them (a new fieldset's fields from everyone, the privacy officer included).
Every write therefore shows its impact first (``permissions.impact``):

* ``POST /api/v1/fieldsets/impact/`` ``{"name", "fields"}`` answers who would
  lose or gain which fields, and stores nothing;
* ``POST /api/v1/fieldsets/`` (create) and ``PUT /api/v1/fieldsets/<name>/``
  (change fields and description) take the same body plus ``"confirm": true``.
  Without it the answer is a ``400`` whose error points at ``/confirm`` and
  which carries the ``impact``: a client cannot change a fieldset without
  having been shown, in the same shape, what it does. With it, the change is
  saved, audited (``fieldset_change``, definition before and after) and the
  response repeats the impact that took effect.

Creating needs ``fieldsets.add_fieldset``, changing ``fieldsets.change_fieldset``,
the preview either (the one matching what it previews); built-in fieldsets are
read-only (``403``). Errors are ``{"errors": [{"path": <JSON pointer>,
"message"}]}`` like ingest's, and never repeat a submitted value.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.parsers import JSONParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from fieldsets.models import Fieldset, validate_fieldset_name
from fieldsets.registry import is_fieldset_path, missing_sources
from permissions.audit import Actor
from permissions.drf import ADD_FIELDSET, CHANGE_FIELDSET, CanEditFieldsets
from permissions.impact import FieldsetImpact, fieldset_impact
from permissions.services import FieldsetExists, fieldset_create, fieldset_update
from sessions_app.api import schema
from sessions_app.api.views import FieldsetListView, ReadAPIView

CONFIRM = "confirm"
CONFIRM_MESSAGE = (
    'Nothing was saved. Review "impact", then send the same request with "confirm": true.'
)
READ_ONLY = "Built-in fieldsets are read-only."


class TextField(serializers.CharField):
    """Text only: DRF's ``CharField`` turns a number into text, hiding a client's mistake."""

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return str(super().to_internal_value(data))


class FieldsetWriteSerializer(serializers.Serializer[Any]):
    """The body of every fieldset write; ``name`` only where the URL does not name it."""

    name = TextField(
        max_length=80,
        validators=[validate_fieldset_name],
        help_text="Lower-case letters, digits, single - or _ between them. Cannot change.",
    )
    description = TextField(required=False, allow_blank=True)
    # DRF's metaclass moves declared fields out of the class, so this is the
    # body's "fields" key and does not replace Serializer.fields.
    fields = serializers.ListField(  # type: ignore[assignment]
        child=TextField(max_length=200),
        allow_empty=False,
        help_text="Registry paths (GET /api/v1/fieldsets/ shows those in use), e.g. city, "
        "properties.<key>, actions.url, actions.request_attributes.<key>, actions. "
        "A derived field needs its sources too.",
    )
    confirm = serializers.BooleanField(
        required=False,
        default=False,
        help_text="true: save. Without it, create and update answer 400 with the impact.",
    )

    def validate_fields(self, value: list[str]) -> list[str]:
        # Per item, so the error points at it (/fields/2) instead of repeating it.
        unknown = {
            str(index): ["Not a field a fieldset can contain."]
            for index, path in enumerate(value)
            if not is_fieldset_path(path)
        }
        if unknown:
            raise serializers.ValidationError(unknown)
        if len(set(value)) != len(value):
            raise serializers.ValidationError("Give each field once.")
        missing = missing_sources(value)
        if missing:
            # Registry names only: a derived field is never a caller-made key.
            raise serializers.ValidationError(
                [
                    f"{name} is derived from {', '.join(sources)}: add them too."
                    for name, sources in missing.items()
                ]
            )
        return value


class ImpactSerializer(serializers.Serializer[Any]):
    """Documents one row of ``impact``."""

    principal_type = serializers.ChoiceField(choices=["user", "group"])
    principal = serializers.CharField(help_text="Username or group name.")
    application = serializers.SlugField(
        allow_null=True, help_text="Application slug; null: every application."
    )
    lost = serializers.ListField(
        child=serializers.CharField(), help_text="Fields the principal would no longer see."
    )
    gained = serializers.ListField(
        child=serializers.CharField(), help_text="Fields the principal would see from now on."
    )


class FieldsetImpactResponseSerializer(serializers.Serializer[Any]):
    name = serializers.CharField()
    fields = serializers.ListField(child=serializers.CharField())  # type: ignore[assignment]
    impact = ImpactSerializer(
        many=True, help_text="Principals whose view changes (superusers see everything)."
    )


class FieldsetSavedSerializer(FieldsetImpactResponseSerializer):
    description = serializers.CharField()
    builtin = serializers.BooleanField()


class PointerErrorSerializer(serializers.Serializer[Any]):
    path = serializers.CharField(help_text="JSON pointer into the request body.")
    message = serializers.CharField()


class FieldsetErrorSerializer(serializers.Serializer[Any]):
    # Declared fields leave the class (DRF's metaclass): this is the "errors" key.
    errors = PointerErrorSerializer(many=True)  # type: ignore[assignment]
    impact = ImpactSerializer(
        many=True, required=False, help_text="Without confirm: what the change would do."
    )


def impact_json(rows: list[FieldsetImpact]) -> list[dict[str, Any]]:
    return [
        {
            "principal_type": row.principal.kind,
            "principal": row.principal.name,
            "application": row.application,
            "lost": list(row.lost),
            "gained": list(row.gained),
        }
        for row in rows
    ]


def pointer_errors(errors: Any, path: str = "") -> list[dict[str, str]]:
    """DRF's nested ``serializer.errors`` as ``[{"path": <JSON pointer>, "message"}]``."""
    if isinstance(errors, Mapping):
        found = []
        for key, value in errors.items():
            key = str(key)
            inner = path if key in ("non_field_errors", "__all__") else f"{path}/{_escape(key)}"
            found += pointer_errors(value, inner)
        return found
    if isinstance(errors, list) and all(isinstance(item, str) for item in errors):
        return [{"path": path, "message": str(message)} for message in errors]
    if isinstance(errors, list):
        return [
            e for index, item in enumerate(errors) for e in pointer_errors(item, f"{path}/{index}")
        ]
    return [{"path": path, "message": str(errors)}]


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


class BodyInvalid(Exception):
    def __init__(self, errors: list[dict[str, str]], **extra: Any) -> None:
        self.errors = errors
        self.extra = extra


_EDIT_ERRORS = {
    400: OpenApiResponse(
        FieldsetErrorSerializer,
        description="Invalid body (errors point into it), or no confirm (with the impact).",
    ),
    401: OpenApiResponse(schema.ErrorSerializer, description="Not authenticated."),
    403: OpenApiResponse(
        schema.ErrorSerializer,
        description="Without fieldsets.add_fieldset / change_fieldset, or a built-in fieldset.",
    ),
}


class FieldsetWriteMixin(ReadAPIView):
    """Parsing, permission and error shape shared by the preview, create and update."""

    permission_classes = [IsAuthenticated, CanEditFieldsets]
    parser_classes = [JSONParser]
    serializer_class = FieldsetWriteSerializer

    def handle_exception(self, exc: Exception) -> Response:
        if isinstance(exc, BodyInvalid):
            return Response({"errors": exc.errors, **exc.extra}, status=status.HTTP_400_BAD_REQUEST)
        return super().handle_exception(exc)

    def body(self, request: Request, *, name: str | None = None) -> dict[str, Any]:
        """The validated body; ``name`` comes from the URL when given (and may not differ)."""
        self.split_query(request, filters_allowed=False)
        data = request.data
        if not isinstance(data, Mapping):
            raise BodyInvalid([{"path": "", "message": "Send a JSON object."}])
        allowed = set(FieldsetWriteSerializer._declared_fields)
        if set(data) - allowed:
            # Not echoed, not even as a pointer: a key could be anything.
            message = f"Unknown key(s). Allowed: {', '.join(sorted(allowed))}."
            raise BodyInvalid([{"path": "", "message": message}])
        if name is not None:
            if data.get("name", name) != name:
                raise BodyInvalid(
                    [{"path": "/name", "message": "A fieldset's name cannot change."}]
                )
            data = {**data, "name": name}
        serializer = FieldsetWriteSerializer(data=data)
        if not serializer.is_valid():
            raise BodyInvalid(pointer_errors(serializer.errors))
        return dict(serializer.validated_data)

    def require(self, permission: str) -> None:
        if not self.request.user.has_perm(permission):
            raise PermissionDenied(f"This needs the '{permission}' permission.")

    def editable(self, name: str) -> Fieldset | None:
        """The stored fieldset ``name`` (None if new); 403 for a built-in one."""
        fieldset = Fieldset.objects.filter(name=name).first()
        if fieldset is not None and fieldset.builtin:
            raise PermissionDenied(READ_ONLY)
        return fieldset

    def impact(self, body: Mapping[str, Any]) -> list[dict[str, Any]]:
        return impact_json(fieldset_impact(name=body["name"], fields=body["fields"]))

    def unconfirmed(self, body: Mapping[str, Any]) -> None:
        if not body["confirm"]:
            raise BodyInvalid(
                [{"path": f"/{CONFIRM}", "message": CONFIRM_MESSAGE}], impact=self.impact(body)
            )

    def saved(self, fieldset: Fieldset, impact: list[dict[str, Any]], code: int) -> Response:
        return Response(
            {
                "name": fieldset.name,
                "description": fieldset.description,
                "fields": fieldset.fields,
                "builtin": fieldset.builtin,
                "impact": impact,
            },
            status=code,
        )

    def model_errors(self, error: DjangoValidationError) -> BodyInvalid:
        if hasattr(error, "error_dict"):
            return BodyInvalid(
                pointer_errors({k: [str(m) for m in v] for k, v in error.message_dict.items()})
            )
        return BodyInvalid([{"path": "", "message": " ".join(error.messages)}])


class FieldsetListCreateView(FieldsetWriteMixin, FieldsetListView):
    """GET: every fieldset (anyone); POST: create one, confirmed after its impact preview."""

    def get_permissions(self) -> list[Any]:
        if self.request.method == "GET":
            return [IsAuthenticated()]
        return list(super().get_permissions())

    @extend_schema(
        operation_id="fieldsets_create",
        summary="Create a fieldset (needs confirm: true after reviewing the impact)",
        request=FieldsetWriteSerializer,
        responses={201: FieldsetSavedSerializer, **_EDIT_ERRORS},
    )
    def post(self, request: Request) -> Response:
        self.require(ADD_FIELDSET)
        body = self.body(request)
        if self.editable(body["name"]) is not None:
            raise BodyInvalid([{"path": "/name", "message": "A fieldset with this name exists."}])
        self.unconfirmed(body)
        impact = self.impact(body)
        try:
            fieldset = fieldset_create(
                actor=Actor.of(request),
                name=body["name"],
                fields=body["fields"],
                description=body.get("description", ""),
            )
        except FieldsetExists:
            raise BodyInvalid(
                [{"path": "/name", "message": "A fieldset with this name exists."}]
            ) from None
        except DjangoValidationError as error:
            raise self.model_errors(error) from None
        return self.saved(fieldset, impact, status.HTTP_201_CREATED)


class FieldsetUpdateView(FieldsetWriteMixin):
    """PUT: change a custom fieldset's fields and description, confirmed after the preview."""

    @extend_schema(
        operation_id="fieldsets_update",
        summary="Change a fieldset (needs confirm: true after reviewing the impact)",
        parameters=[
            OpenApiParameter(
                "name",
                OpenApiTypes.STR,
                OpenApiParameter.PATH,
                description="The fieldset's name (the body's name, if given, must be the same).",
            )
        ],
        request=FieldsetWriteSerializer,
        responses={
            200: FieldsetSavedSerializer,
            **_EDIT_ERRORS,
            404: OpenApiResponse(schema.ErrorSerializer, description="No such fieldset."),
        },
    )
    def put(self, request: Request, name: str) -> Response:
        self.require(CHANGE_FIELDSET)
        if self.editable(name) is None:
            raise NotFound("No such fieldset.")
        body = self.body(request, name=name)
        self.unconfirmed(body)
        impact = self.impact(body)
        try:
            fieldset = fieldset_update(
                actor=Actor.of(request),
                name=name,
                fields=body["fields"],
                description=body.get("description"),
            )
        except DjangoValidationError as error:
            raise self.model_errors(error) from None
        return self.saved(fieldset, impact, status.HTTP_200_OK)


class FieldsetImpactView(FieldsetUpdateView):
    """POST: who would lose or gain which fields; stores nothing.

    Also answers ``PUT`` for a fieldset that happens to be named ``impact``:
    its URL is this one (the route is given ``name="impact"``).
    """

    @extend_schema(
        operation_id="fieldsets_impact",
        summary="Preview who would lose or gain which fields (stores nothing)",
        request=FieldsetWriteSerializer,
        responses={200: FieldsetImpactResponseSerializer, **_EDIT_ERRORS},
    )
    def post(self, request: Request, name: str) -> Response:
        body = self.body(request)
        existing = self.editable(body["name"])
        self.require(ADD_FIELDSET if existing is None else CHANGE_FIELDSET)
        return Response(
            {"name": body["name"], "fields": body["fields"], "impact": self.impact(body)}
        )

    @extend_schema(exclude=True)
    def put(self, request: Request, name: str) -> Response:
        return super().put(request, name)
