"""Sending to rumvault: short timeouts, retries with exponential backoff, ``Retry-After`` honoured.

Only the standard library (``urllib``): the handler adds no HTTP client to the
application's dependencies. Nothing here raises to the caller.
"""

from __future__ import annotations

import gzip
import json
import random
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

# Statuses worth retrying (OTLP/HTTP's list): everything else is final.
RETRYABLE = frozenset({429, 502, 503, 504})


class Transport:
    def __init__(self, *, token: str, timeout: float, user_agent: str) -> None:
        self.token = token
        self.timeout = timeout
        self.user_agent = user_agent

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}", "User-Agent": self.user_agent}

    def get_json(self, url: str) -> Any | None:
        """The JSON at ``url``, or ``None`` when rumvault cannot be reached or says no."""
        request = urllib.request.Request(url, headers=self._headers(), method="GET")  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                return json.loads(response.read().decode("utf-8"))
        except (OSError, ValueError):
            return None

    def post(self, url: str, payload: dict[str, Any]) -> tuple[int | None, float | None]:
        """Status (``None``: no answer) and the ``Retry-After`` seconds if any."""
        body = gzip.compress(json.dumps(payload, separators=(",", ":")).encode())
        headers = {
            **self._headers(),
            "Content-Type": "application/json",
            "Content-Encoding": "gzip",
        }
        request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                response.read()
                return response.status, None
        except urllib.error.HTTPError as error:
            return error.code, _seconds(error.headers.get("Retry-After"))
        except OSError:
            return None, None

    def send(
        self,
        url: str,
        payload: dict[str, Any],
        *,
        max_attempts: int,
        give_up: Callable[[], bool],
        sleep: Callable[[float], object] = time.sleep,
    ) -> bool:
        """Post with retries: backoff 0.5 s, 1 s, 2 s ... (capped at 30 s, jittered)."""
        for attempt in range(max_attempts):
            status, retry_after = self.post(url, payload)
            if status is not None and 200 <= status < 300:
                return True
            if status is not None and status not in RETRYABLE:
                return False  # refused as invalid: sending it again changes nothing
            if attempt == max_attempts - 1 or give_up():
                return False
            backoff = min(30.0, 0.5 * 2**attempt) * random.uniform(0.8, 1.2)  # noqa: S311
            sleep(retry_after if retry_after is not None else backoff)
        return False


def _seconds(value: str | None) -> float | None:
    try:
        return min(60.0, max(0.0, float(value))) if value is not None else None
    except ValueError:
        return None
