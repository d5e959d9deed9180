"""CSV export of a session page (``?format=csv`` or ``Accept: text/csv``).

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

from rest_framework.renderers import BaseRenderer

from sessions_app.api.serializers import SESSION_KEYS

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True, ensure_ascii=False)
    text = str(value)
    if text.startswith(_FORMULA_START) and not isinstance(value, (int, float)):
        return "'" + text
    return text


class SessionCSVRenderer(BaseRenderer):
    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

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
        writer.writerow(SESSION_KEYS)
        for row in data.get("results", []):
            writer.writerow([_cell(row[key]) for key in SESSION_KEYS])
        return buffer.getvalue().encode()
