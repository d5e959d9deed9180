"""One person's records in every record type of the registry: find, count, read, clear, delete.

A person is found through their sessions' blind index, under every key of the
blind-index keyring (so sessions written before a rotation are found too), in
every application. Every other record type is a child of sessions
(``RecordType.parent_column``) and goes with its session: exported with it,
cleared with it, deleted with it. A record type the registry adds later (log
records) is covered by declaring its ``parent_column``; a record type without
one stops every request here (fail closed), instead of being left behind.

What anonymising clears is the registry's too: every field not declared
``kept_when_anonymised``, and the session's blind index (``SUBJECT_KEY_COLUMN``,
the one column that finds the person from their tag; it is no registry field
because no reader ever sees it).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.db.models import Count, Model, QuerySet
from django.db.models import Field as ModelField

from fieldsets.registry import LOG, RECORD_TYPES, SESSION, RecordType
from logs.selectors import logs_of_sessions
from sessions_app import user_tags
from sessions_app.models import Application, UserSession, applications_of
from sessions_app.summaries import summaries_refresh

SUBJECT_KEY_COLUMN = "user_tag_blind_index"
# Counts per application slug and record type name: {"shop": {"session": 2, "action": 9}}.
Counts = dict[str, dict[str, int]]


def child_types() -> tuple[RecordType, ...]:
    """Every record type but sessions, in the registry's order (the export's)."""
    children = tuple(record for record in RECORD_TYPES if record is not SESSION)
    orphans = [record.name for record in children if record.parent_column is None]
    if orphans:
        raise ImproperlyConfigured(
            f"record type(s) {', '.join(orphans)} declare no parent_column: a data-subject "
            "request could not find them (fieldsets/registry.py)"
        )
    return children


def _in_link_order() -> tuple[RecordType, ...]:
    """The child types latest declared first, for changes: a later type may link to its
    session through an earlier one (log records through their actions' trace ids), so
    it is cleared or deleted while that link still exists."""
    return tuple(reversed(child_types()))


@cache
def _application_column(record: RecordType) -> str:
    """Where a child's application is: its own column, else its session's (``session__...``)."""
    names = {
        model_field.attname: model_field.name for model_field in record.model._meta.concrete_fields
    }
    if "application_id" in names:
        return "application_id"
    if record.parent_column in names:
        return f"{names[record.parent_column]}__application_id"
    raise ImproperlyConfigured(f"{record.name}: no column {record.parent_column}")


@dataclass(frozen=True)
class Subject:
    """The keyed values that find one person's sessions; never the tag itself."""

    blind_indexes: tuple[str, ...]

    @classmethod
    def of(cls, normalised_tag: str) -> Subject:
        return cls(tuple(user_tags.blind_index_candidates_for(normalised_tag)))


def sessions_of(subject: Subject) -> QuerySet[UserSession]:
    """The person's sessions in every application, each application named: the
    statement names the applications it reads (``docs/scaling.md``, "Routable by
    application"); a person is looked for in all of them, so it reads all their shards."""
    return UserSession.objects.in_every_application().filter(
        **{f"{SUBJECT_KEY_COLUMN}__in": subject.blind_indexes}
    )


# A batch of sessions as (id, application id): every statement on them or their
# children names the applications as well as the ids.
Batch = Sequence[tuple[int, int]]

# Record types linked to their session by an annotation, not a column (``parent_column``
# names the annotation): how to find their records.
_LINKED_BY_ANNOTATION: dict[str, Callable[[Batch], QuerySet[Any]]] = {LOG.name: logs_of_sessions}


def children_of(record: RecordType, batch: Batch) -> QuerySet[Model]:
    find = _LINKED_BY_ANNOTATION.get(record.name)
    if find is not None:
        return find(batch)
    # Every child type names its application (``_application_column``'s first case).
    return record.model._default_manager.filter(
        application_id__in=applications_of(batch),
        **{f"{record.parent_column}__in": [pk for pk, _ in batch]},
    )


def _plain(records: QuerySet[Model], record: RecordType, batch: Batch) -> QuerySet[Model]:
    """``records`` as a plain filter on primary keys, for ``update`` and ``delete``
    (which an annotated link cannot drive)."""
    if record.name not in _LINKED_BY_ANNOTATION:
        return records
    return record.model._default_manager.filter(
        application_id__in=applications_of(batch),
        pk__in=list(records.values_list("pk", flat=True)),
    )


def _slugs() -> dict[int, str]:
    return dict(Application.objects.values_list("id", "slug"))


def count_by_application(subject: Subject) -> Counts:
    """How many records of each type the person has, per application (the dry run)."""
    slugs = _slugs()
    counts: Counts = defaultdict(dict)
    sessions = sessions_of(subject)
    for application_id, number in (
        sessions.values_list("application_id").annotate(n=Count("id")).order_by()
    ):
        counts[slugs[application_id]][SESSION.name] = number
    batch = [(int(pk), int(app)) for pk, app in sessions.values_list("pk", "application_id")]
    for record in child_types():
        rows = (
            children_of(record, batch)
            .values_list(_application_column(record))
            .annotate(n=Count("pk"))
            .order_by()
        )
        for application_id, number in rows:
            counts[slugs[application_id]][record.name] = number
    return {slug: dict(by_type) for slug, by_type in sorted(counts.items())}


def add_counts(total: Counts, more: Counts) -> Counts:
    merged: Counts = {slug: dict(by_type) for slug, by_type in total.items()}
    for slug, by_type in more.items():
        for name, number in by_type.items():
            merged.setdefault(slug, {})
            merged[slug][name] = merged[slug].get(name, 0) + number
    return merged


def total(counts: Counts) -> int:
    return sum(number for by_type in counts.values() for number in by_type.values())


# --- batches -----------------------------------------------------------------------------


def next_batch(
    subject: Subject, *, after: int = 0, size: int, lock: bool = True
) -> list[tuple[int, int]]:
    """The next ``size`` sessions of the person as (id, application id), in id order.

    ``lock`` (inside the caller's transaction) for batches that change them.
    """
    sessions = sessions_of(subject).filter(pk__gt=after).order_by("pk")
    if lock:
        sessions = sessions.select_for_update()
    rows = sessions.values_list("pk", "application_id")[:size]
    return [(int(pk), int(application_id)) for pk, application_id in rows]


def _count_children(record: RecordType, batch: Sequence[tuple[int, int]]) -> dict[int, int]:
    """Children per application id for this batch of sessions."""
    rows = (
        children_of(record, batch)
        .values_list(_application_column(record))
        .annotate(n=Count("pk"))
        .order_by()
    )
    return {int(application_id): int(number) for application_id, number in rows}


def _batch_counts(batch: Sequence[tuple[int, int]], children: dict[str, dict[int, int]]) -> Counts:
    slugs = _slugs()
    counts: Counts = defaultdict(dict)
    for _, application_id in batch:
        slug = slugs[application_id]
        counts[slug][SESSION.name] = counts[slug].get(SESSION.name, 0) + 1
    for name, per_app in children.items():
        for application_id, number in per_app.items():
            counts[slugs[application_id]][name] = number
    return dict(counts)


@cache
def cleared_values(record: RecordType) -> dict[str, Any]:
    """Column -> value that removes it: every column of every field not kept when anonymised."""
    cleared: dict[str, Any] = {}
    for f in record.fields:
        if f.kept_when_anonymised:
            continue
        for column in (f.storage, *f.extra_columns):
            if column is None:
                continue
            model_field = record.model._meta.get_field(column)
            if not isinstance(model_field, ModelField):
                raise ImproperlyConfigured(f"{record.name}.{column} is not a column")
            cleared[column] = None if model_field.null else model_field.get_default()
    if record is SESSION:
        cleared[SUBJECT_KEY_COLUMN] = None
    return cleared


def anonymise_batch(batch: Sequence[tuple[int, int]]) -> Counts:
    """Clear what identifies the person in these sessions and their children; keep analytics."""
    children = {}
    for record in _in_link_order():
        children[record.name] = _count_children(record, batch)
        _plain(children_of(record, batch), record, batch).update(**cleared_values(record))
    UserSession.objects.keyed(batch).update(**cleared_values(SESSION))
    # The summaries carry action fields that were cleared (a failure's message).
    summaries_refresh(sessions=batch)
    return _batch_counts(batch, children)


def erase_batch(batch: Sequence[tuple[int, int]]) -> Counts:
    """Delete these sessions and every child record of them."""
    children = {}
    for record in _in_link_order():
        children[record.name] = _count_children(record, batch)
        _plain(children_of(record, batch), record, batch).delete()
    UserSession.objects.keyed(batch).delete()
    return _batch_counts(batch, children)


def read_batch(
    batch: Sequence[tuple[int, int]],
) -> tuple[list[dict[str, Any]], dict[str, dict[int, list[dict[str, Any]]]], Counts]:
    """The sessions and their children as rows of the registry's columns (for the export)."""
    sessions = list(UserSession.objects.keyed(batch).order_by("pk").values(*SESSION.columns))
    children: dict[str, dict[int, list[dict[str, Any]]]] = {}
    counts: dict[str, dict[int, int]] = {}
    for record in child_types():
        by_parent: dict[int, list[dict[str, Any]]] = defaultdict(list)
        ordering = [*(record.model._meta.ordering or []), "pk"]
        for row in children_of(record, batch).order_by(*ordering).values(*record.columns):
            by_parent[row[record.parent_column or ""]].append(row)
        children[record.name] = by_parent
        counts[record.name] = _count_children(record, batch)
    return sessions, children, _batch_counts(batch, counts)
