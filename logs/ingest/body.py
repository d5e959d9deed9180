"""Reading an ingest body: size limit before and after decompression, gzip accepted.

``Content-Length`` over the limit is refused before a byte is read; the bytes
actually read are bounded too, and a gzip body is inflated only up to the
limit (a small bomb cannot grow into memory).
"""

from __future__ import annotations

import zlib

from django.http import HttpRequest


class BodyRefused(Exception):
    """The body cannot be read as sent; ``status`` (400, 413, 415) and a safe message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def read_body(request: HttpRequest, *, limit: int) -> bytes:
    too_large = BodyRefused(413, f"The body must be at most {limit} bytes.")
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise BodyRefused(400, "Content-Length must be an integer.") from None
    if declared > limit:
        raise too_large
    body = request.read(limit + 1)
    if len(body) > limit:
        raise too_large
    encoding = request.headers.get("Content-Encoding", "").strip().lower()
    if encoding in ("", "identity"):
        return body
    if encoding != "gzip":
        raise BodyRefused(415, "Content-Encoding must be gzip or none.")
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        inflated = inflater.decompress(body, limit + 1)
    except zlib.error:
        raise BodyRefused(400, "The body is not valid gzip.") from None
    if len(inflated) > limit or inflater.unconsumed_tail:
        raise too_large
    if not inflater.eof:
        raise BodyRefused(400, "The body is not valid gzip.")
    return inflated
