"""One CSV cell from a JSON value, safe to open in a spreadsheet.

Shared by every CSV rumvault writes (the API's ``?format=csv``, the privacy
console's audit export, the data-subject CSV bundle). Nested values are JSON;
text a spreadsheet would run as a formula is prefixed with ``'`` (values such
as a city come from browsers, not from us).
"""

from __future__ import annotations

import json
from typing import Any

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True, ensure_ascii=False)
    text = str(value)
    if text.startswith(_FORMULA_START) and not isinstance(value, (int, float)):
        return "'" + text
    return text
