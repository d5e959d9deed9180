"""RUM data: applications (monitored frontends), their sessions and actions.

Personal data lives in a few well-known columns of ``UserSession`` (user tag,
client IP, coordinates); everything that reads them goes through the fieldset
policy in ``fieldsets``. The user tag has three storage forms, chosen per
application: ``user_tag`` (plaintext, mode ``raw``), ``user_tag_encrypted``
(ciphertext, mode ``encrypted``) or neither (mode ``pseudonym_only``); the
blind index and ``user_id`` are kept in every mode so search and grouping work.
"""

from __future__ import annotations

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from privacy.do_not_track import DoNotTrack
from privacy.ip import IpMasking
from privacy.user_tags import UserTagStorage

MIN_RETENTION_DAYS = 1
MAX_RETENTION_DAYS = 3657


def validate_property_names(value: object) -> None:
    """``allowed_properties`` must be a list of distinct, non-empty strings."""
    if not isinstance(value, list) or not all(isinstance(item, str) and item for item in value):
        raise ValidationError("Enter a list of property names.")
    if len(set(value)) != len(value):
        raise ValidationError("Property names must be distinct.")


class Application(models.Model):
    """A monitored frontend, with its own ingest token and privacy settings."""

    slug = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    # Only a SHA-256 of the token: the token is 256 random bits, so a fast
    # hash is enough, and a database leak does not let anyone ingest.
    ingest_token_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    # Privacy settings; defaults as in docs/privacy-model.md ("Ingest"). Not retroactive.
    ip_masking = models.CharField(max_length=16, choices=IpMasking.choices(), default=IpMasking.ALL)
    mask_personal_data_in_uris = models.BooleanField(default=True)
    do_not_track = models.CharField(
        max_length=16, choices=DoNotTrack.choices(), default=DoNotTrack.ANONYMOUS
    )
    allowed_properties = models.JSONField(
        default=list, blank=True, validators=[validate_property_names]
    )
    user_tag_storage = models.CharField(
        max_length=16, choices=UserTagStorage.choices(), default=UserTagStorage.RAW
    )
    retention_days = models.PositiveSmallIntegerField(
        default=35,
        validators=[MinValueValidator(MIN_RETENTION_DAYS), MaxValueValidator(MAX_RETENTION_DAYS)],
    )
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
                condition=models.Q(retention_days__gte=MIN_RETENTION_DAYS)
                & models.Q(retention_days__lte=MAX_RETENTION_DAYS),
                name="application_retention_days_range",
            ),
            models.CheckConstraint(
                condition=models.Q(ip_masking__in=IpMasking.values()),
                name="application_ip_masking_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(do_not_track__in=DoNotTrack.values()),
                name="application_do_not_track_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(user_tag_storage__in=UserTagStorage.values()),
                name="application_user_tag_storage_valid",
            ),
        ]

    def __str__(self) -> str:
        return self.slug


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

    do_not_track = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["application", "session_id"], name="session_id_unique_per_application"
            ),
        ]
        indexes = [
            models.Index(fields=["application", "-started_at", "-id"], name="session_app_started"),
            models.Index(fields=["-started_at", "-id"], name="session_started"),
            models.Index(fields=["user_tag_blind_index"], name="session_blind_index"),
            models.Index(fields=["user_id"], name="session_user_id"),
        ]

    def __str__(self) -> str:
        # Only the primary key: __str__ shows up in admin pages (action lists,
        # history, delete confirmations) and logs, where no policy masks it,
        # and every other session field can be put into a fieldset.
        return f"Session {self.pk}"


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


class UserAction(models.Model):
    """One event within a session, ordered and de-duplicated by ``seq``."""

    session = models.ForeignKey(UserSession, on_delete=models.CASCADE, related_name="actions")
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

    class Meta:
        ordering = ["seq"]
        constraints = [
            models.UniqueConstraint(
                fields=["session", "seq"], name="action_seq_unique_per_session"
            ),
            models.CheckConstraint(
                condition=models.Q(type__in=ActionType.values), name="action_type_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.type}"

    @property
    def is_failure(self) -> bool:
        return is_failure(
            type=self.type, error_message=self.error_message, http_status=self.http_status
        )
