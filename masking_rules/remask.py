"""Re-masking of stored data: the current rules and settings applied to what was ingested.

``manage.py remask [--application SLUG] [--dry-run]`` and the admin's "Start
re-masking" run this as a background job (``jobs``, kind ``remask``). Per
application, sessions are taken in primary-key order, a batch at a time; each
batch is one transaction that locks its sessions (in ``session_id`` order, as
ingest does, so the two queue instead of deadlocking), reads them and their
actions, masks them through the very ``BatchMasker`` ingest uses (rules, then
the built-in masking and the floor), and writes only the values that change.

What it applies, never in the direction of less masking (a value already
masked stays masked: ``<masked>`` and hashes cannot be turned back):

* masking rules, and the built-in detectors per ``mask_personal_data_in_uris``;
* ``allowed_properties``: keys no longer allowed are dropped;
* ``ip_masking``: stored IPs and coordinates masked as ingest would now;
* ``user_tag_storage``: raw -> encrypted (the tag encrypted, the plaintext
  cleared), raw/encrypted -> pseudonym_only (both cleared);
* ``do_not_track`` ``anonymous``/``disable``: IP and user tag of sessions
  that asked not to be tracked are cleared.

Loosening a setting changes nothing stored. ``session_id`` is not rewritten
(it is the key re-sent beacons are merged on).

Queries per batch, whatever its size and however many rows change (a test
holds this): four reads (the batch's session ids, those sessions locked,
their actions, the rules), one UPDATE of actions per ``config.bulk.UPDATE_CHUNK``
changed ones, at most one of sessions (a batch has fewer than
``config.bulk.UPDATE_CHUNK``), where a field that summaries show changed
(a name, an error message, a product) the summaries of those sessions made
again (one read, one UPDATE: ``sessions_app.summaries``), and the job's
progress (the checkpoint); nothing per row.

Resumable: after each batch the job saves its cursor (application, last
session id); a job started again after its worker died goes on from there
(a batch may be done twice, which changes nothing: masking is idempotent).
Safe while ingest runs: a batch masked by ingest before the current rules
were read can be written after this job passed its session, so a last pass
re-masks every session written since the job started (ingest moves
``updated_at``; this job does not).
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from config.bulk import update_rows
from fieldsets.registry import ACTION, SESSION
from jobs.kinds import JobKind, register
from jobs.services import Progress
from masking_rules.engine import BatchRules, OnChange, RuleSet
from permissions.audit import Actor, audit_remask
from privacy.do_not_track import DoNotTrack
from privacy.geo import mask_geo
from privacy.ip import IpMasking, mask_ip
from privacy.properties import filter_properties
from privacy.user_tags import UserTagStorage
from sessions_app import user_tags
from sessions_app.ingest.masking import BatchMasker
from sessions_app.ingest.validation import CleanAction, CleanSession
from sessions_app.models import Application, UserAction, UserSession
from sessions_app.summaries import COLUMNS as SUMMARY_COLUMNS
from sessions_app.summaries import summaries_refresh

KIND = "remask"
BATCH_SESSIONS = 200
JOB_METHOD = "JOB"
ACTION_STRINGS = tuple(f.storage or f.name for f in ACTION.client_strings)
SESSION_STRINGS = tuple(f.storage or f.name for f in SESSION.client_strings)
_ACTION_COLUMNS = (
    "id",
    "session_id",
    "seq",
    "type",
    "timestamp",
    "duration_ms",
    "http_status",
    "product_price",
    "product_currency",
    "product_quantity",
    "product_event",
    *ACTION_STRINGS,
)
_CLEAN_ACTION_FIELDS = tuple(name for name in _ACTION_COLUMNS if name not in ("id", "session_id"))
_BEACON_FIELDS = {
    **{(f.beacon or "").replace(".", "/"): f.storage or f.name for f in ACTION.client_strings},
}


class RemaskRefused(Exception):
    pass


def remask_job(params: dict[str, Any], progress: Progress) -> dict[str, Any]:
    """The ``remask`` job (see the module docstring); returns its counts."""
    dry_run = bool(params.get("dry_run"))
    full = bool(params.get("full"))
    applications = _applications(params.get("application"))
    cursor = dict(progress.cursor)
    counts: Counter[str] = Counter(progress.counts)
    if "since" not in cursor:
        cursor["since"] = timezone.now().isoformat()
        cursor["total"] = UserAction.objects.filter(
            application__in=[app.pk for app in applications]
        ).count()
    since = datetime.fromisoformat(cursor["since"])
    done = progress.job.done
    progress.report(total=cursor["total"], cursor=cursor, force=True)
    phases = ["main", "catch-up"]
    for phase in phases[phases.index(cursor.get("phase", "main")) :]:
        for application in applications:
            if phase == cursor.get("phase") and application.pk < cursor.get("app", 0):
                continue  # done before the job was interrupted
            if (cursor.get("phase"), cursor.get("app")) != (phase, application.pk):
                cursor.update(phase=phase, app=application.pk, after=0)
            sessions = UserSession.objects.filter(application=application)
            if phase == "catch-up":
                sessions = sessions.filter(updated_at__gte=since)
            while True:
                pks = list(
                    sessions.filter(pk__gt=cursor["after"])
                    .order_by("pk")
                    .values_list("pk", flat=True)[:BATCH_SESSIONS]
                )
                if not pks:
                    break
                done += _remask_batch(application, pks, counts=counts, dry_run=dry_run, full=full)
                cursor["after"] = pks[-1]
                # Saved after every batch (one UPDATE): a resumed job redoes none.
                progress.report(done=done, counts=dict(counts), cursor=cursor, force=True)
    summary = {**counts, "dry_run": dry_run}
    if not dry_run:
        audit_remask(
            actor=Actor(
                username=progress.job.started_by,
                method=JOB_METHOD,
                path=f"{KIND} job {progress.job.pk}",
            ),
            applications=[app.slug for app in applications],
            counts=summary,
        )
    return summary


def _applications(slug: object) -> list[Application]:
    if slug is None:
        return list(Application.objects.order_by("pk"))
    applications = list(Application.objects.filter(slug=slug))
    if not applications:
        raise RemaskRefused("no application with that slug")
    return applications


def _remask_batch(
    application: Application,
    pks: list[int],
    *,
    counts: Counter[str],
    dry_run: bool,
    full: bool = False,
) -> int:
    """Re-mask one batch of sessions and their actions; returns the number of actions."""
    with transaction.atomic():
        # Every statement names the application (docs/scaling.md, "Routable by application").
        sessions = list(
            UserSession.objects.select_for_update()
            .filter(application=application, pk__in=pks)
            .order_by("session_id")
        )
        # Tuples, not model instances: building ~10 instances per session costs more
        # than masking them; instances are made only for the rows that change.
        actions = list(
            UserAction.objects.filter(application=application, session_id__in=pks)
            .order_by("session_id", "seq")
            .values_list(*_ACTION_COLUMNS)
        )
        masker = BatchMasker(application)
        personal = application.mask_personal_data_in_uris
        # Sessions masked under the current setting: their actions need the rules
        # only (the built-in masking is idempotent, and ran with this setting).
        fast = {
            session.pk for session in sessions if not full and session.masked_personal == personal
        }
        changed_actions, action_fields = _remask_actions(masker, actions, counts, fast=fast)
        changed_sessions, session_fields = _remask_sessions(masker, application, sessions, counts)
        changed_pks = {session.pk for session in changed_sessions}
        for session in sessions:
            if session.masked_personal != personal:  # all of it is masked under it now
                session.masked_personal = personal
                session_fields.add("masked_personal")
                if session.pk not in changed_pks:
                    changed_sessions.append(session)
        counts["sessions"] += len(sessions)
        counts["actions"] += len(actions)
        counts["sessions_changed"] += len(changed_sessions)
        counts["actions_changed"] += len(changed_actions)
        if not dry_run:
            if changed_actions:
                update_rows(
                    UserAction,
                    changed_actions,
                    sorted(action_fields),
                    application_id=application.pk,
                )
            if not action_fields.isdisjoint(SUMMARY_COLUMNS):
                # Their sessions' summaries show some of these: made again from what is
                # stored now (a changed URL or stack leaves them as they are).
                session_of = {action[0]: action[1] for action in actions}
                touched = sorted({session_of[pk] for pk, _ in changed_actions})
                summaries_refresh(sessions=[(pk, application.pk) for pk in touched])
            if changed_sessions:
                # updated_at is left alone: it tells ingest's writes (the catch-up pass).
                names = sorted(session_fields)
                update_rows(
                    UserSession,
                    [
                        (row.pk, {name: getattr(row, name) for name in names})
                        for row in changed_sessions
                    ],
                    names,
                    application_id=application.pk,
                )
    return len(actions)


def _remask_actions(
    masker: BatchMasker,
    actions: list[tuple[Any, ...]],
    counts: Counter[str],
    *,
    fast: set[int],
) -> tuple[list[tuple[int, dict[str, Any]]], set[str]]:
    """Actions of ``fast`` sessions pass the rules, and the built-in masking only where a
    rule changed something; the others pass everything, exactly as at ingest."""
    changed: list[tuple[int, dict[str, Any]]] = []
    fields: set[str] = set()
    events: list[tuple[str, str]] = []
    note: OnChange = lambda path, rule: events.append((path, rule.name))  # noqa: E731
    builtin = BatchMasker(masker.application, rules=BatchRules(RuleSet(())))
    for values in actions:
        row = dict(zip(_ACTION_COLUMNS, values, strict=True))
        events.clear()
        clean = CleanAction(**{name: row[name] for name in _CLEAN_ACTION_FIELDS})
        if row["session_id"] in fast:
            after_rules = masker.rules.action(clean, note)
            if after_rules is clean:
                continue
            masked = builtin.action_values(after_rules)
        else:
            masker.on_rule_change = note
            masked = masker.action_values(clean)
        row_fields = {name for name in ACTION_STRINGS if masked[name] != row[name]}
        if not row_fields:
            continue
        ruled = set()
        for path, rule_name in events:
            field_name = _field_of(path)
            if field_name in row_fields:
                counts[f"rule:{rule_name}"] += 1
                ruled.add(field_name)
        counts["built-in"] += len(row_fields - ruled)
        # Every string column: rows of one chunk are written with the same columns.
        changed.append((row["id"], {name: masked[name] for name in ACTION_STRINGS}))
        fields |= row_fields
    masker.on_rule_change = None
    return changed, fields


def _field_of(path: str) -> str | None:
    for beacon, name in _BEACON_FIELDS.items():
        if path == beacon or path.startswith(beacon + "/"):
            return name
    for f in SESSION.client_strings:
        beacon = (f.beacon or "").replace(".", "/")
        if path == beacon or path.startswith(beacon + "/"):
            return f.storage or f.name
    return None


def _remask_sessions(
    masker: BatchMasker,
    application: Application,
    sessions: list[UserSession],
    counts: Counter[str],
) -> tuple[list[UserSession], set[str]]:
    changed: list[UserSession] = []
    fields: set[str] = set()
    events: list[tuple[str, str]] = []
    masker.on_rule_change = lambda path, rule: events.append((path, rule.name))
    allowed = application.allowed_properties
    for row in sessions:
        events.clear()
        masked = masker.session(
            CleanSession(
                session_id=row.session_id,
                started_at=row.started_at,
                **{name: getattr(row, name) for name in SESSION_STRINGS},
            ),
            session_id=row.session_id,
        )
        row_fields = {
            name for name in SESSION_STRINGS if getattr(masked, name) != getattr(row, name)
        }
        ruled = set()
        for path, rule_name in events:
            field_name = _field_of(path)
            if field_name in row_fields:
                counts[f"rule:{rule_name}"] += 1
                ruled.add(field_name)
        dropped = filter_properties(row.properties, allowed=allowed).keys() != row.properties.keys()
        if "properties" in row_fields and "properties" not in ruled and dropped:
            counts["allowed_properties"] += 1
            ruled.add("properties")
        counts["built-in"] += len(row_fields - ruled)
        for name in row_fields:
            setattr(row, name, getattr(masked, name))
        row_fields |= _remask_private(application, row, counts)
        if row_fields:
            fields |= row_fields
            changed.append(row)
    masker.on_rule_change = None
    return changed, fields


def _remask_private(application: Application, row: UserSession, counts: Counter[str]) -> set[str]:
    """IP, coordinates and user tag of a stored session per the current settings."""
    changed: dict[str, Any] = {}
    anonymise = row.do_not_track and application.do_not_track in (
        DoNotTrack.ANONYMOUS,
        DoNotTrack.DISABLE,
    )
    mode = application.ip_masking
    if row.client_ip is not None:
        ip = None if anonymise else mask_ip(row.client_ip, mode=mode)
        if ip != row.client_ip:
            changed["client_ip"] = ip
            counts["do_not_track" if anonymise else "ip_masking"] += 1
    latitude, longitude = mask_geo(
        row.geo_latitude, row.geo_longitude, ip_masking=IpMasking.ALL if anonymise else mode
    )
    if (latitude, longitude) != (row.geo_latitude, row.geo_longitude):
        changed.update(geo_latitude=latitude, geo_longitude=longitude)
        counts["coordinates"] += 1
    tag_columns = ("user_tag", "user_tag_encrypted", "user_tag_blind_index", "user_id")
    if anonymise and any(getattr(row, column) is not None for column in tag_columns):
        changed.update(dict.fromkeys(tag_columns))
        counts["do_not_track"] += 1
    elif application.user_tag_storage == UserTagStorage.ENCRYPTED and row.user_tag is not None:
        changed["user_tag_encrypted"] = row.user_tag_encrypted or user_tags.encrypt(
            row.user_tag, application_id=application.pk
        )
        changed["user_tag"] = None
        counts["user_tag_storage"] += 1
    elif application.user_tag_storage == UserTagStorage.PSEUDONYM_ONLY and (
        row.user_tag is not None or row.user_tag_encrypted is not None
    ):
        changed.update(user_tag=None, user_tag_encrypted=None)
        counts["user_tag_storage"] += 1
    for name, value in changed.items():
        setattr(row, name, value)
    return set(changed)


register(
    JobKind(
        name=KIND,
        run=remask_job,
        permission="jobs.start_remask",
        label="Re-mask stored data with the current rules and settings",
    )
)
