"""Keyset cursor pagination over (sort key, id).

DRF's ``CursorPagination`` keys on one field and resolves ties with an offset
capped at 1000, so ``ordering=error_count`` (mostly zeros) would repeat pages.
This class keys on the queryset's own ``order_by`` - exactly two terms, the
second being ``id`` in the same direction - so every position is unique and
each page is one indexed range query, whatever its depth.

The cursor is opaque base64 JSON ``{"o": ordering, "r": reverse, "v": value,
"i": id}``; a cursor made for another ordering is refused (400).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from django.core.exceptions import FieldDoesNotExist
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import DateTimeField, Q, QuerySet
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import BasePagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param
from rest_framework.views import APIView

CURSOR_PARAM = "cursor"
PAGE_SIZE_PARAM = "page_size"
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500


def _value_of(row: Any, name: str) -> Any:
    return row[name] if isinstance(row, dict) else getattr(row, name)


def _jsonable(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


class KeysetCursorPagination(BasePagination):
    page_size = DEFAULT_PAGE_SIZE
    max_page_size = MAX_PAGE_SIZE

    def get_page_size(self, request: Request) -> int:
        text = request.query_params.get(PAGE_SIZE_PARAM)
        if text is None:
            return self.page_size
        if not text.isdigit() or not 1 <= int(text) <= self.max_page_size:
            raise ValidationError(
                {PAGE_SIZE_PARAM: f"Give a whole number from 1 to {self.max_page_size}."}
            )
        return int(text)

    # Narrower than BasePagination's (a queryset or a sequence): keyset pages
    # need the queryset's own order_by, which a list does not have.
    def paginate_queryset(  # type: ignore[override]
        self, queryset: QuerySet[Any, Any], request: Request, view: APIView | None = None
    ) -> list[Any]:
        self.request = request
        size = self.get_page_size(request)
        ordering = tuple(queryset.query.order_by)
        key, tie = ordering if len(ordering) == 2 else (None, None)
        # Field names only: an expression (F("x").desc()) has no name to put in a cursor.
        if not isinstance(key, str) or not isinstance(tie, str) or tie.lstrip("-") != "id":
            raise ValueError(f"keyset pagination needs order_by(key, id), got {ordering!r}")
        self.ordering, self.key = key, key.lstrip("-")
        try:
            field = queryset.model._meta.get_field(self.key)
        except FieldDoesNotExist:  # an annotation such as duration_sort: an integer
            field = None
        self.key_is_datetime = isinstance(field, DateTimeField)
        descending = self.ordering.startswith("-")
        cursor = self._decode(request)
        reverse = bool(cursor and cursor["r"])
        if cursor is not None:
            try:
                value = self._cursor_value(cursor["v"])
            except (DjangoValidationError, ValueError, TypeError, OverflowError):
                # A tampered cursor value of the wrong type for the sort key.
                raise ValidationError({CURSOR_PARAM: "Invalid cursor."}) from None
            queryset = self._after(
                queryset, {**cursor, "v": value}, descending=descending, reverse=reverse
            )
        rows = list(queryset[: size + 1])
        more = len(rows) > size
        rows = rows[:size]
        if reverse:
            rows.reverse()
            self.has_next, self.has_previous = True, more
        else:
            self.has_next, self.has_previous = more, cursor is not None
        self.page = rows
        return rows

    def _cursor_value(self, value: Any) -> Any:
        """The cursor's sort-key value in the type the database expects.

        A date-time key (``started_at``, the audit trail's ``created_at``)
        becomes an aware UTC datetime (PostgreSQL refuses offsets Python
        accepts); the other keys (``error_count``, ``duration_sort``) are integers.
        """
        if self.key_is_datetime:
            if not isinstance(value, str):
                raise TypeError("a date-time cursor holds an ISO date-time")
            parsed = datetime.fromisoformat(value)
            if parsed.tzinfo is None:
                raise ValueError("a started_at cursor holds an aware date-time")
            return parsed.astimezone(UTC)
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError("an integer sort key needs an integer cursor")
        return value

    def _after(
        self, queryset: QuerySet[Any], cursor: dict[str, Any], *, descending: bool, reverse: bool
    ) -> QuerySet[Any]:
        """Rows beyond the cursor row: before it in list order going back, after it going on."""
        lookup = "lt" if descending != reverse else "gt"
        position = Q(**{f"{self.key}__{lookup}": cursor["v"]}) | Q(
            **{self.key: cursor["v"], f"id__{lookup}": cursor["i"]}
        )
        queryset = queryset.filter(position)
        return queryset.reverse() if reverse else queryset

    def _decode(self, request: Request) -> dict[str, Any] | None:
        encoded = request.query_params.get(CURSOR_PARAM)
        if encoded is None:
            return None
        try:
            cursor = json.loads(base64.urlsafe_b64decode(encoded.encode("ascii")))
        except (ValueError, UnicodeError, binascii.Error):
            cursor = None
        if not (
            isinstance(cursor, dict)
            and cursor.get("o") == self.ordering
            and isinstance(cursor.get("r"), bool)
            and isinstance(cursor.get("v"), (str, int, float))
            and isinstance(cursor.get("i"), int)
        ):
            raise ValidationError({CURSOR_PARAM: "Invalid cursor."})
        return cursor

    def _link(self, row: Any, *, reverse: bool) -> str:
        cursor = {
            "o": self.ordering,
            "r": reverse,
            "v": _jsonable(_value_of(row, self.key)),
            "i": _value_of(row, "id"),
        }
        encoded = base64.urlsafe_b64encode(json.dumps(cursor).encode()).decode("ascii")
        return replace_query_param(self.request.build_absolute_uri(), CURSOR_PARAM, encoded)

    def get_next_link(self) -> str | None:
        if not self.has_next:
            return None
        if not self.page:  # went back past the start: the next page is the first one
            return remove_query_param(self.request.build_absolute_uri(), CURSOR_PARAM)
        return self._link(self.page[-1], reverse=False)

    def get_previous_link(self) -> str | None:
        if not self.has_previous:
            return None
        if not self.page:
            return None
        return self._link(self.page[0], reverse=True)

    def get_paginated_response(self, data: Sequence[Any]) -> Response:
        return Response(
            {"next": self.get_next_link(), "previous": self.get_previous_link(), "results": data}
        )

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        link = {"type": "string", "format": "uri", "nullable": True}
        return {
            "type": "object",
            "required": ["next", "previous", "results"],
            "properties": {"next": link, "previous": link, "results": schema},
        }

    def get_schema_operation_parameters(self, view: APIView) -> list[dict[str, Any]]:
        return [
            {
                "name": CURSOR_PARAM,
                "in": "query",
                "required": False,
                "description": "Opaque position from a previous page's next/previous link.",
                "schema": {"type": "string"},
            },
            {
                "name": PAGE_SIZE_PARAM,
                "in": "query",
                "required": False,
                "description": f"Rows per page, 1-{MAX_PAGE_SIZE} (default {DEFAULT_PAGE_SIZE}).",
                "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE},
            },
        ]
