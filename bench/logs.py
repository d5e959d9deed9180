"""Log records: OTLP ingest against plain inserts, and the handler's cost per logging call.

    .venv/bin/python bench/logs.py [--batches N] [--calls N]

Runs in a throwaway database (a temporary SQLite file, or ``rumvault_bench``
on the PostgreSQL server of ``DATABASE_URL``).

1. Ingest. Each batch is one OTLP/HTTP protobuf ``ExportLogsServiceRequest``
   of 500 records of a shop backend (bodies with order numbers, durations,
   some emails, card numbers and IP addresses; 6-9 attributes each; service
   and host resource attributes). Timed per batch, alternating:

   * the pipeline: ``POST /v1/logs`` through Django's test client (token,
     rate limit, protobuf decoding, validation, masking of every string and
     key, the insert, the OTLP response);
   * ``bulk_create``: the same rows, unmasked, built in advance;
   * ``COPY`` (PostgreSQL only): the same rows through ``COPY ... FROM STDIN``.

2. Handler. ``logger.info`` with the ``rumvault-logging`` handler attached
   (from ``agents/python``), its worker masking and shipping to a stub OTLP
   server in another process: the time each call takes in the application's
   thread, next to the same logger with no handler.
"""

from __future__ import annotations

import argparse
import logging
import random
import subprocess
import sys
import textwrap
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from throwaway_database import in_process_database

RECORDS_PER_BATCH = 500
BENCH_DATABASE = "rumvault_bench"
ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=20, help="batches of 500 records [20]")
    parser.add_argument("--calls", type=int, default=20_000, help="logger.info calls [20000]")
    parser.add_argument("--seed", type=int, default=1)
    options = parser.parse_args()
    with in_process_database(BENCH_DATABASE) as postgres:
        ingest(batches=options.batches, seed=options.seed, postgres=postgres)
    handler_overhead(calls=options.calls)


# --- 1. ingest -----------------------------------------------------------------------


def ingest(*, batches: int, seed: int, postgres: bool) -> None:
    from django.test import Client

    from sessions_app.applications import application_create

    rng = random.Random(seed)
    _, token = application_create(slug="bench-pipeline", name="Pipeline")
    baseline_app, _ = application_create(slug="bench-bulk", name="bulk_create")
    copy_app, _ = application_create(slug="bench-copy", name="COPY")
    client = Client()
    headers = {"Authorization": f"Bearer {token}", "Host": "localhost"}
    timings = {"pipeline": 0.0, "bulk_create": 0.0, "COPY": 0.0}
    for number in range(batches + 1):
        request = make_request(rng, number)
        body = request.SerializeToString()  # the client's work, not timed
        rows = plain_rows(request)

        started = time.perf_counter()
        response = client.post(
            "/v1/logs", body, content_type="application/x-protobuf", headers=headers
        )
        pipeline = time.perf_counter() - started
        assert response.status_code == 200, response.content[:300]

        started = time.perf_counter()
        bulk_insert(baseline_app, rows)
        bulk = time.perf_counter() - started

        copied = 0.0
        if postgres:
            started = time.perf_counter()
            copy_insert(copy_app, rows)
            copied = time.perf_counter() - started
        if number:  # the first batch warms caches and connections
            timings["pipeline"] += pipeline
            timings["bulk_create"] += bulk
            timings["COPY"] += copied

    records = batches * RECORDS_PER_BATCH
    rates = {name: records / seconds for name, seconds in timings.items() if seconds}
    print(f"database: {'PostgreSQL' if postgres else 'SQLite (file)'}")
    print(f"batches:  {batches} x {RECORDS_PER_BATCH} log records (OTLP protobuf)")
    labels = {
        "pipeline": "pipeline (POST /v1/logs: decode, validate, mask, insert)",
        "bulk_create": "bulk_create (same rows, unmasked)",
        "COPY": "COPY (same rows, unmasked)",
    }
    for name, rate in rates.items():
        print(f"{labels[name]:58} {rate:8.0f} records/s")
    ratio = rates["pipeline"] / rates["bulk_create"]
    print(f"ratio pipeline / bulk_create: {ratio:.2f} (target >= 0.50)")
    if "COPY" in rates:
        print(f"ratio pipeline / COPY:        {rates['pipeline'] / rates['COPY']:.2f}")


SERVICES = ("checkout", "storefront", "payments", "search")
ROUTES = ("/api/checkout", "/api/cart", "/api/search", "/api/orders/{id}", "/api/returns")
TEMPLATES = (
    "GET {route} answered 200 in {ms} ms",
    "Order A-{order} placed, {items} items, total {total} EUR",
    "Payment gateway timeout after {ms} ms for order A-{order}",
    "Retrying charge for {email} (attempt {attempt})",
    "Card {card} declined by acme-pay for order A-{order}",
    "Cache miss for product SKU-{sku}, loaded in {ms} ms",
    "Request from {ip} throttled on {route}",
)
CARDS = ("4111 1111 1111 1111", "5555555555554444", "4012-8888-8888-1881")


def make_request(rng: random.Random, number: int) -> Any:
    from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
    from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

    def kv(key: str, value: Any) -> KeyValue:
        if isinstance(value, int):
            return KeyValue(key=key, value=AnyValue(int_value=value))
        return KeyValue(key=key, value=AnyValue(string_value=str(value)))

    request = ExportLogsServiceRequest()
    resource_logs = request.resource_logs.add()
    resource_logs.resource.attributes.extend(
        [kv("service.name", rng.choice(SERVICES)), kv("host.name", f"web-{number % 4}"),
         kv("deployment.environment", "production")]
    )  # fmt: skip
    records = resource_logs.scope_logs.add().log_records
    start = datetime.now(tz=UTC) - timedelta(hours=1)
    for index in range(RECORDS_PER_BATCH):
        order = rng.randrange(100_000, 999_999)
        route = rng.choice(ROUTES).format(id=order)
        body = rng.choice(TEMPLATES).format(
            route=route, ms=rng.randrange(5, 30_000), order=order, items=rng.randrange(1, 6),
            total=f"{rng.randrange(1000, 90000) / 100:.2f}", attempt=rng.randrange(1, 4),
            email=f"customer{rng.randrange(100_000)}@example.com", card=rng.choice(CARDS),
            sku=rng.randrange(10_000), ip=f"81.2.{rng.randrange(256)}.{rng.randrange(256)}",
        )  # fmt: skip
        record = records.add()
        record.time_unix_nano = int((start + timedelta(milliseconds=index)).timestamp() * 1e9)
        record.severity_number = rng.choice((9, 9, 9, 13, 17))
        record.severity_text = {9: "INFO", 13: "WARN", 17: "ERROR"}[record.severity_number]
        record.body.string_value = body
        record.trace_id = rng.randbytes(16)
        record.span_id = rng.randbytes(8)
        attributes = [
            kv("http.request.method", rng.choice(("GET", "POST"))),
            kv("http.route", route),
            kv("http.response.status_code", rng.choice((200, 200, 200, 404, 500, 502))),
            kv("order_id", f"A-{order}"),
            kv("duration_ms", rng.randrange(1, 30_000)),
            kv("session_id", f"s-{rng.randrange(10_000):05d}"),
        ]
        if rng.random() < 0.3:
            attributes.append(kv("customer", f"customer{rng.randrange(100_000)}@example.com"))
        if rng.random() < 0.2:
            attributes.append(kv("user_agent", "Mozilla/5.0 (Android 15) Chrome/131.0"))
        if rng.random() < 0.1:
            attributes.append(kv("api_token", f"{rng.getrandbits(128):x}"))
        record.attributes.extend(attributes)
    return request


def plain_rows(request: Any) -> list[dict[str, Any]]:
    """The request's records as column values, unmasked (decoding is not timed)."""
    rows = []
    for resource_logs in request.resource_logs:
        resource = {kv.key: kv.value.string_value for kv in resource_logs.resource.attributes}
        for scope_logs in resource_logs.scope_logs:
            for record in scope_logs.log_records:
                attributes = {
                    kv.key: kv.value.string_value or kv.value.int_value for kv in record.attributes
                }
                rows.append(
                    {
                        "time": datetime.fromtimestamp(record.time_unix_nano / 1e9, UTC),
                        "severity_number": record.severity_number,
                        "severity_text": record.severity_text,
                        "body": record.body.string_value,
                        "attributes": attributes,
                        "resource": {"deployment.environment": resource["deployment.environment"]},
                        "service_name": resource["service.name"],
                        "host_name": resource["host.name"],
                        "trace_id": record.trace_id.hex(),
                        "span_id": record.span_id.hex(),
                        "session_ref": attributes.pop("session_id"),
                    }
                )
    return rows


def bulk_insert(application: Any, rows: list[dict[str, Any]]) -> None:
    from django.db import transaction

    from logs.models import LogRecord

    with transaction.atomic():
        LogRecord.objects.bulk_create(LogRecord(application=application, **row) for row in rows)


COPY_COLUMNS = ("application_id", "time", "severity_number", "severity_text", "body",
                "attributes", "resource", "service_name", "host_name", "host_group", "trace_id",
                "span_id", "session_ref")  # fmt: skip


def copy_insert(application: Any, rows: list[dict[str, Any]]) -> None:
    from django.db import connection, transaction
    from psycopg.types.json import Jsonb

    from logs.models import LogRecord

    table = LogRecord._meta.db_table
    with transaction.atomic(), connection.cursor() as cursor:
        columns = ", ".join(COPY_COLUMNS)
        with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(
                    (application.pk, row["time"], row["severity_number"], row["severity_text"],
                     row["body"], Jsonb(row["attributes"]), Jsonb(row["resource"]),
                     row["service_name"], row["host_name"], "", row["trace_id"], row["span_id"],
                     row["session_ref"])
                )  # fmt: skip


# --- 2. the handler's cost in the application's thread ------------------------------------

STUB_SERVER = textwrap.dedent(
    """
    import http.server, sys

    class Stub(http.server.BaseHTTPRequestHandler):
        def _answer(self, body):
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        def do_GET(self):
            self._answer(b'{"rules": [{"name": "orders", "selector": "logs.body", '
                         b'"pattern": "A-[0-9]+", "method": "mask"}], "personal_data": true}')
        def do_POST(self):
            self.rfile.read(int(self.headers["Content-Length"]))
            self._answer(b"{}")
        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Stub)
    print(server.server_address[1], flush=True)
    server.serve_forever()
    """
)


def handler_overhead(*, calls: int) -> None:
    sys.path.insert(0, str(ROOT / "agents/python/src"))
    from rumvault_logging import RumvaultHandler

    stub = subprocess.Popen([sys.executable, "-c", STUB_SERVER], stdout=subprocess.PIPE, text=True)
    try:
        port = int(stub.stdout.readline())  # type: ignore[union-attr]
        plain = logging.getLogger("bench.plain")
        plain.propagate = False
        plain.setLevel(logging.INFO)
        shipped = logging.getLogger("bench.shipped")
        shipped.propagate = False
        shipped.setLevel(logging.INFO)
        handler = RumvaultHandler(
            f"http://127.0.0.1:{port}", "bench-token", service_name="checkout",
            host="web-1", max_queue=calls + 1,
        )  # fmt: skip
        shipped.addHandler(handler)
        time.sleep(0.5)  # the configuration fetch

        def burst(logger: logging.Logger) -> tuple[float, float]:
            """Microseconds per call: the calling thread's CPU time, and wall time."""
            cpu, wall = time.thread_time(), time.perf_counter()
            for index in range(calls):
                logger.info(
                    "Order A-%d placed by %s, total %.2f EUR",
                    index, "customer@example.com", 79.9, extra={"order_id": index},
                )  # fmt: skip
                if index % 100 == 99:
                    time.sleep(0.001)  # an application also waits (I/O): the worker runs then
            return (
                (time.thread_time() - cpu) / calls * 1e6,
                (time.perf_counter() - wall - calls // 100 * 0.001) / calls * 1e6,
            )

        plain_cpu, plain_wall = burst(plain)
        shipped_cpu, shipped_wall = burst(shipped)
        handler.flush(timeout=120)
        print(f"handler: {calls} logger.info calls (with extra=), the worker shipping them")
        print("  to a stub OTLP server; per call in the application's thread:")
        print(f"  no handler:           {plain_cpu:6.1f} us CPU, {plain_wall:6.1f} us wall")
        print(f"  with RumvaultHandler: {shipped_cpu:6.1f} us CPU, {shipped_wall:6.1f} us wall")
        print(f"  handler's own cost:   {shipped_cpu - plain_cpu:6.1f} us CPU (target <= 50)")
        print(f"  sent {handler.sent}, dropped {handler.dropped}, failed {handler.failed}")
        handler.close()
    finally:
        stub.terminate()
        stub.wait()


if __name__ == "__main__":
    main()
