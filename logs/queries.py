"""The edge of the log read path: request parameters in, a typed ``LogQuery`` out.

The rules of ``sessions_app.queries`` in the same order, over log paths
(``logs.<name>``): names in one spelling, a name touching a hidden field is a
403 naming it, an unknown name a 400 listing the allowed ones, values
validated by ``LogFilterSet``'s form, nothing echoed.

Applications whose fieldsets hide the log records themselves (the ``logs``
collection) are out of a query's scope: asking for one by name is a 403
naming ``logs``; without an ``application`` filter they are simply not read.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError

from fieldsets.registry import LOG, fields_referenced_by
from logs.filters import LOG_FILTER_FIELDS, LogFilterSet
from permissions.policy import FieldsetPolicy, HiddenFieldLookup
from sessions_app.queries import (
    UnknownFilters,
    application_scope,
    canonical_parameters,
)

LOG_FILTERS: tuple[str, ...] = tuple(LogFilterSet.base_filters)


@dataclass(frozen=True, kw_only=True)
class LogQuery:
    """Which log records a read asks for: cleaned filter values and the applications read."""

    filters: Mapping[str, Any] = field(default_factory=dict)
    application_ids: tuple[int, ...] = ()


def log_scope(policy: FieldsetPolicy, slug: str | None) -> list[int]:
    """Readable applications of the query whose log records are not hidden as a whole."""
    scope = application_scope(policy, slug)
    visible = [app_id for app_id in scope if not policy.collection_hidden(LOG, app_id)]
    if slug is not None and policy.application_by_slug(slug) is not None and not visible:
        raise HiddenFieldLookup(LOG.collection_path or LOG.name)
    return visible


def parse_log_query(params: Mapping[str, Any], *, policy: FieldsetPolicy) -> LogQuery:
    """Validate filter parameters (names and values) into a ``LogQuery``.

    Raises ``HiddenFieldLookup`` (403), ``RepeatedParameter``,
    ``UnknownFilters`` or ``ValidationError`` (400).
    """
    params = canonical_parameters(params.items())
    slug = params.get("application")
    scope = log_scope(policy, slug if isinstance(slug, str) else None)
    unknown = False
    for name in params:
        # "body", "attributes__order_id": the log record's fields, by their registry paths.
        for path in fields_referenced_by(LOG.prefix + name):
            # The bare "logs" is what an unknown name resolves to; the scope already
            # left out applications hiding the collection.
            if path != LOG.collection_path:
                policy.check_lookup(path, scope)
        # A filter reading a hidden field under another name (severity: severity_number).
        reads = LOG_FILTER_FIELDS.get(name)
        if reads is not None:
            policy.check_lookup(reads, scope)
        unknown = unknown or name not in LOG_FILTERS
    if unknown:
        raise UnknownFilters(LOG_FILTERS)
    cleaned: dict[str, Any] = {}
    if params:
        form = LogFilterSet(params, policy=policy).form
        if not form.is_valid():
            raise ValidationError(form.errors)
        cleaned = {
            name: value
            for name, value in form.cleaned_data.items()
            if name in params and value is not None and value != ""
        }
    return LogQuery(filters=cleaned, application_ids=tuple(scope))
