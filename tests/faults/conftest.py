"""Traffic that remembers what was acknowledged, and checks that all of it was stored once.

The collectors under test are real ``agentledger serve`` processes. In server mode their store is
a second real ``serve`` whose SQL endpoint plays the ClickHouse server (see
``tests/integration/test_durability.py``, whose helpers these build on).
"""

from __future__ import annotations

import contextlib
import http.client
import json
import multiprocessing
import multiprocessing.synchronize
import os
import socket
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from agentledger import semconv

from ..conftest import Server

SERVICE = "faults"
# A value the default redaction rules mask: such requests take the Python decoder, the others
# are spooled raw and decoded by the engine, so both paths are under fire.
_SECRET = "Authorization: Bearer abcdef0123456789abcdef"


def spans_body(span_ids: list[str], secret: bool) -> bytes:
    now = time.time_ns()
    attributes = [{"key": "note", "value": {"stringValue": _SECRET if secret else "plain"}}]
    spans = [
        {
            "traceId": uuid.uuid4().hex,
            "spanId": span_id,
            "name": "fault-span",
            "kind": 1,
            "startTimeUnixNano": str(now - 1000),
            "endTimeUnixNano": str(now),
            "attributes": attributes,
        }
        for span_id in span_ids
    ]
    resource = {"attributes": [{"key": "service.name", "value": {"stringValue": SERVICE}}]}
    body = {"resourceSpans": [{"resource": resource, "scopeSpans": [{"spans": spans}]}]}
    return json.dumps(body).encode()


def decision_body(decision_id: str) -> bytes:
    attributes = {
        semconv.EVENT_NAME: semconv.EVENT_DECISION,
        semconv.DECISION_ID: decision_id,
        semconv.DECISION_TYPE: "refund",
        semconv.DECISION_CHOSEN: "approve",
    }
    record = {
        "timeUnixNano": str(time.time_ns()),
        "body": {"stringValue": "decided"},
        "attributes": [{"key": k, "value": {"stringValue": v}} for k, v in attributes.items()],
    }
    resource = {"attributes": [{"key": "service.name", "value": {"stringValue": SERVICE}}]}
    body = {"resourceLogs": [{"resource": resource, "scopeLogs": [{"logRecords": [record]}]}]}
    return json.dumps(body).encode()


@dataclass
class Traffic:
    """Keep-alive clients sending distinct spans (and every few requests a decision) to a
    collector; they note what was acknowledged, every status, and each request's latency."""

    url: str
    key: str
    clients: int = 3
    spans_per_request: int = 20
    decisions: bool = True
    acked_spans: list[str] = field(default_factory=list)
    acked_decisions: list[str] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    timeline: list[tuple[float, int, int]] = field(default_factory=list)  # (time, status, spans)

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [
            threading.Thread(target=self._run, args=(i,), daemon=True) for i in range(self.clients)
        ]

    def __enter__(self) -> Traffic:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=30)

    def accepted_spans_between(self, start: float, end: float) -> int:
        with self._lock:
            return sum(n for at, status, n in self.timeline if start <= at < end and status == 200)

    def _run(self, client: int) -> None:
        host, port = self.url.removeprefix("http://").split(":")
        connection = http.client.HTTPConnection(host, int(port), timeout=30)
        sent = 0
        while not self._stop.is_set():
            sent += 1
            if self.decisions and sent % 5 == 0:
                decision_id = f"fault-{uuid.uuid4().hex}"
                status = self._post(connection, "/v1/logs", decision_body(decision_id))
                with self._lock:
                    self.statuses[status] += 1
                    if status == 200:
                        self.acked_decisions.append(decision_id)
                continue
            span_ids = [uuid.uuid4().hex[:16] for _ in range(self.spans_per_request)]
            status = self._post(connection, "/v1/traces", spans_body(span_ids, sent % 2 == 0))
            with self._lock:
                self.statuses[status] += 1
                self.timeline.append((time.monotonic(), status, len(span_ids)))
                if status == 200:
                    self.acked_spans.extend(span_ids)
            if status != 200:
                time.sleep(0.2)  # as an exporter backs off
                connection.close()

    def _post(self, connection: http.client.HTTPConnection, path: str, body: bytes) -> int:
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {self.key}"}
        try:
            connection.request("POST", path, body, headers)
            response = connection.getresponse()
            response.read()
            return response.status
        except (OSError, http.client.HTTPException):
            connection.close()
            return 0  # no answer: not acknowledged


def stored_counts(server: Server, span_ids: list[str], decision_ids: list[str]) -> dict[str, int]:
    """How many acknowledged spans and decisions are stored, and how many more than once."""
    client = server.client()
    client.command("CREATE TEMPORARY TABLE IF NOT EXISTS acked (Id String, Kind String)")
    client.command("TRUNCATE TABLE acked")
    rows = [[s, "span"] for s in span_ids] + [[d, "decision"] for d in decision_ids]
    if rows:
        client.insert("acked", rows, column_names=["Id", "Kind"])
    counts = client.query(
        "SELECT Kind, countIf(n >= 1), countIf(n > 1) FROM (SELECT a.Id, a.Kind,"
        " count(s.Id) AS n FROM acked AS a LEFT JOIN ("
        "   SELECT SpanId AS Id FROM otel_traces WHERE ServiceName = {s:String}"
        "   UNION ALL SELECT DecisionId AS Id FROM decisions WHERE ServiceName = {s:String}"
        " ) AS s ON a.Id = s.Id GROUP BY a.Id, a.Kind) GROUP BY Kind",
        parameters={"s": SERVICE},
    ).result_rows
    result = {"span": 0, "span_dup": 0, "decision": 0, "decision_dup": 0}
    for kind, found, duplicated in counts:
        result[kind], result[f"{kind}_dup"] = int(found), int(duplicated)
    return result


def wait_all_stored(server: Server, traffic: Traffic, timeout: float = 90.0) -> dict[str, int]:
    """Poll until every acknowledged span and decision is stored (or the timeout passes)."""
    deadline = time.monotonic() + timeout
    while True:
        counts = stored_counts(server, traffic.acked_spans, traffic.acked_decisions)
        complete = counts["span"] == len(traffic.acked_spans) and counts["decision"] == len(
            traffic.acked_decisions
        )
        if complete or time.monotonic() > deadline:
            return counts
        time.sleep(0.5)


def expected(traffic: Traffic) -> dict[str, int]:
    return {
        "span": len(traffic.acked_spans),
        "span_dup": 0,
        "decision": len(traffic.acked_decisions),
        "decision_dup": 0,
    }


def metric(url: str, name: str) -> float:
    """A value of the collector's own Prometheus metrics (0 when absent)."""
    with urllib.request.urlopen(f"{url}/metrics", timeout=10) as response:
        for line in response.read().decode().splitlines():
            if line.startswith(f"{name} "):
                return float(line.split()[1])
    return 0.0


def ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/readyz", timeout=5) as response:
            return bool(response.status == 200)
    except urllib.error.HTTPError:
        return False


class SlowProxy:
    """A TCP proxy in front of the store that, while ``slow`` is set, passes requests to it at
    ``bytes_per_second`` after ``delay`` seconds per chunk: a store that answers, slowly."""

    def __init__(self, target_port: int, bytes_per_second: int, delay: float) -> None:
        self.target_port, self.rate, self.delay = target_port, bytes_per_second, delay
        self.slow = threading.Event()
        self.slow.set()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._closed = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self) -> None:
        self._closed.set()
        self._listener.close()

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            threading.Thread(target=self._pump, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, False), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, throttled: bool) -> None:
        try:
            while chunk := source.recv(16384):
                if throttled and self.slow.is_set():
                    time.sleep(self.delay + len(chunk) / self.rate)
                sink.sendall(chunk)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                with contextlib.suppress(OSError):
                    end.shutdown(socket.SHUT_RDWR)


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


# What the Overview dashboard asks every few seconds: latency quantiles, error rates, token and
# cost totals per agent and model, the latest decisions, over the last hour.
DASHBOARD_QUERIES = (
    "SELECT ServiceName, count() AS spans, quantiles(0.5, 0.95, 0.99)(Duration) AS latency,"
    " countIf(StatusCode = 'Error') / count() AS error_rate FROM otel_traces"
    " WHERE Timestamp > now() - INTERVAL 1 HOUR GROUP BY ServiceName ORDER BY spans DESC",
    "SELECT toStartOfMinute(Timestamp) AS minute, count() AS spans, avg(Duration) AS mean"
    " FROM otel_traces WHERE Timestamp > now() - INTERVAL 1 HOUR GROUP BY minute ORDER BY minute",
    "SELECT SpanAttributes['note'] AS note, uniqExact(TraceId) AS traces, max(Duration) AS slowest"
    " FROM otel_traces WHERE Timestamp > now() - INTERVAL 1 HOUR GROUP BY note",
    "SELECT DecisionType, Chosen, count() AS n FROM decisions"
    " WHERE Timestamp > now() - INTERVAL 1 HOUR GROUP BY DecisionType, Chosen",
    "SELECT DecisionId, AgentName, Chosen, Timestamp FROM decisions"
    " ORDER BY Timestamp DESC LIMIT 20",
)


@dataclass
class QueryStorm:
    """Dashboard clients: each runs the dashboard queries back to back through the SQL endpoint
    as the read-only ``reader``, so the engine is never idle. Each client is its own process at
    the lowest CPU priority: decoding results here would take the GIL and the cores from the
    traffic being measured."""

    sql_port: int
    password: str
    clients: int = 3
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        context = multiprocessing.get_context("spawn")
        self._stop = context.Event()
        self._ready: multiprocessing.Queue[bool] = context.Queue()
        self._results: multiprocessing.Queue[tuple[list[float], list[str]]] = context.Queue()
        self._processes = [
            context.Process(
                target=_dashboard_client,
                args=(self.sql_port, self.password, self._stop, self._ready, self._results),
                daemon=True,
            )
            for _ in range(self.clients)
        ]

    def __enter__(self) -> QueryStorm:
        """Returns once every client has started and connected, so the storm's window does not
        count the processes' start-up."""
        for process in self._processes:
            process.start()
        for _ in self._processes:
            self._ready.get(timeout=120)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for _ in self._processes:
            latencies, errors = self._results.get(timeout=120)
            self.latencies.extend(latencies)
            self.errors.extend(errors)
        for process in self._processes:
            process.join(timeout=60)


def _dashboard_client(
    sql_port: int,
    password: str,
    stop: multiprocessing.synchronize.Event,
    ready: multiprocessing.Queue[bool],
    results: multiprocessing.Queue[tuple[list[float], list[str]]],
) -> None:
    # Dashboard users sit at other machines: their own CPU must not be taken from the traffic
    # being measured, only the collector's work for their queries may.
    os.nice(19)
    latencies: list[float] = []
    errors: list[str] = []
    try:
        import clickhouse_connect

        client = clickhouse_connect.get_client(
            host="127.0.0.1",
            port=sql_port,
            username="reader",
            password=password,
            database="agentledger",
        )
        ready.put(True)
        while not stop.is_set():
            for sql in DASHBOARD_QUERIES:
                started = time.perf_counter()
                try:
                    client.query(sql)
                except Exception as exc:
                    errors.append(str(exc)[:200])
                latencies.append(time.perf_counter() - started)
    except Exception as exc:  # reported to the test, which asserts there were no errors
        errors.append(f"dashboard client failed: {exc}"[:200])
    finally:
        ready.put(False)  # unblocks the test if the client failed before it was ready
        results.put((latencies, errors))
