"""Which session fields a fieldset may contain, and how they are spelled.

A fieldset lists names from ``SESSION_FIELDS`` or ``properties.<key>`` (one
key of the session's ``properties``). Fields outside the registry are visible
to every reader by design:

* ``id`` and ``application`` identify the row (record access already decides
  whether the caller may see it at all);
* ``started_at`` is the cursor-pagination key and the ``since``/``until``
  filter: hiding it would make every list request a 403;
* ``user_id`` is the keyed pseudonym every reader sees (docs/privacy-model.md),
  so one customer's sessions can be grouped without knowing who it is.
"""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError

# Output order of the session fields a fieldset can hide (README "Reading API").
SESSION_FIELDS: tuple[str, ...] = (
    "session_id",
    "ended_at",
    "duration_ms",
    "user_tag",
    "client_ip",
    "geo_latitude",
    "geo_longitude",
    "country",
    "city",
    "browser",
    "os",
    "device",
    "properties",
    "action_count",
    "error_count",
    "converted",
    "revenue",
)
SESSION_FIELD_SET = frozenset(SESSION_FIELDS)

PROPERTY_PREFIX = "properties."
# Property keys come from the application's ``allowed_properties``; any
# printable key without whitespace is accepted, bounded so names stay readable.
_PROPERTY_KEY = re.compile(r"^[^\s]{1,100}$")


def is_property_field(name: str) -> bool:
    return name.startswith(PROPERTY_PREFIX)


def property_key(name: str) -> str:
    """``properties.loyalty_tier`` -> ``loyalty_tier``."""
    return name[len(PROPERTY_PREFIX) :]


def is_fieldset_field(name: str) -> bool:
    """True for a name a fieldset may contain (a registry field or ``properties.<key>``)."""
    if name in SESSION_FIELD_SET:
        return True
    return is_property_field(name) and bool(_PROPERTY_KEY.match(property_key(name)))


def validate_fieldset_fields(value: object) -> None:
    """A fieldset's ``fields``: a non-empty list of distinct registry names."""
    if not isinstance(value, list) or not value:
        raise ValidationError("Enter a non-empty list of field names.")
    invalid = [item for item in value if not isinstance(item, str) or not is_fieldset_field(item)]
    if invalid:
        raise ValidationError(
            "Unknown field(s): %(fields)s. Allowed: %(allowed)s, or properties.<key>.",
            params={"fields": ", ".join(map(str, invalid)), "allowed": ", ".join(SESSION_FIELDS)},
        )
    if len(set(value)) != len(value):
        raise ValidationError("Field names must be distinct.")


def fields_referenced_by(parameter: str) -> list[str]:
    """The fieldset-relevant field names a query parameter or body key refers to.

    ``client_ip__startswith`` -> ``["client_ip"]``;
    ``properties__tier`` / ``properties.tier`` -> ``["properties.tier", "properties"]``
    (the most specific name first, so a refusal names it).
    Used to refuse lookups on hidden fields before asking whether a parameter
    is known at all, so a hidden field is always a 403 naming it.
    """
    base, _, rest = parameter.partition("__")
    if is_property_field(base):
        return [base, "properties"]
    if base == "properties" and rest:
        return [PROPERTY_PREFIX + rest.split("__")[0], "properties"]
    return [base]
