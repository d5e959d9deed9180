"""Preview: what ingest would store for a sample beacon (or one string), and which rule
changed what. Nothing is stored: the same validation, rules and built-in masking as
``session_ingest`` run, and the result is rendered back in the beacon's shape.

Each change is ``{"path": <JSON pointer into the beacon>, "rule": <name> | null,
"step": "environment rules" | "application rules" | "built-in"}``; the built-in
masking (detectors per the settings, the payment-data floor, credentials, IP and
coordinate masking, the session-id digest) has no rule name.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from fieldsets.registry import ACTION, LOG, SESSION, RuleTarget, rule_targets
from masking_rules.engine import (
    BatchRules,
    CompiledRule,
    RuleSet,
    RuleSpec,
    ruleset_for,
    ruleset_of,
)
from privacy.do_not_track import apply_do_not_track
from sessions_app.ingest.masking import BatchMasker
from sessions_app.ingest.session_rows import new_session
from sessions_app.ingest.validation import BeaconInvalid, CleanAction, CleanSession, validate_beacon
from sessions_app.models import Application
from sessions_app.services import ingest_limits

BUILT_IN = "built-in"


class PreviewInvalid(Exception):
    def __init__(self, errors: list[dict[str, str]]) -> None:
        super().__init__(f"{len(errors)} error(s)")
        self.errors = errors


def _rules(application: Application, specs: list[RuleSpec] | None) -> RuleSet:
    return ruleset_for(application) if specs is None else ruleset_of(specs, application=application)


def preview_beacon(
    *, application: Application, beacon: object, specs: list[RuleSpec] | None = None
) -> dict[str, Any]:
    """``{"beacon": masked | None, "changes": [...], "discarded": bool}``."""
    try:
        clean = validate_beacon({"sessions": [beacon]}, limits=ingest_limits())[0]
    except BeaconInvalid as invalid:
        raise PreviewInvalid(
            [
                {**error, "path": "/beacon" + error["path"].removeprefix("/sessions/0")}
                for error in invalid.errors
            ]
        ) from None
    if apply_do_not_track(
        mode=application.do_not_track, requested=clean.do_not_track
    ).discard_session:
        return {"beacon": None, "changes": [], "discarded": True}
    changes: list[dict[str, Any]] = []
    rules = _rules(application, specs).batch()

    def collector(prefix: str) -> Any:
        def note(path: str, rule: CompiledRule) -> None:
            changes.append({"path": f"{prefix}/{path}", "rule": rule.name, "step": rule.step})

        return note

    ruled_session = rules.session(clean, collector(""))
    ruled_actions = [
        rules.action(action, collector(f"/actions/{index}"))
        for index, action in enumerate(clean.actions)
    ]
    ruled = _render(ruled_session, ruled_actions, application=None)
    # The built-in masking, on what the rules left (no rules a second time).
    masker = BatchMasker(application, rules=BatchRules(RuleSet(())))
    stored_id = masker.session_ids(clean.session_id)[0]
    final_session = masker.session(ruled_session, session_id=stored_id)
    final_actions = [masker.action(action) for action in ruled_actions]
    final = _render(final_session, final_actions, application=application)
    changes += [{"path": path, "rule": None, "step": BUILT_IN} for path in _diff(ruled, final)]
    return {"beacon": final, "changes": changes, "discarded": False}


def preview_text(
    *, application: Application, path: str, text: str, specs: list[RuleSpec] | None = None
) -> dict[str, Any]:
    """One string as if sent in the field ``path`` names (``actions.error_message``,
    ``properties.street``): ``{"text": masked | None (removed), "changes": [...]}``."""
    target = _single_target(path)
    record_type = target.record
    if record_type is LOG:
        return _preview_log_text(application=application, path=path, text=text, specs=specs)
    storage = target.field.storage or target.field.name
    value: Any = {target.key: text} if target.key is not None else text
    if record_type is ACTION:
        record: CleanSession | CleanAction = CleanAction(
            seq=0, type="custom", timestamp=datetime.now(UTC), **{storage: value}
        )
    else:
        allowed = [target.key] if target.key is not None else []
        application = _allowing(application, allowed)
        record = CleanSession(session_id="preview", started_at=datetime.now(UTC),
                              **{storage: value})  # fmt: skip
    changes: list[dict[str, Any]] = []
    rules = _rules(application, specs).batch()

    def note(_path: str, rule: CompiledRule) -> None:
        changes.append({"path": "", "rule": rule.name, "step": rule.step})

    masker = BatchMasker(application, rules=BatchRules(RuleSet(())))
    if isinstance(record, CleanAction):
        ruled_value = getattr(rules.action(record, note), storage)
        final_value = getattr(masker.action(rules.action(record)), storage)
    else:
        ruled_value = getattr(rules.session(record, note), storage)
        final_value = getattr(masker.session(rules.session(record), session_id="preview"), storage)
    if target.key is not None:
        ruled_value = ruled_value.get(target.key) if isinstance(ruled_value, dict) else None
        final_value = final_value.get(target.key) if isinstance(final_value, dict) else None
    if final_value != ruled_value:
        changes.append({"path": "", "rule": None, "step": BUILT_IN})
    return {"text": final_value if final_value != "" or text == "" else None, "changes": changes}


def _preview_log_text(
    *, application: Application, path: str, text: str, specs: list[RuleSpec] | None
) -> dict[str, Any]:
    """A log string: the rules at its path, then the built-in masking (``LogMasker.value``)."""
    changes: list[dict[str, Any]] = []

    def note(_path: str, rule: CompiledRule) -> None:
        changes.append({"path": "", "rule": rule.name, "step": rule.step})

    ruled = _rules(application, specs).batch().text_at(LOG, path, text, note)
    if ruled is None:
        return {"text": None, "changes": changes}
    final = BatchMasker(application, rules=BatchRules(RuleSet(()))).text(ruled)
    if final != ruled:
        changes.append({"path": "", "rule": None, "step": BUILT_IN})
    return {"text": final, "changes": changes}


def _allowing(application: Application, keys: list[str]) -> Application:
    """A copy of ``application`` that keeps ``keys`` as properties (a text preview of
    ``properties.<key>`` shows the masking, not the allow-list)."""
    copy = Application(pk=application.pk, slug=application.slug)
    for setting_field in (
        f for f in Application._meta.concrete_fields if f.name.endswith("_override")
    ):
        setattr(copy, setting_field.attname, getattr(application, setting_field.attname))
    copy.allowed_properties = [*application.allowed_properties, *keys]
    return copy


def _single_target(path: str) -> RuleTarget:
    targets = rule_targets(path)
    if len(targets) != 1:
        from fieldsets.registry import SelectorInvalid

        raise SelectorInvalid("name one field (or one key of an object), not a glob")
    return targets[0]


# --- rendering in the beacon's shape ----------------------------------------------------


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat().replace("+00:00", "Z")


def _render(
    session: CleanSession, actions: list[Any], *, application: Application | None
) -> dict[str, Any]:
    """The beacon as stored (with ``application``: IP, coordinates and tag per its settings)."""
    rendered: dict[str, Any] = {
        "session_id": session.session_id,
        "started_at": _iso(session.started_at),
        "ended_at": _iso(session.ended_at),
        "user_tag": session.user_tag,
        "client_ip": session.client_ip,
        "do_not_track": session.do_not_track,
        "geo": {
            "country": session.country,
            "city": session.city,
            "latitude": session.latitude,
            "longitude": session.longitude,
        },
        "browser": session.browser,
        "os": session.os,
        "device": session.device,
        "properties": session.properties,
        "actions": [_render_action(action) for action in actions],
    }
    if application is not None:
        row = new_session(replace(session, actions=[]), [], application=application)
        rendered["user_tag"] = row.user_tag
        rendered["client_ip"] = row.client_ip
        rendered["geo"]["latitude"] = row.geo_latitude
        rendered["geo"]["longitude"] = row.geo_longitude
    return rendered


def _render_action(action: Any) -> dict[str, Any]:
    rendered: dict[str, Any] = {
        "seq": action.seq,
        "type": action.type,
        "name": action.name,
        "url": action.url,
        "timestamp": _iso(action.timestamp),
        "duration_ms": action.duration_ms,
        "http_status": action.http_status,
        "error": {"message": action.error_message, "stack": action.error_stack},
        "headers": action.headers,
        "request_attributes": action.request_attributes,
    }
    if action.product_event:
        price = action.product_price
        rendered["product"] = {
            "sku": action.product_sku,
            "name": action.product_name,
            "price": None if price is None else str(Decimal(price)),
            "currency": action.product_currency,
            "quantity": action.product_quantity,
            "event": action.product_event,
        }
    return rendered


def _diff(before: Any, after: Any, path: str = "") -> list[str]:
    """JSON pointers of the leaves that differ (a key only on one side counts)."""
    if isinstance(before, dict) and isinstance(after, dict):
        found: list[str] = []
        for key in [*before, *(k for k in after if k not in before)]:
            pointer = f"{path}/{str(key).replace('~', '~0').replace('/', '~1')}"
            if key not in before or key not in after:
                found.append(pointer)
            else:
                found += _diff(before[key], after[key], pointer)
        return found
    if isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        return [
            p
            for i, (b, a) in enumerate(zip(before, after, strict=True))
            for p in _diff(b, a, f"{path}/{i}")
        ]
    return [] if before == after else [path]


__all__ = ["BUILT_IN", "SESSION", "PreviewInvalid", "preview_beacon", "preview_text"]
