"""Ingest throughput of ``agentledger serve`` over OTLP/HTTP protobuf and OTLP/gRPC.

Generates realistic agent traces (agent, LLM, tool and retrieval spans with GenAI attributes and
~200-byte input/output values), sends them with N concurrent keep-alive clients for a fixed time,
then waits until every accepted span is queryable. Prints accepted spans/s, end-to-end spans/s,
p50/p99 request latency and the server's peak RSS, as medians over --repeat runs, and where the
server's CPU went, in µs per stored span: its Python threads and gRPC's core threads
(receivers, writer, statement planning), the engine's background merges, and the rest of the
engine (the inserts: decoding, rendering, views, part writing).

With ``--phoenix PATH`` (the ``phoenix`` command of an ``arize-phoenix`` install, e.g. in its own
virtualenv) the same load also goes to Arize Phoenix over OTLP/HTTP in the same run, its spans
counted through its GraphQL API, and the ratio is printed.

    python benchmarks/ingest.py --transport both --clients 4 --seconds 15 --repeat 3
    python benchmarks/ingest.py --transport http --phoenix /tmp/phoenix-venv/bin/phoenix
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span

TEXT = "The customer asks whether the refund for order 4411 can be expedited. " * 3


def _kv(key: str, value: object) -> KeyValue:
    if isinstance(value, int):
        return KeyValue(key=key, value=AnyValue(int_value=value))
    return KeyValue(key=key, value=AnyValue(string_value=str(value)))


# What an SDK with the usual resource detectors adds to a service's resource (15 attributes in
# all with the two above): ``benchmarks/writer.py --sdk-resource`` measures inserts with it.
SDK_RESOURCE: dict[str, object] = {
    "service.version": "1.4.2",
    "telemetry.sdk.name": "opentelemetry",
    "telemetry.sdk.language": "python",
    "telemetry.sdk.version": "1.30.0",
    "host.name": "agent-worker-7f9c",
    "host.arch": "amd64",
    "os.type": "linux",
    "process.pid": 4242,
    "process.runtime.name": "cpython",
    "process.runtime.version": "3.11.7",
    "process.executable.path": "/usr/local/bin/python3.11",
    "k8s.pod.name": "agent-worker-7f9c-xk2p",
    "k8s.namespace.name": "agents",
}


def make_request(
    spans: int, rng: random.Random, resource: dict[str, object] | None = None
) -> bytes:
    """One OTLP request of ``spans`` spans, in traces of 4: agent → retrieval, llm, tool; its
    resource has a service name, an environment and ``resource``."""
    request = ExportTraceServiceRequest()
    resource_spans = request.resource_spans.add()
    resource_spans.resource.attributes.extend(
        [_kv("service.name", "bench-agent"), _kv("deployment.environment", "bench")]
        + [_kv(key, value) for key, value in (resource or {}).items()]
    )
    out = resource_spans.scope_spans.add()
    out.scope.name = "agentledger"
    now = time.time_ns()
    for _ in range(spans // 4):
        trace_id, root = rng.randbytes(16), rng.randbytes(8)
        shapes = [
            (
                "invoke_agent support",
                Span.SPAN_KIND_INTERNAL,
                b"",
                {"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "support"},
            ),
            (
                "retrieval kb",
                Span.SPAN_KIND_CLIENT,
                root,
                {
                    "gen_ai.operation.name": "retrieval",
                    "gen_ai.data_source.id": "kb",
                    "input.value": TEXT,
                },
            ),
            (
                "chat gpt-4o-mini",
                Span.SPAN_KIND_CLIENT,
                root,
                {
                    "gen_ai.operation.name": "chat",
                    "gen_ai.provider.name": "openai",
                    "gen_ai.request.model": "gpt-4o-mini",
                    "gen_ai.usage.input_tokens": rng.randint(100, 3000),
                    "gen_ai.usage.output_tokens": rng.randint(10, 500),
                    "input.value": TEXT,
                    "output.value": TEXT,
                },
            ),
            (
                "execute_tool order_lookup",
                Span.SPAN_KIND_INTERNAL,
                root,
                {"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "order_lookup"},
            ),
        ]
        for i, (name, kind, parent, attrs) in enumerate(shapes):
            span = out.spans.add(
                trace_id=trace_id,
                span_id=root if i == 0 else rng.randbytes(8),
                parent_span_id=parent,
                name=name,
                kind=kind,
                start_time_unix_nano=now,
                end_time_unix_nano=now + rng.randint(10**6, 10**9),
            )
            span.attributes.extend(_kv(k, v) for k, v in attrs.items())
    return request.SerializeToString()


@dataclass
class _Target:
    """Where and how the clients send: the OTLP/HTTP or the OTLP/gRPC port of the server."""

    transport: str
    port: int
    key: str
    bodies: list[bytes]
    spans_per_request: int


def _client(target: _Target, stop_at: float, latencies: list[float], accepted: list[int]) -> None:
    if target.transport == "grpc":
        _grpc_client(target, stop_at, latencies, accepted)
    else:
        _http_client(target, stop_at, latencies, accepted)


def _grpc_client(
    target: _Target, stop_at: float, latencies: list[float], accepted: list[int]
) -> None:
    import grpc
    from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc

    requests = [ExportTraceServiceRequest.FromString(body) for body in target.bodies]
    metadata = (("authorization", f"Bearer {target.key}"),)
    with grpc.insecure_channel(f"127.0.0.1:{target.port}") as channel:
        stub = trace_service_pb2_grpc.TraceServiceStub(channel)
        i = 0
        while time.monotonic() < stop_at:
            t0 = time.perf_counter()
            try:
                stub.Export(requests[i % len(requests)], metadata=metadata, timeout=60)
                accepted.append(target.spans_per_request)
            except grpc.RpcError as exc:
                if exc.code() not in (
                    grpc.StatusCode.RESOURCE_EXHAUSTED,
                    grpc.StatusCode.UNAVAILABLE,
                ):
                    raise
                time.sleep(1)
            latencies.append(time.perf_counter() - t0)
            i += 1


def _http_client(
    target: _Target, stop_at: float, latencies: list[float], accepted: list[int]
) -> None:
    port, key, bodies, spans_per_request = (
        target.port,
        target.key,
        target.bodies,
        target.spans_per_request,
    )
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    headers = {"Content-Type": "application/x-protobuf", "Authorization": f"Bearer {key}"}
    i = 0
    while time.monotonic() < stop_at:
        t0 = time.perf_counter()
        connection.request("POST", "/v1/traces", bodies[i % len(bodies)], headers)
        response = connection.getresponse()
        response.read()
        latencies.append(time.perf_counter() - t0)
        if response.status == 200:
            accepted.append(spans_per_request)
        elif response.status in (429, 503):
            time.sleep(float(response.headers.get("Retry-After", "1")))
        i += 1
    connection.close()


_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _cpu_seconds(stat: str) -> float:
    """utime + stime of a /proc ``stat`` line (fields 14 and 15, after the command name)."""
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS


# Threads of gRPC's C core: the gRPC receiver's network side, counted with the Python threads.
_GRPC_THREADS = ("event_engine", "grpc_global_tim")


class _CpuSampler:
    """The server's CPU by stage, from /proc: the process total, and the threads that are the
    merges (the engine's MergeMutate pool) or the receivers' (Python's, named as the process is,
    and gRPC's). Threads are read every half second and keep their last reading, so a thread that
    exits mid-run (an idle worker) keeps what it used; each thread counts what it used since the
    sampler started, under the name it had last (a pooled engine thread is named for its task);
    the engine's query threads are the rest of the total.
    """

    def __init__(self, pid: int) -> None:
        self._pid = pid
        self._comm = Path(f"/proc/{pid}/comm").read_text().strip()
        self._threads: dict[int, tuple[str, float]] = {}
        self._read()
        self._before = {tid: cpu for tid, (_, cpu) in self._threads.items()}
        self._total_before = self._total
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(0.5):
            self._read()

    def _read(self) -> None:
        for task in Path(f"/proc/{self._pid}/task").iterdir():
            try:
                comm = (task / "comm").read_text().strip()
                cpu = _cpu_seconds((task / "stat").read_text())
            except OSError:  # the thread exited between listing and reading
                continue
            stage = (
                "merges"
                if comm.startswith("MergeMutate")
                else "python"
                if comm == self._comm or comm in _GRPC_THREADS
                else "engine"
            )
            self._threads[int(task.name)] = (stage, cpu)
        self._total = _cpu_seconds(Path(f"/proc/{self._pid}/stat").read_text())

    def stop(self) -> dict[str, float]:
        """CPU seconds since the sampler started: total, python, merges, engine (the rest)."""
        self._stop.set()
        self._thread.join()
        self._read()
        used = {"python": 0.0, "merges": 0.0}
        for tid, (stage, cpu) in self._threads.items():
            if stage in used:
                used[stage] += cpu - self._before.get(tid, 0.0)
        total = self._total - self._total_before
        return {**used, "total": total, "engine": total - sum(used.values())}


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


@dataclass
class _Peer:
    """A running collector under test: where to send, how to count what it stored."""

    http_port: int
    grpc_port: int
    key: str
    stored: Callable[[], int]
    pid: int


@contextmanager
def _agentledger(tmp: Path) -> Iterator[_Peer]:
    from tests.conftest import start_server, stop  # the same server fixture the suite uses

    server, proc = start_server(tmp)
    try:
        client = server.client()
        yield _Peer(
            int(server.otlp_url.rsplit(":", 1)[1]),
            server.grpc_port,
            server.api_keys["acme"],
            lambda: int(client.command("SELECT count() FROM otel_traces")),
            proc.pid,
        )
    finally:
        stop(proc)


@contextmanager
def _phoenix(tmp: Path, executable: str) -> Iterator[_Peer]:
    from tests.conftest import free_port, stop, wait_http

    port, grpc_port = free_port(), free_port()
    env = {
        **os.environ,
        "PHOENIX_WORKING_DIR": str(tmp),
        "PHOENIX_PORT": str(port),
        "PHOENIX_GRPC_PORT": str(grpc_port),
        "PHOENIX_TELEMETRY_ENABLED": "false",
    }
    log = (tmp / "phoenix.log").open("wb")
    proc = subprocess.Popen([executable, "serve"], env=env, stdout=log, stderr=log)
    try:
        wait_http(f"http://127.0.0.1:{port}/", timeout=180)
        yield _Peer(port, grpc_port, "", lambda: _phoenix_spans(port), proc.pid)
    finally:
        stop(proc)
        log.close()


def _phoenix_spans(port: int) -> int:
    query = json.dumps({"query": "{ projects { edges { node { recordCount } } } }"}).encode()
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql", query, {"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        edges = json.load(response)["data"]["projects"]["edges"]
    return sum(int(edge["node"]["recordCount"]) for edge in edges)


def run_once(
    peer: _Peer, transport: str, clients: int, seconds: float, spans_per_request: int
) -> dict[str, float]:
    rng = random.Random(1)
    bodies = [make_request(spans_per_request, rng) for _ in range(16)]
    port = peer.grpc_port if transport == "grpc" else peer.http_port
    target = _Target(transport, port, peer.key, bodies, spans_per_request)
    before = peer.stored()
    cpu = _CpuSampler(peer.pid)
    latencies: list[float] = []
    accepted: list[int] = []
    start = time.monotonic()
    threads = [
        threading.Thread(target=_client, args=(target, start + seconds, latencies, accepted))
        for _ in range(clients)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    sent_for = time.monotonic() - start
    total = sum(accepted)
    stored, progress_at = 0, time.monotonic()
    # Until every accepted span is queryable, or a peer that lost some stops making progress.
    while stored < total and time.monotonic() - progress_at < 60:
        time.sleep(0.05)
        now_stored = peer.stored() - before
        if now_stored > stored:
            stored, progress_at = now_stored, time.monotonic()
    queryable_after = progress_at - start
    used = cpu.stop()
    sampled_for = time.monotonic() - start
    latencies.sort()
    per_span = 1e6 / max(stored, 1)
    return {
        "accepted_spans_per_s": total / sent_for,
        "end_to_end_spans_per_s": stored / queryable_after,
        "unstored_spans": total - stored,  # not queryable 60 s after the last progress
        "p50_ms": latencies[len(latencies) // 2] * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99)] * 1000,
        "peak_rss_mib": _rss_mib(peer.pid),
        "server_cores_busy": used["total"] / sampled_for,
        "cpu_us_per_span": used["total"] * per_span,
        "  python_threads": used["python"] * per_span,
        "  engine_inserts": used["engine"] * per_span,
        "  engine_merges": used["merges"] * per_span,
    }


def _runs(
    start: Callable[[Path], AbstractContextManager[_Peer]],
    transport: str,
    args: argparse.Namespace,
) -> list[dict[str, float]]:
    """Each run against a fresh server, so runs do not share a warm store."""
    runs = []
    for _ in range(args.repeat):
        with tempfile.TemporaryDirectory() as tmp, start(Path(tmp)) as peer:
            runs.append(
                run_once(peer, transport, args.clients, args.seconds, args.spans_per_request)
            )
    return runs


def _print(title: str, runs: list[dict[str, float]]) -> None:
    print(f"\n{title}")
    print(f"{'metric':<26}{'median':>12}{'min':>12}{'max':>12}")
    for key in runs[0]:
        values = [run[key] for run in runs]
        low, mid, high = min(values), statistics.median(values), max(values)
        print(f"{key:<26}{mid:>12,.1f}{low:>12,.1f}{high:>12,.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--spans-per-request", type=int, default=400)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--transport", choices=["http", "grpc", "both"], default="both")
    parser.add_argument("--phoenix", help="path of the `phoenix` command to compare with")
    args = parser.parse_args()
    transports = ["http", "grpc"] if args.transport == "both" else [args.transport]
    shape = f"{args.clients} clients, {args.spans_per_request} spans/request, {args.seconds:.0f}s"
    for transport in transports:
        name = "OTLP/HTTP protobuf" if transport == "http" else "OTLP/gRPC"
        ours = _runs(_agentledger, transport, args)
        _print(f"AgentLedger, {name}, {shape}, median of {args.repeat} runs", ours)
        if args.phoenix and transport == "http":
            theirs = _runs(lambda tmp: _phoenix(tmp, args.phoenix), transport, args)
            _print(f"Arize Phoenix, {name}, {shape}, median of {args.repeat} runs", theirs)
            for key in ("accepted_spans_per_s", "end_to_end_spans_per_s"):
                ratio = statistics.median(r[key] for r in ours) / statistics.median(
                    r[key] for r in theirs
                )
                print(f"ratio AgentLedger / Phoenix, {key}: {ratio:.1f}x")


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    main()
