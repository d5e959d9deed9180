"""Record ids as a client may name them in a query string or a form.

Every table's primary key is a ``BigAutoField``: a signed 64-bit integer on
both databases. A larger number is no id; SQLite refuses to even compare it
(``OverflowError``, a 500 found by the schema fuzzer on ``GET
/api/v1/audit/?session=``), so it is refused at the edge with a 400 like any
other bad value.
"""

from __future__ import annotations

from typing import Any

import django_filters
from django import forms

MAX_RECORD_ID = 2**63 - 1


class RecordIdField(forms.IntegerField):
    """A whole number from 1 to ``MAX_RECORD_ID`` (Django's own messages, no value echoed)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_RECORD_ID)
        super().__init__(**kwargs)


class RecordIdFilter(django_filters.Filter):
    """A filter on a record id (django-filter's ``NumberFilter`` takes decimals)."""

    field_class = RecordIdField
