"""The API's JSON renderer: DRF's output, written by orjson.

A page of 100 masked sessions took 0.67-0.87 ms to encode with DRF's
``JSONRenderer`` (the standard library's ``json`` plus DRF's encoder), a
tenth of the whole request; orjson writes it in 0.17-0.21 ms (measured inside
``bench/read.py``'s list requests; the list figures are in ``bench/README.md``).

The output is DRF's, byte for byte, but for the spelling of a float's exponent
(``1e-7``, not ``1e-07``: the same number): compact, UTF-8, U+2028/U+2029
escaped; values orjson does not write itself (date-times,
decimals, lazy strings, ...) go through DRF's own encoder, so a date-time still
ends in ``Z`` and has milliseconds. Anything orjson refuses (an integer
beyond 64 bits, say) and every indented rendering (``; indent=4``, the
browsable API) are left to DRF's renderer as they are. One difference: DRF
refuses NaN and infinities (a 500); orjson writes them as ``null``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from rest_framework import renderers
from rest_framework.utils.encoders import JSONEncoder

# Date-times and dataclasses through DRF's encoder (orjson has its own format
# for both); integer keys become strings, as json.dumps makes them.
_OPTIONS = (
    orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_NON_STR_KEYS
)
_LINE_SEPARATORS = ((b"\xe2\x80\xa8", b"\\u2028"), (b"\xe2\x80\xa9", b"\\u2029"))
_ENCODE_OTHER = JSONEncoder().default


class JSONRenderer(renderers.JSONRenderer):
    def render(
        self,
        data: Any,
        accepted_media_type: str | None = None,
        renderer_context: Mapping[str, Any] | None = None,
    ) -> bytes:
        context = renderer_context or {}
        stock = data is None or self.ensure_ascii or not self.compact
        if stock or self.get_indent(accepted_media_type or "", context):
            rendered: bytes = super().render(data, accepted_media_type, renderer_context)
            return rendered
        try:
            body = orjson.dumps(data, default=_ENCODE_OTHER, option=_OPTIONS)
        except orjson.JSONEncodeError:
            rendered = super().render(data, accepted_media_type, renderer_context)
            return rendered
        # JSON that is also valid JavaScript, as DRF's renderer guarantees.
        for raw, escaped in _LINE_SEPARATORS:
            if raw in body:
                body = body.replace(raw, escaped)
        return body
