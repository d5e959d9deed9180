"""The Python logging handler (``agents/python``), installed from its wheel, in its own process.

The wheel is built from the repository (``pip wheel``) and unpacked into a
directory that is the only project code on the child process's path: what
runs is what ``pip install ./agents/python`` installs.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
import time
import zipfile
from pathlib import Path

import pytest

from logs.models import CaptureRule, LogRecord
from privacy.detectors import mask_text
from tests.logs.support import CARD, EMAIL, everything_stored
from tests.sessions_app.ingest_support import new_application

ROOT = Path(__file__).resolve().parents[2]
AGENT = ROOT / "agents/python"
BUNDLED = ("detectors", "normalise", "stable", "credentials")
JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJwbGFudGVkIn0"
    ".Wq3cQ9u7pP1kXyZ0aB2cD4eF6gH8iJ0kL2mN4oP6qR8"
)
PLANTED = (EMAIL, "4111", "hunter2", JWT.split(".")[1], "s3cr3t-api-key")
CORPUS = [
    f"mail {EMAIL} now",
    f"card {CARD} declined",
    "iban DE89 3704 0044 0532 0130 00 here",
    "from 203.0.113.77 and 2001:db8::1",
    "id 123e4567-e89b-12d3-a456-426614174000",
    f"token {JWT}",
    "j\u200bane@ex\uff41mple.com",
    "4111%201111%201111%201111",
    "order 4711 shipped 2026-11-28",
    "nothing to see",
]


@pytest.fixture(scope="session")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The handler's wheel, built from this checkout and unpacked."""
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(  # noqa: S603 (our own interpreter and checkout)
        [sys.executable, "-m", "pip", "wheel", "--no-build-isolation", "--no-deps", "-q",
         str(AGENT), "-w", str(out)],
        check=True, capture_output=True,
    )  # fmt: skip
    (wheel,) = out.glob("rumvault_logging-*.whl")
    target = out / "site"
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(target)
    return target


def run(
    installed: Path, script: str, *, cwd: Path, timeout: float = 60
) -> subprocess.CompletedProcess:
    """``script`` in a fresh interpreter with only the unpacked wheel as project code."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO", "PYTHON"))}
    env["PYTHONPATH"] = str(installed)
    return subprocess.run(  # noqa: S603 (our own interpreter and script)
        [sys.executable, "-c", textwrap.dedent(script)],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip


def test_the_wheel_ships_rumvaults_own_detectors_and_masks_like_ingest(
    installed: Path, tmp_path: Path
) -> None:
    for name in BUNDLED:
        shipped = installed / f"rumvault_logging/_privacy/{name}.py"
        assert shipped.read_bytes() == (ROOT / f"privacy/{name}.py").read_bytes()

    result = run(
        installed,
        f"""
        import json, sys
        from rumvault_logging import _detectors
        assert _detectors.mask_text.__module__ == "rumvault_logging._privacy.detectors"
        assert "privacy" not in sys.modules  # not the repository's package
        print(json.dumps([_detectors.mask_text(t) for t in {CORPUS!r}]))
        """,
        cwd=tmp_path,
    )

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [mask_text(text) for text in CORPUS]


HANDLER_SCRIPT = """
    import logging, sys, time
    from rumvault_logging import RumvaultHandler, bind_session

    handler = RumvaultHandler({endpoint!r}, {token!r}, service_name="checkout", host="web-1",
                              host_group="eu-web", config_cache={cache!r}, max_queue={max_queue},
                              timeout=5.0, flush_timeout=5.0)
    logger = logging.getLogger("shop")
    logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    deadline = time.monotonic() + 15  # the first configuration fetch (or the cached one)
    while handler.config is None and time.monotonic() < deadline:
        time.sleep(0.05)
    logger.error("Payment for %s with card %s failed, order-4711, gateway slow",
                 "{email}", "{card}",
                 extra={{"password": "hunter2", "customer": "{email}",
                        "request_id": "123e4567-e89b-12d3-a456-426614174000",
                        "headers": {{"X-Api-Key": "s3cr3t-api-key", "Accept": "text/html"}}}})
    logger.info("login with token %s", "{jwt}")
    with bind_session("s-handler-1"):
        logger.warning("retrying for %s", "{email}")
    try:
        raise ValueError("card {card} refused")
    except ValueError:
        logger.exception("checkout crashed")
    started = time.perf_counter()
    for i in range({extra_lines}):
        logger.info("line %d", i)
    per_call = (time.perf_counter() - started) / max({extra_lines}, 1)
    print(handler.dropped, f"{{per_call * 1e6:.1f}}", file=sys.stderr)
"""


def _script(endpoint: str, token: str, cache: Path, *, max_queue: int = 1000,
            extra_lines: int = 0) -> str:  # fmt: skip
    return textwrap.dedent(HANDLER_SCRIPT).format(
        endpoint=endpoint, token=token, cache=str(cache), max_queue=max_queue, email=EMAIL,
        card=CARD, jwt=JWT, extra_lines=extra_lines,
    )  # fmt: skip


@pytest.mark.django_db(transaction=True)
def test_a_process_logging_personal_data_ships_only_masked_values_with_its_rules(
    installed: Path, tmp_path: Path, live_server
) -> None:
    application, token = new_application("shop")
    rule = {"selector": "logs.body", "pattern": r"order-\d+", "method": "replace",
            "replacement": "order-#"}  # fmt: skip
    CaptureRule.objects.create(name="orders", **rule)
    CaptureRule.objects.create(
        name="ids", level="host_group", target="eu-web", selector="logs.attributes.*",
        detector="uuid", method="remove",
    )  # fmt: skip
    CaptureRule.objects.create(
        name="gateways", level="host", target="web-2", selector="logs.body",
        pattern="gateway", method="mask",
    )  # fmt: skip
    cache = tmp_path / "rumvault-config.json"

    result = run(installed, _script(live_server.url, token, cache), cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    records = {record.severity_text: record for record in LogRecord.objects.all()}
    assert set(records) == {"ERROR", "INFO", "WARNING"}
    assert LogRecord.objects.count() == 4
    stored = everything_stored()
    for planted in PLANTED:
        assert planted not in stored, planted
    error = LogRecord.objects.get(body__startswith="Payment")
    assert error.body == "Payment for <masked> with card <masked> failed, order-#, gateway slow"
    assert error.attributes == {"customer": "<masked>", "headers": {"Accept": "text/html"}}
    assert (error.service_name, error.host_name, error.host_group) == (
        "checkout",
        "web-1",
        "eu-web",
    )
    assert error.application == application
    assert records["WARNING"].session_ref == "s-handler-1"
    crashed = LogRecord.objects.get(body="checkout crashed")
    assert crashed.severity_number == 17
    assert "ValueError: card <masked> refused" in crashed.attributes["exception.stacktrace"]
    assert json.loads(cache.read_text())["rules"][0]["name"] == "orders"


def test_with_rumvault_stopped_the_process_runs_on_and_exits_normally(
    installed: Path, tmp_path: Path
) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"
    cache = tmp_path / "cache.json"
    cache.write_text(json.dumps({"rules": [
        {"name": "orders", "selector": "logs.body", "pattern": r"order-\d+", "method": "mask"}
    ]}))  # fmt: skip
    script = _script(closed, "token", cache, max_queue=50, extra_lines=5000)
    script += f'print(handler.masker.value("logs.body", "order-17 for {EMAIL}"))\n'

    started = time.monotonic()
    result = run(installed, script, cwd=tmp_path, timeout=60)
    elapsed = time.monotonic() - started

    assert result.returncode == 0, result.stderr
    dropped, per_call_us = result.stderr.split()[-2:]
    assert int(dropped) > 0  # the bounded queue filled up, and said so
    assert float(per_call_us) < 2000  # never waited on the network (timeout: 5 s)
    assert result.stdout.strip() == "<masked> for <masked>"  # the last configuration, offline
    assert "Traceback" not in result.stderr
    assert elapsed < 40  # bounded: at most flush_timeout past the last line
