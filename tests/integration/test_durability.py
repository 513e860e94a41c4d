"""Nothing acknowledged is lost: kill -9 during ingest, a store outage, a frozen store.

The "store" in the outage tests is a second, real ``agentledger serve`` whose SQL endpoint plays
the ClickHouse server; the collector under test runs in server mode against it.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest

from ..conftest import Server, free_port, serve_argv, start_server, stop, wait_http


def _spans_body(trace_id: str, span_ids: list[str]) -> bytes:
    now = time.time_ns()
    spans = [
        {
            "traceId": trace_id,
            "spanId": span_id,
            "name": "durable",
            "kind": 1,
            "startTimeUnixNano": str(now),
            "endTimeUnixNano": str(now + 1000),
        }
        for span_id in span_ids
    ]
    body = {
        "resourceSpans": [
            {
                "resource": {
                    "attributes": [{"key": "service.name", "value": {"stringValue": "durability"}}]
                },
                "scopeSpans": [{"spans": spans}],
            }
        ]
    }
    return json.dumps(body).encode()


def _send(url: str, key: str, body: bytes) -> int:
    request = urllib.request.Request(
        f"{url}/v1/traces",
        data=body,
        method="POST",
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {key}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return 0


class _Load:
    """Clients that keep sending distinct spans and remember which ones were acknowledged."""

    def __init__(self, url: str, key: str, clients: int = 3, spans_per_request: int = 20) -> None:
        self.url, self.key, self.n = url, key, spans_per_request
        self.acked: list[str] = []
        self.statuses: list[int] = []
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._run, daemon=True) for _ in range(clients)]

    def __enter__(self) -> _Load:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=30)

    def _run(self) -> None:
        while not self._stop.is_set():
            span_ids = [uuid.uuid4().hex[:16] for _ in range(self.n)]
            status = _send(self.url, self.key, _spans_body(uuid.uuid4().hex, span_ids))
            with self._lock:
                self.statuses.append(status)
                if status == 200:
                    self.acked += span_ids
            if status in (429, 503):
                time.sleep(0.2)


def _stored_once(server: Server, span_ids: list[str]) -> tuple[int, int]:
    """(acknowledged spans found, acknowledged spans found more than once)."""
    client = server.client()
    client.command("CREATE TEMPORARY TABLE acked (SpanId String)")
    client.insert("acked", [[s] for s in span_ids], column_names=["SpanId"])
    found, duplicated = client.query(
        "SELECT countIf(n >= 1), countIf(n > 1) FROM (SELECT a.SpanId, count(t.SpanId) AS n"
        " FROM acked AS a LEFT JOIN (SELECT SpanId FROM otel_traces"
        " WHERE ServiceName = 'durability') AS t ON a.SpanId = t.SpanId GROUP BY a.SpanId)"
    ).result_rows[0]
    return int(found), int(duplicated)


def _wait_stored(server: Server, span_ids: list[str], timeout: float = 60) -> tuple[int, int]:
    deadline = time.monotonic() + timeout
    while True:
        found, duplicated = _stored_once(server, span_ids)
        if found == len(span_ids) or time.monotonic() > deadline:
            return found, duplicated
        time.sleep(0.5)


def test_kill_9_during_ingest_then_restart(tmp_path: Path) -> None:
    server, proc = start_server(tmp_path)
    with _Load(server.otlp_url, server.api_keys["acme"]) as load:
        time.sleep(3)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        time.sleep(0.5)
    assert len(load.acked) > 100
    restarted = subprocess.Popen(proc.args, env=server.env)
    try:
        wait_http(f"{server.otlp_url}/readyz", proc=restarted)
        wait_http(f"http://127.0.0.1:{server.sql_port}/ping", proc=restarted)
        found, duplicated = _wait_stored(server, load.acked)
        assert (found, duplicated) == (len(load.acked), 0)
    finally:
        stop(restarted)


def _store_process(tmp_path: Path) -> tuple[Server, subprocess.Popen[bytes]]:
    return start_server(tmp_path / "store")


def _collector(store: Server, tmp_path: Path, **env: str) -> tuple[str, subprocess.Popen[bytes]]:
    port = free_port()
    environment = dict(store.env)
    environment.update(
        AGENTLEDGER_CLICKHOUSE_URL=f"http://admin:{store.admin_password}@127.0.0.1:{store.sql_port}",
        AGENTLEDGER_FLUSH_INTERVAL_SECONDS="0.1",
        **env,
    )
    proc = subprocess.Popen(serve_argv(tmp_path / "collector", port, free_port()), env=environment)
    url = f"http://127.0.0.1:{port}"
    wait_http(f"{url}/healthz", proc=proc)
    return url, proc


def test_store_outage_spools_then_recovers_without_loss(tmp_path: Path) -> None:
    store, store_proc = _store_process(tmp_path)
    url, collector = _collector(store, tmp_path)
    try:
        with _Load(url, store.api_keys["acme"]) as load:
            time.sleep(1.5)
            stop(store_proc)  # the ClickHouse server goes away
            time.sleep(3)
            acked_during_outage = len(load.acked)
            store_proc = subprocess.Popen(store_proc.args, env=store.env)
            wait_http(f"http://127.0.0.1:{store.sql_port}/ping", proc=store_proc)
            time.sleep(1.5)
        assert acked_during_outage > 0 and 200 in load.statuses
        found, duplicated = _wait_stored(store, load.acked)
        assert (found, duplicated) == (len(load.acked), 0)
        with urllib.request.urlopen(f"{url}/metrics", timeout=10) as response:
            assert "agentledger_spool_bytes" in response.read().decode()
    finally:
        stop(collector)
        stop(store_proc)


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


@pytest.mark.skipif(not hasattr(signal, "SIGSTOP"), reason="needs POSIX job control")
def test_a_frozen_store_gets_retryable_refusals_and_bounded_memory(tmp_path: Path) -> None:
    store, store_proc = _store_process(tmp_path)
    url, collector = _collector(store, tmp_path, AGENTLEDGER_SPOOL_MAX_BYTES="300000")
    try:
        with _Load(url, store.api_keys["acme"], clients=4) as load:
            time.sleep(1)
            os.kill(store_proc.pid, signal.SIGSTOP)  # the store hangs: every write stalls
            time.sleep(6)
            rss_frozen = _rss_mib(collector.pid)
            refused = sum(1 for status in load.statuses if status in (429, 503))
            os.kill(store_proc.pid, signal.SIGCONT)
            time.sleep(2)
        assert refused > 0, load.statuses[-20:]
        assert set(load.statuses) <= {200, 429, 503}
        assert rss_frozen < 1024
        found, duplicated = _wait_stored(store, load.acked)
        assert (found, duplicated) == (len(load.acked), 0)
    finally:
        os.kill(store_proc.pid, signal.SIGCONT)
        stop(collector)
        stop(store_proc)
