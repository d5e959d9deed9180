"""RUM data: applications (monitored frontends), their sessions and actions.

Personal data lives in a few well-known columns of ``UserSession`` (user tag,
client IP, coordinates); everything that reads them goes through the fieldset
policy in ``fieldsets``. The user tag has three storage forms, chosen per
application: ``user_tag`` (plaintext, mode ``raw``), ``user_tag_encrypted``
(ciphertext, mode ``encrypted``) or neither (mode ``pseudonym_only``); the
blind index and ``user_id`` are kept in every mode so search and grouping work.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any

import orjson
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F

from privacy.defaults import (
    APPLICATION,
    ENVIRONMENT,
    MAX_RETENTION_DAYS,
    MIN_RETENTION_DAYS,
    PRIVACY_SETTINGS,
    SETTINGS_BY_NAME,
)
from privacy.do_not_track import DoNotTrack
from privacy.ip import IpMasking
from privacy.phones import is_region
from privacy.user_tags import UserTagStorage

__all__ = ["MAX_RETENTION_DAYS", "MIN_RETENTION_DAYS"]


def validate_allowed_origins(value: object) -> None:
    """``allowed_origins``: distinct origins, each written exactly as a browser sends it."""
    # Imported here: sessions_app.origins imports nothing from the models, and
    # the model module stays free of parsing code.
    from sessions_app.origins import InvalidOrigin, normalise_origin

    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ValidationError("Enter a list of origins.")
    for item in value:
        try:
            written = normalise_origin(item)
        except InvalidOrigin as error:
            raise ValidationError(str(error)) from None
        if written != item:
            raise ValidationError(f"Write each origin as a browser sends it, e.g. {written}")
    if len(set(value)) != len(value):
        raise ValidationError("Origins must be distinct.")


def validate_property_names(value: object) -> None:
    """``allowed_properties`` must be a list of distinct, non-empty strings."""
    if not isinstance(value, list) or not all(isinstance(item, str) and item for item in value):
        raise ValidationError("Enter a list of property names.")
    if len(set(value)) != len(value):
        raise ValidationError("Property names must be distinct.")


def validate_phone_region(value: object) -> None:
    if not isinstance(value, str) or (value and not is_region(value)):
        raise ValidationError("Enter a two-letter region code (e.g. AT), or leave it empty.")


def _effective(name: str) -> property:
    """The setting's effective value: the application's override, else the environment's."""
    setting = SETTINGS_BY_NAME[name]

    def get(self: Application) -> Any:
        value = getattr(self, setting.override_field)
        if value is None:
            value = settings.RUMVAULT_PRIVACY_DEFAULTS[name]
        # A fresh list each time: callers must not edit the default in place.
        return list(value) if isinstance(value, list | tuple) else value

    def set_(self: Application, value: Any) -> None:
        setattr(self, setting.override_field, list(value) if isinstance(value, tuple) else value)

    return property(get, set_, doc=f"Effective {name}: {setting.help}.")


_INHERITED = " Empty: the environment default (RUMVAULT_DEFAULT_{})."


class Application(models.Model):
    """A monitored frontend, with its own ingest token and privacy settings.

    Privacy settings are layered (``privacy.defaults``): each ``<name>_override``
    column is ``NULL`` while the application inherits the environment default,
    and the property ``<name>`` answers the effective value, so every reader
    (ingest, retention, the admin) asks ``application.ip_masking`` and gets
    what applies. ``setting_source(name)`` says where it comes from.
    """

    slug = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    # Only a SHA-256 of the token: the token is 256 random bits, so a fast
    # hash is enough, and a database leak does not let anyone ingest.
    ingest_token_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    # Privacy settings: overrides of the environment defaults (docs/privacy-model.md,
    # "Layered settings"). Not retroactive: `manage.py remask` applies them to stored data.
    ip_masking_override = models.CharField(
        "IP masking",
        max_length=16,
        choices=IpMasking.choices(),
        null=True,
        blank=True,
        help_text=_INHERITED.format("IP_MASKING"),
    )
    mask_personal_data_in_uris_override = models.BooleanField(
        "mask personal data in URIs",
        null=True,
        blank=True,
        help_text=_INHERITED.format("URI_MASKING"),
    )
    do_not_track_override = models.CharField(
        "Do-Not-Track",
        max_length=16,
        choices=DoNotTrack.choices(),
        null=True,
        blank=True,
        help_text=_INHERITED.format("DO_NOT_TRACK"),
    )
    allowed_properties_override = models.JSONField(
        "allowed properties",
        null=True,
        blank=True,
        validators=[validate_property_names],
        help_text='A JSON list of keys, e.g. ["loyalty_tier"].'
        + _INHERITED.format("ALLOWED_PROPERTIES"),
    )
    user_tag_storage_override = models.CharField(
        "user-tag storage",
        max_length=16,
        choices=UserTagStorage.choices(),
        null=True,
        blank=True,
        help_text=_INHERITED.format("USER_TAG_STORAGE"),
    )
    retention_days_override = models.PositiveSmallIntegerField(
        "retention (days)",
        null=True,
        blank=True,
        validators=[MinValueValidator(MIN_RETENTION_DAYS), MaxValueValidator(MAX_RETENTION_DAYS)],
        help_text=_INHERITED.format("RETENTION_DAYS"),
    )
    phone_region_override = models.CharField(
        "phone region", max_length=2, null=True, blank=True, validators=[validate_phone_region],
        help_text="Region of national phone numbers for the phone detector (e.g. AT)."
        + _INHERITED.format("PHONE_REGION"),
    )  # fmt: skip

    ip_masking = _effective("ip_masking")
    mask_personal_data_in_uris = _effective("mask_personal_data_in_uris")
    do_not_track = _effective("do_not_track")
    allowed_properties = _effective("allowed_properties")
    user_tag_storage = _effective("user_tag_storage")
    retention_days = _effective("retention_days")
    phone_region = _effective("phone_region")

    # Browser agent (docs/browser-agent.md). The beacon key is public by design
    # (it is written into every page of the shop), so it is stored as it is: it
    # only names the application, and a beacon can do no more than append to
    # the application's own browser sessions, from an allowed origin, rate limited.
    beacon_key = models.CharField(max_length=64, unique=True, editable=False)
    # Origins whose pages may send beacons ("https://shop.example.com"); none: no beacons.
    allowed_origins = models.JSONField(
        default=list, blank=True, validators=[validate_allowed_origins]
    )
    # Click names become generic ("click on button") instead of the element's label.
    mask_user_actions = models.BooleanField(default=False)
    # The agent collects and sends nothing before the page calls rumvault.enable().
    opt_in_required = models.BooleanField(default=False)

    # On read, not at ingest: principals holding a fieldset see its values only
    # after revealing a session with a reason (docs/permissions.md).
    reveal_requires_reason = models.BooleanField(
        default=False,
        help_text="Fieldset values stay masked until a principal reveals a session and "
        "gives a reason (or ticket); the audit record carries it.",
    )

    class Meta:
        ordering = ["slug"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(retention_days_override__isnull=True)
                | (
                    models.Q(retention_days_override__gte=MIN_RETENTION_DAYS)
                    & models.Q(retention_days_override__lte=MAX_RETENTION_DAYS)
                ),
                name="application_retention_days_range",
            ),
            models.CheckConstraint(
                condition=models.Q(ip_masking_override__isnull=True)
                | models.Q(ip_masking_override__in=IpMasking.values()),
                name="application_ip_masking_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(do_not_track_override__isnull=True)
                | models.Q(do_not_track_override__in=DoNotTrack.values()),
                name="application_do_not_track_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(user_tag_storage_override__isnull=True)
                | models.Q(user_tag_storage_override__in=UserTagStorage.values()),
                name="application_user_tag_storage_valid",
            ),
        ]

    def __str__(self) -> str:
        return self.slug

    def setting_source(self, name: str) -> str:
        """``"application"`` when it overrides setting ``name``, else ``"environment"``."""
        overridden = getattr(self, SETTINGS_BY_NAME[name].override_field) is not None
        return APPLICATION if overridden else ENVIRONMENT

    def effective_settings(self) -> list[tuple[str, Any, str]]:
        """Every privacy setting as (name, effective value, source), in declaration order."""
        return [
            (s.name, getattr(self, s.name), self.setting_source(s.name)) for s in PRIVACY_SETTINGS
        ]


class DurationSort(models.Func):
    """``duration_ms`` with no duration as -1: the sort key of ``ordering=duration_ms``.

    Keyset pages need a total order, and NULLs have none to compare with. The
    -1 is written into the SQL, not passed as a parameter, so that the query's
    expression is the index's (``session_duration``) on SQLite too, which
    matches index expressions by their text, parameters unseen.
    """

    template = "COALESCE(%(expressions)s, -1)"
    output_field = models.BigIntegerField()

    def __init__(self) -> None:
        super().__init__(F("duration_ms"))


def applications_of(sessions: Iterable[tuple[int, int]]) -> list[int]:
    """The application ids of sessions given as (id, application id)."""
    return sorted({application_id for _, application_id in sessions})


class UserSessionQuerySet(models.QuerySet["UserSession"]):
    """Every statement on sessions names their applications (``docs/scaling.md``,
    "Routable by application"); these are the two ways to name them without a reader."""

    def in_every_application(self) -> UserSessionQuerySet:
        """For jobs that read every session (key rotation, a data subject's search):
        each application named, one query of the applications per call."""
        return self.filter(
            application_id__in=list(Application.objects.values_list("pk", flat=True))
        )

    def keyed(self, sessions: Iterable[tuple[int, int]]) -> UserSessionQuerySet:
        """These sessions, given as (id, application id)."""
        sessions = list(sessions)
        return self.filter(
            application_id__in=applications_of(sessions), pk__in=[pk for pk, _ in sessions]
        )

    def delete(self) -> tuple[int, dict[str, int]]:
        """Delete these sessions and their actions, each statement within their applications.

        Django's cascade would delete the actions by ``session_id IN (...)`` alone,
        a statement no shard key routes (``docs/scaling.md``, "Routable by
        application"); ``UserAction.session`` is ``DO_NOTHING`` so that it does
        not, and the actions go here first, by application and session. The
        database's foreign key still refuses a session deleted any other way
        while it has actions. Three statements, as Django's cascade sent.
        """
        if self.query.is_sliced:  # as Django's own delete refuses
            raise TypeError("Cannot use 'limit' or 'offset' with delete().")
        rows = list(self.order_by().values_list("pk", "application_id"))
        if not rows:
            return 0, {}
        applications = applications_of(rows)
        pks = [pk for pk, _ in rows]
        # Django's own delete of each (no model refers to an action, and nothing to a
        # session but its actions: both are one DELETE with these conditions).
        _, actions = models.QuerySet.delete(
            UserAction.objects.using(self.db).filter(
                application_id__in=applications, session_id__in=pks
            )
        )
        _, sessions = models.QuerySet.delete(UserSession.objects.using(self.db).keyed(rows))
        counts = actions | sessions
        return sum(counts.values()), counts

    delete.alters_data = True  # type: ignore[attr-defined]  # Django's marker for templates
    delete.queryset_only = True  # type: ignore[attr-defined]  # not copied onto the manager


class StoredJSONField(models.JSONField):
    """A JSON column that this application alone writes, read with orjson: ``json.loads``
    took 0.2 ms of a list page of 100 when the summaries' actions were read as JSON
    with the page (``bench/read.py``), and the stored summaries are as long."""

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        if value is None or not isinstance(value, str | bytes):
            return value
        return orjson.loads(value)


class UserSession(models.Model):
    """One visit of one (possibly identified) user to one application."""

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="sessions")
    session_id = models.CharField(max_length=128)
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    duration_ms = models.BigIntegerField(null=True, blank=True)

    # The user tag in its storage forms (see module docstring).
    user_tag = models.CharField(max_length=250, null=True, blank=True)
    user_tag_encrypted = models.TextField(null=True, blank=True)
    user_tag_blind_index = models.CharField(max_length=80, null=True, blank=True)
    user_id = models.CharField(max_length=48, null=True, blank=True)

    client_ip = models.GenericIPAddressField(null=True, blank=True, unpack_ipv4=False)
    geo_latitude = models.FloatField(null=True, blank=True)
    geo_longitude = models.FloatField(null=True, blank=True)
    country = models.CharField(max_length=2, blank=True, default="")
    city = models.CharField(max_length=120, blank=True, default="")
    browser = models.CharField(max_length=120, blank=True, default="")
    os = models.CharField(max_length=120, blank=True, default="")
    device = models.CharField(max_length=40, blank=True, default="")
    properties = models.JSONField(default=dict, blank=True)

    # Denormalised counters, maintained by the ingest service, so lists and
    # filters never aggregate over actions.
    action_count = models.PositiveIntegerField(default=0)
    error_count = models.PositiveIntegerField(default=0)
    converted = models.BooleanField(default=False)
    revenue = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0"))
    # The triage summary of the actions (``sessions_app.summaries``), kept by every
    # writer of actions so a list page reads it with its rows; null: nothing to show.
    summary = StoredJSONField(null=True, blank=True, editable=False)

    do_not_track = models.BooleanField(default=False)
    # The mask_personal_data_in_uris under which every string of the session and
    # its actions was masked (null: unknown or mixed). Re-masking skips the
    # built-in masking where it equals the current setting (masking_rules.remask).
    masked_personal = models.BooleanField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = UserSessionQuerySet.as_manager()

    class Meta:
        ordering = ["-started_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["application", "session_id"], name="session_id_unique_per_application"
            ),
        ]
        # One per keyset ordering of the list (sessions_app.queries.ORDERINGS), over
        # every session and within one application; read backwards for "-".
        indexes = [
            models.Index(fields=["application", "-started_at", "-id"], name="session_app_started"),
            models.Index(fields=["-started_at", "-id"], name="session_started"),
            models.Index(DurationSort(), F("id"), name="session_duration"),
            models.Index(F("application"), DurationSort(), F("id"), name="session_app_duration"),
            models.Index(fields=["error_count", "id"], name="session_errors"),
            models.Index(fields=["application", "error_count", "id"], name="session_app_errors"),
            models.Index(fields=["user_tag_blind_index"], name="session_blind_index"),
            models.Index(fields=["user_id"], name="session_user_id"),
            # Filters that pick out few sessions: without these, every application's
            # sessions scanned (session_id: 110 ms at 1M sessions, bench/scale.py).
            models.Index(fields=["session_id"], name="session_session_id"),
            models.Index(fields=["country", "-started_at", "-id"], name="session_country"),
            # A rare country within one application of many: its sessions directly, not
            # the country's of every application sieved for it (1.9-2.9x at 1M
            # sessions in bench/scale.py without it).
            models.Index(
                fields=["application", "country", "-started_at", "-id"], name="session_app_country"
            ),
            # A rare country in the other orderings, for a reader of many applications:
            # without these, all of the country's sessions were read and sorted for a page
            # (2.1-2.7x at 1M sessions for ordering=-duration_ms, bench/scale.py). Within
            # one application, session_app_country finds the few and they are sorted.
            models.Index(F("country"), DurationSort(), F("id"), name="session_country_duration"),
            models.Index(fields=["country", "error_count", "id"], name="session_country_errors"),
        ]

    def __str__(self) -> str:
        # Only the primary key: __str__ shows up in admin pages (action lists,
        # history, delete confirmations) and logs, where no policy masks it,
        # and every other session field can be put into a fieldset.
        return f"Session {self.pk}"

    def delete(
        self, using: str | None = None, keep_parents: bool = False
    ) -> tuple[int, dict[str, int]]:
        """With its actions, within its application (``UserSessionQuerySet.delete``)."""
        deleted = (
            UserSession.objects.using(using or self._state.db)
            .filter(application_id=self.application_id, pk=self.pk)
            .delete()
        )
        self.pk = None  # as Model.delete leaves an instance
        return deleted

    delete.alters_data = True  # type: ignore[attr-defined]


class ActionType(models.TextChoices):
    PAGE_VIEW = "page_view", "Page view"
    XHR = "xhr", "Request"
    CLICK = "click", "Click"
    CUSTOM = "custom", "Custom"
    ERROR = "error", "Error"


class ProductEvent(models.TextChoices):
    VIEW = "view", "Viewed"
    ADD_TO_CART = "add_to_cart", "Added to cart"
    PURCHASE = "purchase", "Bought"


def is_failure(*, type: str | None, error_message: str | None, http_status: int | None) -> bool:
    """What counts as a failed action, everywhere: an error action, an error message,
    or a request the server answered with 4xx/5xx (``error_count`` counts these)."""
    return (
        type == ActionType.ERROR
        or bool(error_message)
        or (http_status is not None and http_status >= 400)
    )


# ``is_failure`` as a database condition on actions (the triage summary's first
# failure); a test holds the two together.
FAILED_ACTION = (
    models.Q(type=ActionType.ERROR) | ~models.Q(error_message="") | models.Q(http_status__gte=400)
)


def partition_times(sessions: Iterable[UserSession]) -> dict[int, datetime]:
    """The ``partition_time`` of each session's actions, by session pk.

    Every action of a session carries one value: that of the session's actions
    already stored, else the session's ``started_at`` now. A session's start only
    ever moves earlier (``session_rows._merge_times``), so the value is never
    earlier than the session's start: an action partition that ends before every
    application's retention cutoff holds actions of expired sessions only
    (``maintenance.partitions``, ``docs/scaling.md``).
    """
    sessions = list(sessions)
    by_pk = {session.pk: session.started_at for session in sessions}
    stored = (
        UserAction.objects.filter(
            application_id__in={session.application_id for session in sessions},
            session_id__in=list(by_pk),
        )
        .order_by()
        .values_list("session_id", "partition_time")
        .distinct()
    )
    return by_pk | dict(stored)


class UserActionManager(models.Manager["UserAction"]):
    def bulk_create(
        self, objs: Iterable[UserAction], *args: Any, **kwargs: Any
    ) -> list[UserAction]:
        objs = list(objs)
        _fill_partition_times(objs)
        return super().bulk_create(objs, *args, **kwargs)


def _fill_partition_times(actions: list[UserAction]) -> None:
    missing = [action for action in actions if action.partition_time is None]
    if missing:
        times = partition_times({action.session for action in missing})
        for action in missing:
            action.partition_time = times[action.session_id]


class UserAction(models.Model):
    """One event within a session, ordered and de-duplicated by ``seq``."""

    # The session's application, denormalised: the distribution column of a sharded
    # deployment (docs/scaling.md, "Routable by application"), so every statement on
    # actions names the application without a join to sessions. A foreign key, not a
    # plain column: the database still refuses an application that does not exist
    # (Citus keeps foreign keys from a distributed table to a reference table), and
    # deleting an application deletes its actions by this column. Not indexed alone:
    # the unique (application, session, seq) leads with it.
    application = models.ForeignKey(
        Application, on_delete=models.CASCADE, related_name="actions", db_index=False
    )
    # DO_NOTHING: a session's delete removes its actions itself, within the
    # application (UserSessionQuerySet.delete); the constraint stays in the database.
    session = models.ForeignKey(UserSession, on_delete=models.DO_NOTHING, related_name="actions")
    # The key of the monthly partitions on PostgreSQL (``partition_times``): the
    # session's start when its first action was stored; never read or served.
    partition_time = models.DateTimeField(editable=False)
    seq = models.PositiveIntegerField()
    type = models.CharField(max_length=16, choices=ActionType)
    name = models.CharField(max_length=500, blank=True, default="")
    url = models.TextField(blank=True, default="")
    timestamp = models.DateTimeField()
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    http_status = models.PositiveSmallIntegerField(null=True, blank=True)
    error_message = models.TextField(blank=True, default="")
    error_stack = models.TextField(blank=True, default="")
    headers = models.JSONField(default=dict, blank=True)
    request_attributes = models.JSONField(default=dict, blank=True)

    product_sku = models.CharField(max_length=100, blank=True, default="")
    product_name = models.CharField(max_length=200, blank=True, default="")
    product_price = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    product_currency = models.CharField(max_length=3, blank=True, default="")
    product_quantity = models.PositiveIntegerField(null=True, blank=True)
    product_event = models.CharField(max_length=16, choices=ProductEvent, blank=True, default="")
    # W3C trace id (32 lower-case hex) of the request the action made; backend log
    # records carrying the same trace id belong to the action's session.
    trace_id = models.CharField(max_length=32, null=True, blank=True)

    objects = UserActionManager()

    class Meta:
        ordering = ["seq"]
        constraints = [
            # Led by the application: every read of actions names it and the session
            # (a sharded table's unique key must hold its distribution column).
            models.UniqueConstraint(
                fields=["application", "session", "seq"], name="action_seq_unique_per_session"
            ),
            models.CheckConstraint(
                condition=models.Q(type__in=ActionType.values), name="action_type_valid"
            ),
        ]
        indexes = [
            # Log records find their session's actions by trace id within their application.
            models.Index(
                fields=["application", "trace_id"],
                name="action_app_trace",
                condition=models.Q(trace_id__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        # Only the position: __str__ shows up unmasked in admin pages (the
        # inline's rows, breadcrumbs, history) and ``type`` can be in a fieldset.
        return f"Action #{self.seq}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        _fill_partition_times([self])
        super().save(*args, **kwargs)

    @property
    def is_failure(self) -> bool:
        return is_failure(
            type=self.type, error_message=self.error_message, http_status=self.http_status
        )
