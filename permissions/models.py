"""Grants (django-guardian object permissions on Application) and the audit trail.

Two kinds of permission live on ``sessions_app.Application``:

* ``sessions_app.read_sessions`` - record access: the principal may read the
  application's sessions at all;
* ``sessions_app.reveal_<fieldset>`` - one per fieldset (created with it,
  see ``fieldsets.models``): the fieldset's fields are shown, not masked.

``sessions_app.partial_reveal_<fieldset>`` is the *partial* grant of a
fieldset: its fields are shown in their partial forms. A ``RevealWindow`` is a
principal's reveal of one session with a reason, for a limited time: where an
application sets ``reveal_requires_reason``, fieldset values stay masked
without one.

A grant for one application is a row in the direct-foreign-key guardian models
below (a real FK join instead of guardian's generic ``object_pk`` text column).
A grant for every application, including future ones, is the same permission
held at model level (``User.user_permissions`` / ``Group.permissions``).
``docs/permissions.md`` explains the choice.
"""

from __future__ import annotations

from typing import Any, NoReturn

from django.conf import settings
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils import timezone
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

from sessions_app.models import Application

READ_SESSIONS = "read_sessions"


def read_sessions_permission() -> Permission:
    """``sessions_app.read_sessions``; created on first use (Application is not our model)."""
    permission, _ = Permission.objects.get_or_create(
        content_type=ContentType.objects.get_for_model(Application),
        codename=READ_SESSIONS,
        defaults={"name": "Can read sessions"},
    )
    return permission


class ApplicationUserObjectPermission(UserObjectPermissionBase):
    # guardian finds direct-FK models by this attribute name.
    content_object = models.ForeignKey(Application, on_delete=models.CASCADE)

    class Meta(UserObjectPermissionBase.Meta):
        verbose_name = "user grant on an application"
        verbose_name_plural = "user grants on applications"


class ApplicationGroupObjectPermission(GroupObjectPermissionBase):
    content_object = models.ForeignKey(Application, on_delete=models.CASCADE)

    class Meta(GroupObjectPermissionBase.Meta):
        verbose_name = "group grant on an application"
        verbose_name_plural = "group grants on applications"


class AppendOnlyError(Exception):
    """Audit records are never changed or deleted."""


class AuditKind(models.TextChoices):
    REVEAL = "reveal", "Revealed fieldset values"
    SEARCH = "search", "User-tag search"
    EXPORT = "export", "Export that revealed fieldset values"
    SETTINGS_CHANGE = "settings_change", "Changed an application's privacy settings"
    GRANT_CHANGE = "grant_change", "Changed a grant, permission or group membership"
    FIELDSET_CHANGE = "fieldset_change", "Created, changed or deleted a fieldset"
    RULES_CHANGE = "rules_change", "Changed masking rules"
    REMASK = "remask", "Re-masked stored data"
    REQUEST_CREATE = "request_create", "Created a data-subject request"
    REQUEST_APPROVE = "request_approve", "Approved a data-subject request"
    REQUEST_RUN = "request_run", "Ran a data-subject request"
    KEY_ROTATION = "key_rotation", "Rotated a keyring"
    RETENTION = "retention", "Purged data past its retention"


# Changes of what rumvault reveals, to whom and how: the console's "history".
CHANGE_KINDS: tuple[str, ...] = (
    AuditKind.SETTINGS_CHANGE,
    AuditKind.GRANT_CHANGE,
    AuditKind.FIELDSET_CHANGE,
    AuditKind.RULES_CHANGE,
)


# What an audit record shows, in reading order (admin and API alike).
AUDIT_RECORD_FIELDS: tuple[str, ...] = (
    "created_at",
    "username",
    "kind",
    "method",
    "path",
    "applications",
    "session_ids",
    "log_ids",
    "fieldsets",
    "partial_fieldsets",
    "reason",
    "search_tag_hash",
    "changes",
)
REASON_MAX_LENGTH = 500
# The chain columns (``permissions.chain``), shown after the record itself.
AUDIT_CHAIN_FIELDS: tuple[str, ...] = ("seq", "prev_hash", "hash", "seal")


class AuditRecordQuerySet(models.QuerySet["AuditRecord"]):
    # Bulk paths bypass Model.save/delete; they refuse too.
    def update(self, **kwargs: Any) -> NoReturn:
        raise AppendOnlyError("audit records are append-only")

    def delete(self) -> NoReturn:
        raise AppendOnlyError("audit records are append-only")

    def bulk_update(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise AppendOnlyError("audit records are append-only")

    def bulk_create(self, *args: Any, **kwargs: Any) -> NoReturn:
        # Every record must be chained: ``permissions.chain.chain_append_many``.
        raise AppendOnlyError("audit records are appended through permissions.chain")


class AuditRecord(models.Model):
    """Who saw which personal data, or searched for whom (by keyed hash), when and where."""

    created_at = models.DateTimeField(default=timezone.now, editable=False, db_index=True)
    # The username, not a foreign key: the record must outlive the account.
    username = models.CharField(max_length=150, editable=False)
    kind = models.CharField(max_length=16, choices=AuditKind, editable=False)
    method = models.CharField(max_length=10, editable=False)
    # request.path only: no query string. A user tag is never accepted in a URL.
    path = models.CharField(max_length=2048, editable=False)
    applications = models.JSONField(default=list, editable=False)  # slugs
    session_ids = models.JSONField(default=list, editable=False)  # UserSession primary keys
    log_ids = models.JSONField(default=list, editable=False)  # LogRecord primary keys
    fieldsets = models.JSONField(default=list, editable=False)  # names of revealed fieldsets
    # Names of fieldsets whose fields were shown in their partial forms.
    partial_fieldsets = models.JSONField(default=list, editable=False)
    # The reason (or ticket) given for a reveal window the values were shown in;
    # masked like any client text (no email, card or IP is kept in it).
    reason = models.TextField(null=True, blank=True, editable=False)
    # The searched customer's per-subject keyed value (``permissions.subjects``),
    # never the tag; null unless the record concerns one customer (a search,
    # a data-subject request). Records written before per-subject keys carry
    # the tag's hash under the audit keyring (``a<key id>_...``) instead.
    search_tag_hash = models.CharField(
        max_length=80, null=True, blank=True, editable=False, db_index=True
    )
    # What changed, for the kinds that change something: settings
    # ({"before": {...}, "after": {...}}; null: inherited), grants, fieldsets
    # (fields and description before and after), masking rules (the rule before
    # and after), a remask (its counts), requests, keys, retention.
    # Configuration and counts only, never personal data.
    changes = models.JSONField(null=True, blank=True, editable=False)

    # The hash chain (``permissions.chain``, ``privacy.audit_chain``): position,
    # the predecessor's hash, this record's hash over all of the above, and
    # its seal under the audit keyring. Set by ``save``; never by callers.
    seq = models.BigIntegerField(unique=True, editable=False)
    prev_hash = models.CharField(max_length=64, editable=False)
    hash = models.CharField(max_length=64, editable=False)
    seal = models.CharField(max_length=80, editable=False)

    objects = AuditRecordQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind__in=AuditKind.values), name="auditrecord_kind_valid"
            ),
        ]
        # The console's filters (permissions.selectors.AuditRecordFilterSet); on
        # PostgreSQL also GIN indexes on applications and session_ids (migration 0006).
        indexes = [
            models.Index(fields=["username", "-created_at"], name="audit_username"),
            models.Index(fields=["kind", "-created_at"], name="audit_kind"),
        ]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.username} {self.kind} {self.path}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AppendOnlyError("audit records are append-only")
        from permissions.chain import chain_append

        chain_append(self, insert=lambda: self._insert(*args, **kwargs))

    def _insert(self, *args: Any, **kwargs: Any) -> None:
        # force_insert: an instance with a reused primary key must not become an UPDATE.
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise AppendOnlyError("audit records are append-only")


class RevealWindow(models.Model):
    """One principal's reveal of one session, with a reason, until ``expires_at``.

    Where the session's application sets ``reveal_requires_reason``, the
    fieldsets the principal holds stay masked on that session until a window
    is open; the policy reads the principal's open windows with its grants.
    ``session_pk`` is a plain number, not a foreign key: a window outlives
    nothing (it expires within minutes) and needs no join to the sessions.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", editable=False
    )
    application = models.ForeignKey(
        Application, on_delete=models.CASCADE, related_name="+", editable=False
    )
    session_pk = models.BigIntegerField(editable=False)
    reason = models.CharField(max_length=REASON_MAX_LENGTH, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    expires_at = models.DateTimeField(editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "expires_at"], name="reveal_window_user_open")]

    def __str__(self) -> str:
        return f"Reveal of session {self.session_pk} until {self.expires_at:%Y-%m-%d %H:%M}"


class AuditChainHead(models.Model):
    """The newest position of the audit chain and its hash, sealed: one row (``pk=1``).

    Writers lock this row (``SELECT ... FOR UPDATE``) to append, so two
    requests writing at once queue instead of forking the chain; the verifier
    compares it with the newest record, so records removed from the end are
    found. It changes with every record, so it is the one mutable part.
    """

    seq = models.BigIntegerField()
    hash = models.CharField(max_length=64)
    seal = models.CharField(max_length=80)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "audit chain head"

    def __str__(self) -> str:
        return f"audit chain head at {self.seq}"


class AuditCheckpoint(models.Model):
    """A sealed position of the chain: what was there when the trail was purged or re-keyed.

    Retention deletes the oldest records; the checkpoint at the last deleted
    position proves that the first record kept followed exactly that hash. A
    key rotation seals the head (and re-seals older checkpoints) under the new
    key, so records sealed with the old key stay verifiable once it is retired.
    """

    seq = models.BigIntegerField(db_index=True)
    hash = models.CharField(max_length=64)
    reason = models.CharField(max_length=32)
    detail = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now)
    seal = models.CharField(max_length=80)

    class Meta:
        ordering = ["seq", "id"]

    def __str__(self) -> str:
        return f"audit checkpoint at {self.seq} ({self.reason})"


class AuditSubject(models.Model):
    """A customer named in the audit trail, by a key of their own that erasure destroys.

    ``lookup`` is the tag's keyed hash under the audit keyring (found from
    the tag, never stored in an audit record); ``key`` is random. Audit
    records carry ``HMAC(key, ...)`` (``permissions.subjects``), so while the
    row exists an officer can ask "who looked at this customer?", and once an
    anonymisation or erasure deletes it, nothing leads from the tag to those
    records any more (the records themselves stay, unchanged and verifiable).
    """

    lookup = models.CharField(max_length=80, unique=True)
    key = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)
    # Touched at most daily; rows unused for longer than the audit retention go.
    last_used_on = models.DateField(default=timezone.localdate)

    def __str__(self) -> str:
        return f"audit subject {self.pk}"


class PolicyGeneration(models.Model):
    """One row (``pk=1``) whose ``value`` changes with every write to what a principal holds.

    Database triggers on every table a principal's snapshot reads set a new
    value inside the writing transaction (``permissions.generation``); a
    snapshot cached at one value is true while the value stands
    (``permissions.selectors.principal_snapshot``).
    """

    value = models.BigIntegerField(default=0)

    class Meta:
        verbose_name = "policy generation"

    def __str__(self) -> str:
        return f"policy generation {self.value}"
