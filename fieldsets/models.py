"""Fieldsets: named sets of session fields that are revealed only to granted principals.

Each fieldset owns one ``auth.Permission`` on ``sessions_app.Application``
(codename ``reveal_<name>``). Granting a fieldset is granting that permission:
as a django-guardian object permission for one application, or as an ordinary
model-level permission for every application (see ``docs/permissions.md``).
A *partial* grant is the same for a second permission, ``partial_reveal_<name>``
(created on first use, deleted with the fieldset): the fieldset's fields are
shown in their partial forms (``fieldsets.registry``). No fieldset codename
starts with ``partial_``, so the two kinds can never name the same permission.
Names are immutable so the codename, the grants and past audit records keep
meaning the same thing.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models, transaction

from fieldsets.registry import validate_fieldset_fields
from sessions_app.models import Application

BUILTIN_SENSITIVE = "builtin-sensitive-user-events-and-sessions"
BUILTIN_REQUEST_DETAILS = "builtin-request-details"
# Name -> (description, fields). Mirrored by migrations 0002 and 0003, which seed them;
# ``ensure_builtin_fieldsets`` re-creates them after a test database flush.
BUILTIN_FIELDSETS: dict[str, tuple[str, list[str]]] = {
    BUILTIN_SENSITIVE: (
        "Who the user is and where they are: user tag, client IP and coordinates.",
        ["user_tag", "client_ip", "geo_latitude", "geo_longitude"],
    ),
    BUILTIN_REQUEST_DETAILS: (
        "Request details of actions: headers, request attributes and stack traces.",
        ["actions.headers", "actions.request_attributes", "actions.error_stack"],
    ),
}

REVEAL_CODENAME_PREFIX = "reveal_"
PARTIAL_CODENAME_PREFIX = "partial_" + REVEAL_CODENAME_PREFIX

validate_fieldset_name = RegexValidator(
    r"^[a-z0-9]+(?:[-_][a-z0-9]+)*$",
    "Use lower-case letters, digits, and single '-' or '_' between them.",
)


class ReadOnlyFieldset(Exception):
    """Raised on any attempt to change or delete a built-in fieldset."""


def reveal_codename(name: str) -> str:
    return REVEAL_CODENAME_PREFIX + name


def partial_codename(name: str) -> str:
    return PARTIAL_CODENAME_PREFIX + name


def reveal_permission(name: str) -> Permission:
    """The permission that reveals fieldset ``name``; created on first use."""
    content_type = ContentType.objects.get_for_model(Application)
    permission, _ = Permission.objects.get_or_create(
        content_type=content_type,
        codename=reveal_codename(name),
        defaults={"name": f"Can reveal fieldset {name}"[:255]},
    )
    return permission


def partial_permission(name: str) -> Permission:
    """The permission that shows fieldset ``name`` in partial forms; created on first use."""
    content_type = ContentType.objects.get_for_model(Application)
    permission, _ = Permission.objects.get_or_create(
        content_type=content_type,
        codename=partial_codename(name),
        defaults={"name": f"Can see fieldset {name} partially"[:255]},
    )
    return permission


class FieldsetQuerySet(models.QuerySet["Fieldset"]):
    # Bulk paths bypass Model.save/delete, so they get the same guard here.
    def update(self, **kwargs: Any) -> int:
        if self.filter(builtin=True).exists():
            raise ReadOnlyFieldset("built-in fieldsets are read-only")
        if "name" in kwargs:
            raise ReadOnlyFieldset("fieldset names cannot change")
        return super().update(**kwargs)

    def delete(self) -> tuple[int, dict[str, int]]:
        if self.filter(builtin=True).exists():
            raise ReadOnlyFieldset("built-in fieldsets cannot be deleted")
        deleted = 0
        for fieldset in self:
            deleted += fieldset.delete()[0]
        return deleted, {self.model._meta.label: deleted}


class Fieldset(models.Model):
    name = models.CharField(max_length=80, unique=True, validators=[validate_fieldset_name])
    description = models.TextField(blank=True, default="")
    fields = models.JSONField(
        validators=[validate_fieldset_fields],
        help_text='Registry paths, e.g. ["client_ip", "properties.loyalty_tier", '
        '"actions.request_attributes.order_id"].',
    )
    builtin = models.BooleanField(default=False, editable=False)
    # PROTECT: the permission goes away only together with its fieldset (delete()).
    permission = models.OneToOneField(
        Permission, on_delete=models.PROTECT, editable=False, related_name="fieldset"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = FieldsetQuerySet.as_manager()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is None:
            if self.builtin:
                raise ReadOnlyFieldset("built-in fieldsets are created only by migrations")
        else:
            stored = Fieldset.objects.filter(pk=self.pk).values("name", "builtin").first()
            if stored is not None and stored["builtin"]:
                raise ReadOnlyFieldset("built-in fieldsets are read-only")
            if stored is not None and stored["name"] != self.name:
                raise ValidationError({"name": "A fieldset's name cannot change."})
        # Validate on every save, not only in forms: a malformed list would
        # otherwise fail open (a misspelt field is simply never hidden).
        validate_fieldset_name(self.name)
        validate_fieldset_fields(self.fields)
        with transaction.atomic():
            if self.permission_id is None:
                self.permission = reveal_permission(self.name)
            super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        if self.builtin:
            raise ReadOnlyFieldset("built-in fieldsets cannot be deleted")
        with transaction.atomic():
            permission = self.permission
            result = super().delete(*args, **kwargs)
            # Cascades to every grant of it (object and model-level permissions).
            permission.delete()
            Permission.objects.filter(
                content_type=permission.content_type, codename=partial_codename(self.name)
            ).delete()
        return result


def ensure_builtin_fieldsets() -> None:
    """Create missing built-in fieldsets (after migrate, and after a test flush)."""
    existing = set(Fieldset.objects.filter(builtin=True).values_list("name", flat=True))
    missing = [
        Fieldset(
            name=name,
            description=description,
            fields=fields,
            builtin=True,
            permission=reveal_permission(name),
        )
        for name, (description, fields) in BUILTIN_FIELDSETS.items()
        if name not in existing
    ]
    # bulk_create skips save(), which refuses to create built-ins from code.
    Fieldset.objects.bulk_create(missing)
