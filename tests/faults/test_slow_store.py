"""A slow store: the collector answers 429 / RESOURCE_EXHAUSTED with Retry-After once its spool is
full, its memory stays bounded, and everything acknowledged is stored once the store keeps up."""

from __future__ import annotations

import subprocess
import time
import urllib.request
from pathlib import Path

import grpc  # type: ignore[import-untyped]
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc

from agentledger.collector.otlp_codec import decode

from ..conftest import free_port, serve_argv, stop, wait_http
from ..integration.test_durability import _store_process
from .conftest import SlowProxy, Traffic, expected, rss_mib, spans_body, wait_all_stored

SPOOL_LIMIT = 1_500_000


def test_a_slow_store_gets_429_and_bounded_memory(tmp_path: Path) -> None:
    store, store_proc = _store_process(tmp_path)
    proxy = SlowProxy(store.sql_port, bytes_per_second=500_000, delay=0.02)
    proxy.slow.clear()  # migrations and key loading at full speed
    port, grpc_port = free_port(), free_port()
    env = dict(
        store.env,
        AGENTLEDGER_CLICKHOUSE_URL=f"http://admin:{store.admin_password}@127.0.0.1:{proxy.port}",
        AGENTLEDGER_SPOOL_MAX_BYTES=str(SPOOL_LIMIT),
        AGENTLEDGER_FLUSH_INTERVAL_SECONDS="0.1",
    )
    collector = subprocess.Popen(serve_argv(tmp_path / "c", port, grpc_port), env=env)
    url = f"http://127.0.0.1:{port}"
    traffic = Traffic(url, store.api_keys["acme"], clients=4)
    rss: list[float] = []
    try:
        wait_http(f"{url}/healthz", proc=collector)
        proxy.slow.set()
        with traffic:
            for _ in range(12):
                time.sleep(1)
                rss.append(rss_mib(collector.pid))
            grpc_code = _grpc_export(grpc_port, store.api_keys["acme"])
            slow_statuses = dict(traffic.statuses)
            proxy.slow.clear()
            time.sleep(3)
        print("statuses while slow", slow_statuses, "rss", rss)
        assert slow_statuses.get(429, 0) > 0, slow_statuses
        assert grpc_code == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert set(traffic.statuses) <= {200, 429}, traffic.statuses
        assert max(rss) < 600, rss
        assert max(rss[6:]) < max(rss[:6]) * 1.25 + 20, rss  # no growth while refusing
        assert wait_all_stored(store, traffic) == expected(traffic)
        with urllib.request.urlopen(f"{url}/readyz", timeout=5) as answer:
            assert answer.status == 200
    finally:
        stop(collector)
        proxy.close()
        stop(store_proc)


def _grpc_export(port: int, key: str) -> grpc.StatusCode:
    """The gRPC answer to big exports while the spool is full (OK if all were taken)."""
    body = spans_body([f"{i:016x}" for i in range(2000)], secret=False)
    request = decode(body, trace_service_pb2.ExportTraceServiceRequest, json_encoded=True)
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = trace_service_pb2_grpc.TraceServiceStub(channel)
        for _ in range(20):
            try:
                stub.Export(request, metadata=[("authorization", f"Bearer {key}")], timeout=10)
            except grpc.RpcError as exc:
                code: grpc.StatusCode = exc.code()
                return code
            time.sleep(0.1)
    return grpc.StatusCode.OK
