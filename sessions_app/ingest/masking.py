"""At-ingest masking of one batch, per the application's masking rules and privacy settings.

First the masking rules (``masking_rules.engine``: the environment's, then the
application's) rewrite the client strings they select; then everything below
runs on what they left, so no rule can lower the built-in masking.

Every string a client sends passes the detectors here, keys included, at any
depth; the detectors themselves are pure functions in ``privacy``. What the
application's ``mask_personal_data_in_uris`` (``personal``) changes:

* on: emails, IP addresses, UUIDs, every URL query/fragment/matrix value and
  digit runs in URL paths are masked, as well as everything below;
* always: cards, IBANs and JWTs are masked in every string; credential keys
  (``privacy.credentials``) are dropped from headers, request attributes and
  properties at any depth, credential-named URL parameters and random-token
  path segments are masked; ``input_value`` never reaches here (validation
  throws it away unread).

Which field gets which masker:

* URL and action name (names are "Loading of /orders/1234567"): ``mask_uri``;
* ``session_id``: ``mask_text``, and if that changes anything the whole id is
  replaced by a keyed digest (``privacy.session_ids``), so re-sends still merge;
* city, browser, os, device, error message and stack, product SKU and name:
  ``mask_text``;
* headers, request attributes and allowed properties: ``mask_mapping`` (keys
  and values, credentials dropped).

Where masking makes a value longer than its column, the masked value is cut
(a cut ``<masked>`` reveals nothing).

A batch repeats itself a lot (the same page names, ``Accept`` and ``Referer``
values in hundreds of actions), so results are memoised, but only for the
batch: the memo dies with the request and keeps no personal data around.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from datetime import datetime
from decimal import Decimal
from operator import attrgetter
from typing import Any

from django.conf import settings

from masking_rules.engine import BatchRules, OnChange, ruleset_for
from privacy.credentials import is_credential_name
from privacy.detectors import mask_hex, mask_text
from privacy.headers import clean_headers
from privacy.properties import filter_properties
from privacy.session_ids import stored_session_ids
from privacy.text import mask_mapping
from privacy.uri import UriMasker
from sessions_app.ingest.validation import (
    ACTION_NAME_MAX_LENGTH,
    COLUMN_MAX_LENGTHS,
    PRODUCT_NAME_MAX_LENGTH,
    PRODUCT_SKU_MAX_LENGTH,
    CleanAction,
    CleanSession,
)
from sessions_app.models import Application, UserAction, is_failure


@dataclass(slots=True)
class MaskedAction:
    """One action after masking: the column values of a ``UserAction`` but its
    session, application and ``partition_time``, which the service adds.

    Ingest writes these with ``COPY`` (``config.bulk.copy_values``) and never
    makes a model instance for them: ``UserAction(**values)`` took about a
    quarter of the time of masking an action (``bench/README.md``).
    """

    seq: int
    type: str
    name: str
    url: str
    timestamp: datetime
    duration_ms: int | None
    http_status: int | None
    error_message: str
    error_stack: str
    headers: dict[str, Any]
    request_attributes: dict[str, Any]
    product_sku: str
    product_name: str
    product_price: Decimal | None
    product_currency: str
    product_quantity: int | None
    product_event: str
    trace_id: str | None

    @property
    def is_failure(self) -> bool:
        return is_failure(
            type=self.type, error_message=self.error_message, http_status=self.http_status
        )


# The column values of a MaskedAction, in this order: ``MASKED_ACTION_COLUMNS``.
MASKED_ACTION_COLUMNS = tuple(f.name for f in fields(MaskedAction))
masked_action_values = attrgetter(*MASKED_ACTION_COLUMNS)


class BatchMasker:
    def __init__(
        self,
        application: Application,
        *,
        rules: BatchRules | None = None,
        on_rule_change: OnChange | None = None,
    ) -> None:
        self.personal = application.mask_personal_data_in_uris
        self.application = application
        # The rules as stored now (one query), unless given (a preview of proposed rules).
        self.rules = rules if rules is not None else ruleset_for(application).batch()
        self.on_rule_change = on_rule_change
        self._uris: dict[str, str] = {}
        self._texts: dict[str, str] = {}
        # mask_uri whose pieces (host, path segments, parameters) are memoised too.
        self._mask_uri = UriMasker(personal=self.personal, detect=self.text)
        self._credential_names: dict[str, bool] = {}

    def uri(self, value: str) -> str:
        if not value:
            return value
        masked = self._uris.get(value)
        if masked is None:
            masked = self._uris[value] = self._mask_uri(value)
        return masked

    def text(self, value: str) -> str:
        if not value:
            return value
        masked = self._texts.get(value)
        if masked is None:
            masked = self._texts[value] = mask_text(value, personal=self.personal)
        return masked

    def is_credential(self, name: str) -> bool:
        known = self._credential_names.get(name)
        if known is None:
            known = self._credential_names[name] = is_credential_name(name)
        return known

    def mapping(self, values: dict[str, object]) -> dict[str, object]:
        if not values:
            return {}
        return mask_mapping(values, mask=self.text, is_credential=self.is_credential)

    def session_ids(self, session_id: str) -> list[str]:
        """The id to store for a client's ``session_id``, then its forms under older keys."""
        return stored_session_ids(
            session_id,
            self.text(session_id),
            application_id=self.application.pk,
            keyring=settings.RUMVAULT_SESSION_ID_KEYS,
        )

    def session(self, clean: CleanSession, *, session_id: str) -> CleanSession:
        """``clean`` with its client strings masked; actions are masked by ``action``."""
        clean = self.rules.session(clean, self.on_rule_change)
        properties = filter_properties(
            clean.properties, allowed=self.application.allowed_properties
        )
        return replace(
            clean,
            session_id=session_id,
            city=self.text(clean.city)[: COLUMN_MAX_LENGTHS["city"]],
            browser=self.text(clean.browser)[: COLUMN_MAX_LENGTHS["browser"]],
            os=self.text(clean.os)[: COLUMN_MAX_LENGTHS["os"]],
            device=self.text(clean.device)[: COLUMN_MAX_LENGTHS["device"]],
            properties=self.mapping(properties),
            actions=[],
        )

    def action(self, action: CleanAction) -> UserAction:
        """The masked action as a model instance (previews); ingest uses ``masked_action``."""
        return UserAction(**self.action_values(action))

    def masked_action(self, action: CleanAction) -> MaskedAction:
        return MaskedAction(**self.action_values(action))

    def action_values(self, action: CleanAction) -> dict[str, Any]:
        """The masked action as column values (re-masking stored rows uses them directly)."""
        action = self.rules.action(action, self.on_rule_change)
        return dict(
            seq=action.seq,
            type=action.type,
            # A mask can be longer than what it replaced; the column is not.
            name=self.uri(action.name)[:ACTION_NAME_MAX_LENGTH],
            url=self.uri(action.url),
            timestamp=action.timestamp,
            duration_ms=action.duration_ms,
            http_status=action.http_status,
            error_message=self.text(action.error_message),
            error_stack=self.text(action.error_stack),
            headers=(
                clean_headers(action.headers, mask=self.text, is_credential=self.is_credential)
                if action.headers
                else {}
            ),
            request_attributes=self.mapping(action.request_attributes),
            product_sku=self.text(action.product_sku)[:PRODUCT_SKU_MAX_LENGTH],
            product_name=self.text(action.product_name)[:PRODUCT_NAME_MAX_LENGTH],
            product_price=action.product_price,
            product_currency=action.product_currency,
            product_quantity=action.product_quantity,
            product_event=action.product_event,
            trace_id=self.hex_id(action.trace_id),
        )

    def hex_id(self, value: str | None) -> str | None:
        """A trace or span id, kept only if no detector finds anything in it.

        Ids are random hex; the rare one that holds a Luhn-valid digit run is
        dropped rather than stored half masked (it could no longer link anything).
        """
        # Hex holds no email, IP address or UUID (no "@", ":", "-"): only the detectors
        # that run whatever the settings say (cards, IBANs) can find anything in it.
        if value is None or mask_hex(value) != value:
            return None
        return value
