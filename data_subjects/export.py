"""The export document: everything held about one person, in the read API's shape.

Each session is rendered like ``GET /api/v1/sessions/<id>/`` for a reader who
holds every fieldset (nothing masked, ``masked_fields`` empty, an encrypted tag
decrypted), with its child records (``actions``, and every other child record
type of the registry) under their collection paths. The CSV bundle is a ZIP
with one CSV per record type, the same columns as the API's CSV export.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections.abc import Mapping, Sequence
from typing import Any

from fieldsets.registry import SESSION, RecordType
from sessions_app import user_tags
from sessions_app.api.serializers import SESSION_KEYS, iso_datetime, layout_for
from sessions_app.csv_cells import csv_cell

FORMAT = "rumvault-data-subject-export/1"


def _values(record: RecordType, row: Mapping[str, Any]) -> dict[str, Any]:
    return record.values_of(row)


def render_session(
    row: Mapping[str, Any],
    *,
    slug: str,
    children: Mapping[RecordType, Sequence[Mapping[str, Any]]],
) -> dict[str, Any]:
    values = _values(SESSION, row)
    values["application"] = slug
    if values["user_tag"] is None and row.get("user_tag_encrypted"):
        try:
            values["user_tag"] = user_tags.decrypt(
                row["user_tag_encrypted"], application_id=row["application_id"]
            )
        except (ValueError, KeyError):
            values["user_tag"] = None  # a retired key: nothing readable is held
    rendered = layout_for(SESSION).render(values, [])
    for record, rows in children.items():
        layout = layout_for(record)
        items = []
        for child in rows:
            child_values = _values(record, child)
            if record.has("application"):  # a log record names its application, by slug
                child_values["application"] = slug
            items.append(layout.render(child_values, []))
        rendered[record.collection_path or record.name] = items
    return rendered


def document(
    *,
    request_id: int,
    ticket: str,
    generated_at: Any,
    counts: Mapping[str, Any],
    sessions: list[dict[str, Any]],
) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "request": {"id": request_id, "ticket": ticket},
        "generated_at": iso_datetime(generated_at),
        "counts": counts,
        "sessions": sessions,
    }


def csv_bundle(doc: Mapping[str, Any], child_types: tuple[RecordType, ...]) -> bytes:
    """A ZIP: ``sessions.csv`` plus one CSV per child record type (with the session's id)."""
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
        bundle.writestr("sessions.csv", _csv(SESSION_KEYS, doc["sessions"]))
        for record in child_types:
            key = record.collection_path or record.name
            rows = [
                {"session": session["id"], **child}
                for session in doc["sessions"]
                for child in session.get(key, [])
            ]
            columns = ("session", *(rows[0].keys() if rows else _keys(record)))
            bundle.writestr(f"{key}.csv", _csv(tuple(dict.fromkeys(columns)), rows))
        bundle.writestr("export.json", json.dumps(doc, ensure_ascii=False, indent=1))
    return archive.getvalue()


def _keys(record: RecordType) -> tuple[str, ...]:
    return tuple(layout_for(record).render(dict.fromkeys(f.name for f in record.fields), []))


def _csv(columns: tuple[str, ...], rows: Sequence[Mapping[str, Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([csv_cell(row.get(column)) for column in columns])
    return buffer.getvalue()
