"""At-ingest masking of a batch of log records: the same masking as beacons.

Built on ``sessions_app.ingest.masking.BatchMasker`` (one per batch, with its
memo): every string passes the built-in detectors after Unicode
normalisation (``privacy.detectors.mask_text``; cards, IBANs and JWTs
whatever the application's settings, the payment-data floor), keys of
attributes and resource attributes too; keys in the credential vocabulary
(``privacy.credentials``) are dropped with their values at any depth; the
``session_id`` attribute is stored the way the session stores it
(``privacy.session_ids``), so the two meet.

Masking rules hook in at ``LogMasker.value``: every log string goes through
that one method with its registry path (``logs.body``,
``logs.attributes.<key>``, ``logs.resource.<key>``, ``logs.service``,
``logs.host``, ``logs.host_group``, ``logs.severity_text``), rules first
(the environment's and the application's stored rules, ``masking_rules.engine``, or
a ``rules`` hook given by the caller: ``(path, text) -> text``, or ``None`` to
remove the value), then the built-in detectors, so a rule can never undo the floor.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from fieldsets.registry import LOG
from logs.ingest.records import IncomingLog
from logs.models import LogRecord
from sessions_app.ingest.masking import BatchMasker
from sessions_app.models import Application, UserSession

# (registry path, text) -> the text to keep, or None to remove the value.
RuleHook = Callable[[str, str], str | None]

_NAME_MAX_LENGTH = LogRecord._meta.get_field("service_name").max_length or 200
_LEVEL_MAX_LENGTH = LogRecord._meta.get_field("severity_text").max_length or 32


class LogMasker:
    def __init__(self, application: Application, *, rules: RuleHook | None = None) -> None:
        self.application = application
        self.batch = BatchMasker(application)
        if rules is None and self.batch.rules.ruleset.has_rules_for(LOG):
            stored = self.batch.rules

            def rules(path: str, text: str) -> str | None:
                return stored.text_at(LOG, path, text)

        # None: no rule selects a log field (most batches): the built-in masking only.
        self.rules = rules

    # --- the one call site every log string goes through ------------------------
    def value(self, path: str, text: str) -> str | None:
        if not text:
            return text
        if self.rules is not None:
            ruled = self.rules(path, text)
            if ruled is None:
                return None
            text = ruled
        return self.batch.text(text)

    # --- structure ---------------------------------------------------------------
    def tree(self, path: str, value: Any) -> Any:
        """A JSON value below ``path``: strings masked, keys masked, credentials dropped."""
        if isinstance(value, str):
            return self.value(path, value)
        if isinstance(value, Mapping):
            return self._object(value.items(), lambda key: path)
        if isinstance(value, list | tuple):
            return [self.tree(path, item) for item in value]
        return value

    def attributes(self, prefix: str, values: Mapping[str, Any]) -> dict[str, Any]:
        """Attributes: each top-level key's values under its own path (``prefix.<key>``)."""
        return self._object(values.items(), lambda key: f"{prefix}.{key}")

    def _object(
        self, items: Iterable[tuple[str, Any]], path_of: Callable[[str], str]
    ) -> dict[str, Any]:
        masked: dict[str, Any] = {}
        for key, value in items:
            if self.batch.is_credential(key):
                continue
            new_key = self.batch.text(key)
            while new_key in masked:  # two keys masked alike keep both values
                new_key += "'"
            shown = self.tree(path_of(key), value)
            if shown is not None or value is None:  # None from a rule: removed
                masked[new_key] = shown
        return masked

    def name(self, path: str, value: str, limit: int = _NAME_MAX_LENGTH) -> str:
        # A mask can be longer than what it replaced; the column is not.
        return (self.value(path, value) or "")[:limit]

    # --- one record ----------------------------------------------------------------
    def body(self, body: Any) -> str:
        if isinstance(body, str):
            return self.value("logs.body", body) or ""
        if body is None:
            return ""
        # A structured body: masked as a tree (credential keys dropped), stored as JSON.
        return json.dumps(self.tree("logs.body", body), ensure_ascii=False, sort_keys=True)

    def record(self, incoming: IncomingLog, *, session_ref: str | None) -> LogRecord:
        return LogRecord(
            application=self.application,
            time=incoming.time,
            observed_time=incoming.observed_time,
            severity_number=incoming.severity_number,
            severity_text=self.name(
                "logs.severity_text", incoming.severity_text, _LEVEL_MAX_LENGTH
            ),
            body=self.body(incoming.body),
            attributes=self.attributes("logs.attributes", incoming.attributes),
            resource=self.attributes("logs.resource", incoming.resource),
            service_name=self.name("logs.service", incoming.service),
            host_name=self.name("logs.host", incoming.host),
            host_group=self.name("logs.host_group", incoming.host_group),
            trace_id=self.batch.hex_id(incoming.trace_id),
            span_id=self.batch.hex_id(incoming.span_id),
            session_ref=session_ref,
        )

    def session_refs(self, session_ids: Iterable[str]) -> dict[str, str]:
        """The stored form of each client session id, as ``UserSession.session_id`` has it.

        An id with personal data is a keyed digest; one already stored under an
        older key's digest keeps that one (one query for the batch).
        """
        forms = {sid: self.batch.session_ids(sid) for sid in set(session_ids)}
        older = {form: sid for sid, (_, *rest) in forms.items() for form in rest}
        refs = {sid: stored for sid, (stored, *_) in forms.items()}
        if older:
            found = UserSession.objects.filter(
                application=self.application, session_id__in=list(older)
            ).values_list("session_id", flat=True)
            for form in found:
                refs[older[form]] = form
        return refs
