"""Shared pieces of the load and fault scripts: a gunicorn server on a
database of its own, HTTP clients with retries, latency statistics, and the
exactly-once check of what was sent against what is stored.

Only loopback addresses are ever contacted.
"""

from __future__ import annotations

import http.client
import json
import os
import random
import socket
import subprocess
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

PROJECT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
APPLICATION_SLUG = "load-shop"
READER = "load-reader"

if str(PROJECT) not in sys.path:
    sys.path.insert(0, str(PROJECT))

from config.keys import generate_keys  # noqa: E402


def production_environment(database_url: str) -> dict[str, str]:
    """The environment of the server under test: DEBUG off, as in production, with
    throwaway keys (the settings refuse to start without them). The readers all
    search as one user, far more often than RUMVAULT_RATE_SEARCH allows a person;
    the limit is raised so that the load test measures throughput (the limits
    themselves are tested in tests/security/test_item12_rate_limits.py)."""
    return {
        **os.environ,
        **generate_keys(),
        "DATABASE_URL": database_url,
        "DEBUG": "false",
        "RUMVAULT_RATE_SEARCH": "1000000/s",
        "RUMVAULT_RATE_INGEST": "1000000/s",
    }


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def manage(*args: str, environment: dict[str, str]) -> str:
    result = subprocess.run(
        [PYTHON, "manage.py", *args],
        cwd=PROJECT,
        env=environment,
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout


@dataclass
class Deployment:
    url_host: str
    port: int
    ingest_token: str
    reader_token: str
    environment: dict[str, str]


def prepare_database(environment: dict[str, str]) -> tuple[str, str]:
    """Migrate, create the application and a reader with a token; returns both tokens."""
    manage("migrate", "--noinput", "-v0", environment=environment)
    ingest_token = (
        manage(
            "create_application", APPLICATION_SLUG, "--name", "Load shop", environment=environment
        )
        .strip()
        .splitlines()[-1]
    )
    manage(
        "shell",
        "-c",
        f"from django.contrib.auth.models import User; User.objects.create_user('{READER}')",
        environment=environment,
    )
    manage("grant", "--user", READER, "--application", APPLICATION_SLUG, environment=environment)
    reader_token = manage("drf_create_token", READER, environment=environment).split()[2]
    return ingest_token, reader_token


@contextmanager
def gunicorn_server(environment: dict[str, str], *, workers: int, port: int = 0) -> Iterator[int]:
    """A gunicorn on ``port`` (0: a free one) until the block ends; yields the port."""
    port = port or free_port()
    process = subprocess.Popen(
        [PYTHON, "-m", "gunicorn", "--config", "config/gunicorn.conf.py"],
        cwd=PROJECT,
        env={
            **environment,
            "BIND": f"127.0.0.1:{port}",
            "WEB_CONCURRENCY": str(workers),
            "LOG_LEVEL": "WARNING",
        },
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                connection.request("GET", "/healthz")
                if connection.getresponse().status == 200:
                    break
            except OSError:
                time.sleep(0.2)
        else:
            raise RuntimeError("gunicorn did not become healthy within 30 s")
        yield port
    finally:
        process.terminate()
        process.wait(timeout=20)


@dataclass
class Stats:
    """Latencies (ms) and status counts per endpoint, shared by all client threads."""

    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    statuses: dict[str, dict[str, int]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(int))
    )
    # (monotonic start, endpoint, status, ms, had Retry-After): the fault script
    # looks at what happened inside the outage window.
    events: list[tuple[float, str, str, float, bool]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(
        self, endpoint: str, status: str, milliseconds: float, *, retry_after: bool = False
    ) -> None:
        with self.lock:
            self.latencies[endpoint].append(milliseconds)
            self.statuses[endpoint][status] += 1
            started = time.monotonic() - milliseconds / 1000
            self.events.append((started, endpoint, status, milliseconds, retry_after))

    def report(self, seconds: float) -> list[str]:
        lines = []
        for endpoint in sorted(self.latencies):
            values = sorted(self.latencies[endpoint])
            count = len(values)

            def percentile(share: float, values: list[float] = values, count: int = count) -> float:
                return values[min(count - 1, int(share * count))]

            statuses = ", ".join(f"{k}={v}" for k, v in sorted(self.statuses[endpoint].items()))
            lines.append(
                f"{endpoint:<8} {count / seconds:8.1f} req/s  p50 {percentile(0.50):7.1f} ms  "
                f"p95 {percentile(0.95):7.1f} ms  p99 {percentile(0.99):7.1f} ms  [{statuses}]"
            )
        return lines


class Client:
    """One keep-alive HTTP connection to the server under test."""

    def __init__(self, port: int, stats: Stats, *, timeout: float = 30) -> None:
        self.port, self.stats, self.timeout = port, stats, timeout
        self.connection: http.client.HTTPConnection | None = None

    def request(
        self, endpoint: str, method: str, path: str, *, body: object = None, headers: dict[str, str]
    ) -> tuple[int, dict[str, str], bytes]:
        data = None if body is None else json.dumps(body).encode()
        started = time.monotonic()
        try:
            if self.connection is None:
                self.connection = http.client.HTTPConnection(
                    "127.0.0.1", self.port, timeout=self.timeout
                )
            self.connection.request(
                method, path, body=data, headers={"Content-Type": "application/json", **headers}
            )
            response = self.connection.getresponse()
            payload = response.read()
            status, response_headers = response.status, dict(response.getheaders())
        except OSError as error:
            self.connection = None
            self.stats.record(endpoint, type(error).__name__, (time.monotonic() - started) * 1000)
            return 0, {}, b""
        self.stats.record(
            endpoint,
            str(status),
            (time.monotonic() - started) * 1000,
            retry_after="Retry-After" in response_headers,
        )
        if response_headers.get("Connection", "").lower() == "close":
            self.connection = None
        return status, response_headers, payload


def beacon(client_number: int, session_number: int, *, actions: int) -> dict[str, Any]:
    """A session of ``actions`` actions; the same arguments always give the same beacon."""
    started = datetime(2026, 11, 28, 10, 0, tzinfo=UTC) + timedelta(seconds=session_number)
    return {
        "session_id": f"load-{client_number}-{session_number}",
        "started_at": started.isoformat(),
        "user_tag": f"customer{session_number % 50}@example.com",
        "client_ip": f"203.0.113.{session_number % 250}",
        "browser": "Chrome 131",
        "device": "desktop",
        "actions": [
            {
                "seq": seq,
                "type": "page_view" if seq % 3 else "xhr",
                "name": f"Loading of /page/{seq}",
                "url": f"https://shop.example.com/page/{seq}?ref=mail",
                "timestamp": (started + timedelta(seconds=seq)).isoformat(),
                "duration_ms": 100 + seq,
                "http_status": 500 if seq == 7 else 200,
            }
            for seq in range(actions)
        ],
    }


@dataclass
class Sent:
    """Every (session id -> seqs) that a client got a 200 for."""

    sessions: dict[str, set[int]] = field(default_factory=lambda: defaultdict(set))
    lock: threading.Lock = field(default_factory=threading.Lock)
    gave_up: int = 0

    def add(self, session: dict[str, Any]) -> None:
        with self.lock:
            self.sessions[session["session_id"]].update(a["seq"] for a in session["actions"])


def ingest_client(
    client_number: int,
    *,
    port: int,
    token: str,
    stats: Stats,
    sent: Sent,
    stop: threading.Event,
    actions: int = 10,
    batch: int = 5,
) -> None:
    """Send sessions in two beacons each (half the actions, then all of them:
    the second is a resend with more), retrying 503s and dropped connections
    with backoff until accepted, as a real agent does."""
    client = Client(port, stats)
    headers = {"Authorization": f"Bearer {token}"}
    randomness = random.Random(client_number)
    session_number = 0
    while not stop.is_set():
        sessions = [
            beacon(client_number, session_number + offset, actions=actions)
            for offset in range(batch)
        ]
        session_number += batch
        first_halves = [{**s, "actions": s["actions"][: actions // 2]} for s in sessions]
        for payload in (first_halves, sessions):
            delay = 0.1
            while True:
                status, response_headers, _ = client.request(
                    "ingest",
                    "POST",
                    "/api/v1/ingest/sessions/",
                    body={"sessions": payload},
                    headers=headers,
                )
                if status == 200:
                    for session in payload:
                        sent.add(session)
                    break
                if status not in (0, 502, 503, 504):
                    with sent.lock:
                        sent.gave_up += 1
                    break
                retry_after = float(response_headers.get("Retry-After", delay))
                time.sleep(min(retry_after, delay) + randomness.random() * 0.1)
                delay = min(delay * 2, 2.0)


def reader_client(
    reader_number: int, *, port: int, token: str, stats: Stats, stop: threading.Event
) -> None:
    client = Client(port, stats)
    headers = {"Authorization": f"Token {token}"}
    number = 0
    while not stop.is_set():
        number += 1
        if number % 2:
            client.request("list", "GET", "/api/v1/sessions/?page_size=50", headers=headers)
        else:
            tag = f"Customer{(reader_number + number) % 50}@Example.com"
            client.request(
                "search",
                "POST",
                "/api/v1/sessions/search/",
                body={"user_tag": tag},
                headers=headers,
            )


def exactly_once_check(sent: Sent, environment: dict[str, str]) -> tuple[bool, str]:
    """Compare what the clients were told was stored with what the database holds."""
    os.environ.update(environment)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    sys.path.insert(0, str(PROJECT))
    import django

    django.setup()
    from sessions_app.models import UserAction, UserSession

    stored: dict[str, set[int]] = defaultdict(set)
    rows = UserAction.objects.filter(session__application__slug=APPLICATION_SLUG).values_list(
        "session__session_id", "seq"
    )
    action_rows = 0
    for session_id, seq in rows.iterator(chunk_size=5000):
        stored[session_id].add(seq)
        action_rows += 1
    counts = dict(
        UserSession.objects.filter(application__slug=APPLICATION_SLUG).values_list(
            "session_id", "action_count"
        )
    )
    problems = []
    expected_actions = sum(len(seqs) for seqs in sent.sessions.values())
    if action_rows != sum(len(seqs) for seqs in stored.values()):
        problems.append("an action is stored twice")
    missing = [s for s, seqs in sent.sessions.items() if not seqs <= stored.get(s, set())]
    if missing:
        problems.append(f"{len(missing)} acknowledged sessions lack actions")
    wrong_counts = [s for s, seqs in stored.items() if counts.get(s) != len(seqs)]
    if wrong_counts:
        problems.append(f"{len(wrong_counts)} sessions have a wrong action_count")
    summary = (
        f"sent {len(sent.sessions)} sessions / {expected_actions} actions acknowledged; "
        f"stored {len(counts)} sessions / {action_rows} actions"
    )
    return not problems, summary + ("; " + "; ".join(problems) if problems else "")


def start_ingest_clients(
    count: int, *, port: int, token: str, stats: Stats, sent: Sent, stop: threading.Event
) -> list[threading.Thread]:
    """Start ``count`` ingest clients (see ``ingest_client``); they run until ``stop``."""
    threads = [
        threading.Thread(
            target=ingest_client,
            args=(number,),
            kwargs={"port": port, "token": token, "stats": stats, "sent": sent, "stop": stop},
        )
        for number in range(count)
    ]
    for thread in threads:
        thread.start()
    return threads
