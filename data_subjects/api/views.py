"""Data-subject request endpoints: thin views over ``data_subjects.services`` and ``selectors``.

``POST /api/v1/data-subject-requests/`` creates (``create_request``),
``.../<id>/approve/`` approves (``approve_request``, never the creator),
``.../<id>/run/`` resumes (``run_request``), ``GET`` reads status, counts and
progress (``view_datasubjectrequest``), ``.../receipt/`` the signed receipt,
``.../export/`` the export document (``?format=csv``: a ZIP of CSVs), which is
audited as an export. Like every read view, a URL carrying an email is a 400
and unknown parameters are refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound
from rest_framework.parsers import JSONParser
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.renderers import JSONRenderer
from data_subjects import selectors, services, subject_data
from data_subjects.api import schema
from data_subjects.export import csv_bundle
from data_subjects.models import VIEW_REQUEST, DataSubjectRequest
from permissions.audit import Actor
from sessions_app.api.views import FORMAT_PARAM, ReadAPIView

VIEW_PERMISSION = f"data_subjects.{VIEW_REQUEST}"


class CanViewRequests(BasePermission):
    message = f"Data-subject requests need the '{VIEW_PERMISSION}' permission."

    def has_permission(self, request: Request, view: APIView) -> bool:
        return bool(request.user.is_authenticated and request.user.has_perm(VIEW_PERMISSION))


class RequestView(ReadAPIView):
    permission_classes = [IsAuthenticated, CanViewRequests]
    parser_classes = [JSONParser]
    query_params: tuple[str, ...] = ()

    def handle_exception(self, exc: Exception) -> Response:
        if isinstance(exc, services.RequestRefused):
            if exc.status == status.HTTP_400_BAD_REQUEST:
                body: dict[str, Any] = {"errors": [{"path": exc.path, "message": exc.message}]}
            else:
                body = {"detail": exc.message}
            return Response(body, status=exc.status)
        if isinstance(exc, DataSubjectRequest.DoesNotExist):
            exc = NotFound()
        elif isinstance(exc, services.ExportUnavailable):
            return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
        return super().handle_exception(exc)

    @property
    def actor(self) -> Actor:
        return Actor.of(self.request._request)


class RequestListView(RequestView):
    @extend_schema(
        operation_id="data_subject_requests_list",
        summary="Data-subject requests, newest first",
        responses={200: schema.DataSubjectRequestSerializer(many=True), **schema.REFUSED},
    )
    def get(self, request: Request) -> Response:
        self.split_query(request, filters_allowed=False)
        return Response([selectors.present(item) for item in selectors.request_list()[:500]])

    @extend_schema(
        operation_id="data_subject_requests_create",
        summary="Create an export, anonymisation or erasure request for one customer",
        description="Anonymise and erase wait for a second privacy officer's approval "
        "(pending_approval); an export runs right away. The answer carries a dry run: what "
        "was found per application.",
        request=schema.NewRequestSerializer,
        responses={201: schema.DataSubjectRequestSerializer, **schema.REFUSED},
    )
    def post(self, request: Request) -> Response:
        self.split_query(request, filters_allowed=False)
        new = services.parse_new_request(request.data)
        created = services.request_create(user=request.user, actor=self.actor, new=new)
        body = selectors.present(selectors.request_get(created.pk))
        return Response(body, status=status.HTTP_201_CREATED)


class RequestDetailView(RequestView):
    @extend_schema(
        operation_id="data_subject_requests_retrieve",
        summary="One request: status, counts, progress",
        responses={200: schema.DataSubjectRequestSerializer, **schema.REFUSED},
    )
    def get(self, request: Request, pk: int) -> Response:
        self.split_query(request, filters_allowed=False)
        return Response(selectors.present(selectors.request_get(pk)))


class RequestApproveView(RequestView):
    @extend_schema(
        operation_id="data_subject_requests_approve",
        summary="Approve (a second privacy officer; the creator gets 403); then it runs",
        request=None,
        responses={200: schema.DataSubjectRequestSerializer, **schema.REFUSED},
    )
    def post(self, request: Request, pk: int) -> Response:
        self.split_query(request, filters_allowed=False)
        selectors.request_get(pk)
        services.request_approve(user=request.user, actor=self.actor, request_id=pk)
        return Response(selectors.present(selectors.request_get(pk)))


class RequestRunView(RequestView):
    @extend_schema(
        operation_id="data_subject_requests_run",
        summary="Run an approved request, or resume a failed or stalled one",
        request=None,
        responses={200: schema.DataSubjectRequestSerializer, **schema.REFUSED},
    )
    def post(self, request: Request, pk: int) -> Response:
        self.split_query(request, filters_allowed=False)
        selectors.request_get(pk)
        services.request_resume(user=request.user, actor=self.actor, request_id=pk)
        return Response(selectors.present(selectors.request_get(pk)))


class RequestReceiptView(RequestView):
    @extend_schema(
        operation_id="data_subject_requests_receipt",
        summary="The signed receipt of a finished request (to hand to the customer)",
        responses={200: schema.ReceiptSerializer, **schema.REFUSED},
    )
    def get(self, request: Request, pk: int) -> Response:
        self.split_query(request, filters_allowed=False)
        selectors.request_get(pk)
        receipt = selectors.receipt_of(pk)
        if receipt is None:
            return Response(
                {"detail": "The receipt exists once the request is done."},
                status=status.HTTP_409_CONFLICT,
            )
        response = Response(receipt)
        response["Content-Disposition"] = f'attachment; filename="receipt-{pk}.json"'
        return response


class ZipRenderer(BaseRenderer):
    """``?format=csv``: the export's CSV bundle, already a ZIP archive when it gets here."""

    media_type = "application/zip"
    format = "csv"
    charset = None

    def render(
        self,
        data: Any,
        accepted_media_type: str | None = None,
        renderer_context: Mapping[str, Any] | None = None,
    ) -> bytes:
        return data if isinstance(data, bytes) else b""


class RequestExportView(RequestView):
    query_params = (FORMAT_PARAM,)
    renderer_classes = [JSONRenderer, ZipRenderer]

    def handle_exception(self, exc: Exception) -> Response:
        # Errors are JSON whatever format was asked for.
        self.request.accepted_renderer = JSONRenderer()
        self.request.accepted_media_type = JSONRenderer.media_type
        return super().handle_exception(exc)

    @extend_schema(
        operation_id="data_subject_requests_export",
        summary="The export document (kind=export); ?format=csv for a ZIP of CSVs. Audited.",
        parameters=[
            OpenApiParameter(
                FORMAT_PARAM, OpenApiTypes.STR, OpenApiParameter.QUERY, enum=["json", "csv"]
            )
        ],
        responses={
            200: schema.ExportSerializer,
            (200, "application/zip"): OpenApiResponse(OpenApiTypes.BINARY),
            **schema.REFUSED,
        },
    )
    def get(self, request: Request, pk: int) -> Response:
        self.split_query(request, filters_allowed=False)
        selectors.request_get(pk)
        doc = services.export_document(user=request.user, actor=self.actor, request_id=pk)
        if getattr(request.accepted_renderer, "format", None) == "csv":
            response = Response(csv_bundle(doc, subject_data.child_types()))
            response["Content-Disposition"] = f'attachment; filename="export-{pk}.zip"'
            return response
        response = Response(doc)
        response["Content-Disposition"] = f'attachment; filename="export-{pk}.json"'
        return response
