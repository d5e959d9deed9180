"""Issue 9, item 8: no log line carries personal data, whatever server and format writes it.

Real servers, as an operator runs them: gunicorn with the production
configuration (JSON and plain), and ``make demo``'s runserver under DEBUG.
Each gets requests with an email in the path, personal data in the query
string and a client-sent ``X-Request-ID`` that is an IP address; then every
line it wrote is read back.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from config.keys import KEY_VARIABLES, generate_keys

PROJECT = Path(__file__).resolve().parents[2]
JANE = "jane.doe@example.com"
CLIENT_IP = "203.0.113.42"
IDN_EMAIL = "kunde@müller.de"
IDN_EMAIL_ENCODED = "kunde@m%C3%BCller.de"

REQUESTS = (
    # (path, headers): a 404 with an email in the path, a 401 with personal data
    # in the query string, and a client-sent request id that is an IP address.
    ("/api/v1/sessions/jane.doe@example.com/", {"X-Request-ID": CLIENT_IP}),
    (f"/api/v1/sessions/?user_id=u1_0badc0ffee&q={CLIENT_IP}&e=jane.doe%40example.com", {}),
    ("/dashboard/sessions/jane.doe@example.com/?token=s3cr3t-v4lue", {}),
)
SECRETS = (JANE, "jane.doe%40example.com", CLIENT_IP, "u1_0badc0ffee", "s3cr3t-v4lue")


@dataclass
class Run:
    responses: list[tuple[int, str]] = field(default_factory=list)  # (status, X-Request-ID)
    log: str = ""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def environment(**extra: str) -> dict[str, str]:
    dropped = {*KEY_VARIABLES, "DEBUG", "DJANGO_SETTINGS_MODULE", "LOG_FORMAT", "LOG_LEVEL"}
    base = {k: v for k, v in os.environ.items() if k not in dropped}
    return {**base, **generate_keys(), **extra}


@contextmanager
def server(command: list[str], env: dict[str, str], port: int) -> Iterator[Run]:
    run = Run()
    with tempfile.TemporaryFile(mode="w+") as log:
        process = subprocess.Popen(  # noqa: S603
            command, cwd=PROJECT, env=env, stdout=log, stderr=subprocess.STDOUT, text=True
        )
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    assert process.poll() is None, "the server exited"
                    assert time.monotonic() < deadline, "the server did not start"
                    time.sleep(0.2)
            yield run
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=20)
            log.seek(0)
            run.log = log.read()


def send(run: Run, port: int, path: str, headers: dict[str, str]) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request("GET", path, headers=headers)
    response = connection.getresponse()
    response.read()
    run.responses.append((response.status, response.getheader("X-Request-ID", "")))
    connection.close()


def gunicorn(port: int, log_format: str, directory: str) -> tuple[list[str], dict[str, str]]:
    command = [sys.executable, "-m", "gunicorn", "--config", "config/gunicorn.conf.py"]
    env = environment(
        BIND=f"127.0.0.1:{port}",
        WEB_CONCURRENCY="1",
        LOG_FORMAT=log_format,
        DATABASE_URL=f"sqlite:///{directory}/db.sqlite3",
    )
    return command, env


def runserver(port: int, directory: str) -> tuple[list[str], dict[str, str]]:
    # As `make demo` runs it: DEBUG on, Django's development server.
    command = [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"]
    env = environment(DEBUG="true", DATABASE_URL=f"sqlite:///{directory}/db.sqlite3")
    return command, env


SERVERS = {
    "gunicorn json": lambda port, directory: gunicorn(port, "json", directory),
    "gunicorn plain": lambda port, directory: gunicorn(port, "plain", directory),
    "runserver": runserver,
}


def serve_requests(name: str, requests: tuple[tuple[str, dict[str, str]], ...]) -> Run:
    port = free_port()
    with tempfile.TemporaryDirectory() as directory:
        command, env = SERVERS[name](port, directory)
        with server(command, env, port) as run:
            for path, headers in requests:
                send(run, port, path, headers)
            time.sleep(0.5)  # let the access log line out
    return run


@pytest.mark.parametrize("name", list(SERVERS))
def test_item8_no_server_or_format_logs_personal_data(name: str) -> None:
    run = serve_requests(name, REQUESTS)
    assert [status for status, _ in run.responses] == [404, 400, 404]
    lines = run.log.splitlines()
    request_lines = [line for line in lines if "/api/v1/sessions/" in line or "/dashboard/" in line]
    # Every request shows up (Django's warning, and the server's access line).
    assert len(request_lines) >= len(REQUESTS) * 2, run.log
    for secret in SECRETS:
        assert secret not in run.log, (secret, run.log)
    assert "/api/v1/sessions/<masked>/" in run.log
    # The client's X-Request-ID was an IP address: replaced, in the answer and the log.
    assert run.responses[0][1] != CLIENT_IP
    assert len(run.responses[0][1]) == 32


def test_item8_django_request_lines_carry_the_request_id_of_4xx_responses() -> None:
    run = serve_requests("gunicorn json", REQUESTS)
    entries = [json.loads(line) for line in run.log.splitlines() if line.startswith("{")]
    warnings = [e for e in entries if e["logger"] == "django.request"]
    access = [e for e in entries if e["logger"] == "gunicorn.access"]
    sent_ids = [request_id for _, request_id in run.responses]
    assert [e["request_id"] for e in warnings] == sent_ids
    assert [e["request_id"] for e in access] == sent_ids
    assert [e["status_code"] for e in access] == [404, 400, 404]
    assert all("?" not in e["path"] for e in access)


def test_item8_plain_lines_cannot_be_forged_with_an_encoded_line_break() -> None:
    run = serve_requests("gunicorn plain", (("/x%0A2026-01-01%20ERROR%20forged%20line", {}),))
    assert "\nforged" not in run.log
    assert not any(line.startswith("2026-01-01 ERROR forged") for line in run.log.splitlines())


@pytest.mark.parametrize("name", ["gunicorn json", "runserver"])
def test_item8_idn_emails_are_masked_in_logs(name: str) -> None:
    """The log masker is ``privacy.detectors.mask_text``, which knows internationalised emails."""
    run = serve_requests(name, ((f"/api/v1/sessions/{IDN_EMAIL_ENCODED}/", {}),))
    assert run.responses[0][0] == 404
    for form in (IDN_EMAIL, IDN_EMAIL_ENCODED, "kunde@", "ller.de"):
        assert form not in run.log, run.log
