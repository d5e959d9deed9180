"""CSV export of a session or log page (``?format=csv`` or ``Accept: text/csv``).

The rows are exactly the JSON ``results`` (already masked by the view); the
next page's link travels in the ``Link`` header. Nested values (properties,
masked_fields) are JSON; cells that a spreadsheet would run as a formula are
prefixed with ``'`` (values such as a city come from browsers, not from us).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping
from typing import Any

from rest_framework.renderers import BaseRenderer, BrowsableAPIRenderer

from sessions_app.api.serializers import LOG_KEYS, SESSION_KEYS
from sessions_app.csv_cells import csv_cell

# The formula guard and JSON cells (sessions_app.csv_cells), shared with every CSV.
_cell = csv_cell


class SessionCSVRenderer(BaseRenderer):
    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"
    keys: tuple[str, ...] = SESSION_KEYS  # the header: the record's JSON keys, in order

    def render(
        self,
        data: Any,
        accepted_media_type: str | None = None,
        renderer_context: Mapping[str, Any] | None = None,
    ) -> bytes:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        response = (renderer_context or {}).get("response")
        if (response is not None and response.status_code >= 400) or not isinstance(data, dict):
            # Errors keep their JSON body in one cell, so nothing is lost.
            writer.writerow(["error"])
            writer.writerow([json.dumps(data, ensure_ascii=False)])
            return buffer.getvalue().encode()
        writer.writerow(self.keys)
        for row in data.get("results", []):
            writer.writerow([_cell(row[key]) for key in self.keys])
        return buffer.getvalue().encode()


class LogCSVRenderer(SessionCSVRenderer):
    keys = LOG_KEYS


class _PathOnlyRequest:
    """A request whose ``get_full_path`` leaves out the query string (for the templates)."""

    def __init__(self, request: Any) -> None:
        self._request = request

    def __getattr__(self, name: str) -> Any:
        return getattr(self._request, name)

    def get_full_path(self) -> str:
        return str(self._request.path)


class RefusalQuietBrowsableAPIRenderer(BrowsableAPIRenderer):
    """DRF's browsable API, minus the query string on the page of a refused request.

    DRF prints ``request.get_full_path()`` in the request line and the GET and
    format links. For a refused request (4xx) that repeats what was typed in
    the URL (free text, a misspelt value); a refusal page needs none of it.
    Successful pages keep the full path, so their links keep the filters.
    Emails never reach this: they are refused as JSON before rendering.
    """

    def get_filter_form(self, data: Any, view: Any, request: Any) -> str | None:
        # A view without filter backends (applications, fieldsets, me, audit)
        # has no queryset; DRF would ask for one anyway to build no form (500).
        if not getattr(view, "filter_backends", None):
            return None
        form: str | None = super().get_filter_form(data, view, request)
        return form

    def get_context(
        self, data: Any, accepted_media_type: str | None, renderer_context: Mapping[str, Any]
    ) -> dict[str, Any]:
        context: dict[str, Any] = super().get_context(data, accepted_media_type, renderer_context)
        if context["response"].status_code >= 400:
            context["request"] = _PathOnlyRequest(context["request"])
        return context
