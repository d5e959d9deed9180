"""At-ingest masking of one batch's actions, per the application's privacy settings.

The detectors themselves live in ``privacy`` (pure functions); this module
decides which of them apply to which field of an action:

* ``mask_personal_data_in_uris`` on: ``mask_uri`` over the URL and the name
  (names are "Loading of /orders/1234567"), ``mask_text`` over header values,
  the error message and stack, and every string in the request attributes;
* always: credential headers dropped; ``input_value`` never reaches here
  (validation throws it away unread).

A batch repeats itself a lot (the same page names, ``Accept`` and ``Referer``
values in hundreds of actions), so results are memoised, but only for the
batch: the memo dies with the request and keeps no personal data around.
"""

from __future__ import annotations

from privacy.detectors import mask_text
from privacy.headers import clean_headers
from privacy.text import mask_mapping_values
from privacy.uri import mask_uri
from sessions_app.ingest.validation import ACTION_NAME_MAX_LENGTH, CleanAction
from sessions_app.models import Application, UserAction


class BatchMasker:
    def __init__(self, application: Application) -> None:
        self.enabled = application.mask_personal_data_in_uris
        self._uris: dict[str, str] = {}
        self._texts: dict[str, str] = {}

    def uri(self, value: str) -> str:
        if not self.enabled or not value:
            return value
        masked = self._uris.get(value)
        if masked is None:
            masked = self._uris[value] = mask_uri(value)
        return masked

    def text(self, value: str) -> str:
        if not self.enabled or not value:
            return value
        masked = self._texts.get(value)
        if masked is None:
            masked = self._texts[value] = mask_text(value)
        return masked

    def headers(self, headers: dict[str, str]) -> dict[str, str]:
        if not headers:
            return {}
        # Dropping is clean_headers' rule and applies whatever the URI setting;
        # values then go through the same detectors, memoised.
        kept = clean_headers(headers, mask_values=False)
        return {name: self.text(value) for name, value in kept.items()}

    def action(self, action: CleanAction) -> UserAction:
        attributes = action.request_attributes
        return UserAction(
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
            headers=self.headers(action.headers),
            request_attributes=(
                mask_mapping_values(attributes) if self.enabled and attributes else attributes
            ),
            product_sku=action.product_sku,
            product_name=action.product_name,
            product_price=action.product_price,
            product_currency=action.product_currency,
            product_quantity=action.product_quantity,
            product_event=action.product_event,
        )
