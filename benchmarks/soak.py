"""Soak: ``agentledger serve`` at half its measured maximum ingest rate for N minutes, with a
dashboard-style SQL query every second, watching for slow leaks.

First measures the maximum rate (OTLP/HTTP protobuf, the clients and requests of
``benchmarks/ingest.py``: the lower of accepted and stored end to end), then sends at half of it,
paced, for ``--minutes``. Every minute it
prints accepted and stored spans/s, p99 request latency, p99 dashboard query latency and the
server's RSS. The first minute is warm-up; after it RSS must not grow: the verdict compares the
last minute with the first after warm-up and fits a slope over them all.

    python benchmarks/soak.py                  # 10 minutes
    python benchmarks/soak.py --minutes 2      # a short check
"""

from __future__ import annotations

import argparse
import http.client
import random
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.ingest import _Peer, make_request, run_once
from tests.conftest import Server, start_server, stop
from tests.faults.conftest import DASHBOARD_QUERIES

# The dashboard's queries over the last minute, like a live view: their work stays the same while
# the table grows, so RSS growth means a leak, not a scan over more and more data.
_LIVE_QUERIES = tuple(q.replace("INTERVAL 1 HOUR", "INTERVAL 1 MINUTE") for q in DASHBOARD_QUERIES)
# RSS may rise this much per minute after warm-up (allocator noise, merges) and still be flat.
_FLAT_MIB_PER_MINUTE = 8.0


@dataclass
class _Minute:
    """What happened in one minute of the soak."""

    accepted: int = 0
    refused: int = 0
    latencies: list[float] = field(default_factory=list)
    query_latencies: list[float] = field(default_factory=list)
    query_errors: int = 0


class _Soak:
    """Paced senders and a dashboard, each filing what it saw under the current minute."""

    def __init__(self, server: Server, rate: float, clients: int, spans_per_request: int) -> None:
        self.server, self.spans = server, spans_per_request
        self.interval = clients * spans_per_request / rate  # seconds between one sender's requests
        rng = random.Random(7)
        self.bodies = [make_request(spans_per_request, rng) for _ in range(32)]
        self.minutes: list[_Minute] = [_Minute()]
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._send, daemon=True) for _ in range(clients)]
        self._threads.append(threading.Thread(target=self._dashboard, daemon=True))

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=60)

    def _send(self) -> None:
        host, port = self.server.otlp_url.removeprefix("http://").split(":")
        connection = http.client.HTTPConnection(host, int(port), timeout=60)
        headers = {
            "Content-Type": "application/x-protobuf",
            "Authorization": f"Bearer {self.server.api_keys['acme']}",
        }
        due, i = time.monotonic() + random.random() * self.interval, 0
        while not self._stop.is_set():
            pause = due - time.monotonic()
            if pause > 0 and self._stop.wait(pause):
                return
            due += self.interval
            started = time.perf_counter()
            connection.request("POST", "/v1/traces", self.bodies[i % len(self.bodies)], headers)
            response = connection.getresponse()
            response.read()
            minute = self.minutes[-1]
            minute.latencies.append(time.perf_counter() - started)
            if response.status == 200:
                minute.accepted += self.spans
            else:
                minute.refused += 1
            i += 1

    def _dashboard(self) -> None:
        client = self.server.client("reader")
        i = 0
        while not self._stop.wait(1.0):
            started = time.perf_counter()
            try:
                client.query(_LIVE_QUERIES[i % len(_LIVE_QUERIES)])
            except Exception:
                self.minutes[-1].query_errors += 1
            self.minutes[-1].query_latencies.append(time.perf_counter() - started)
            i += 1


def _rss_mib(pid: int) -> float:
    """Current resident memory (ingest.py reports the peak, VmHWM; a leak shows in VmRSS)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _p99_ms(values: list[float]) -> float:
    return sorted(values)[int(len(values) * 0.99)] * 1000 if values else float("nan")


def _verdict(samples: list[tuple[float, float]]) -> tuple[bool, str]:
    """Flat when RSS after the warm-up minute does not rise from its first third to its last
    third by more than noise: the allowed drift, or the swing seen within the first third
    (merges and caches make RSS a sawtooth, hence medians)."""
    after = [(minute, rss) for minute, rss in samples if minute >= 1.0]
    third = len(after) // 3
    if third < 2:
        return True, "too short to judge: run at least 2 minutes"
    early, late = after[:third], after[-third:]
    apart = statistics.fmean(t for t, _ in late) - statistics.fmean(t for t, _ in early)
    rise = statistics.median(r for _, r in late) - statistics.median(r for _, r in early)
    detail = (
        f"after warm-up, median RSS {statistics.median(r for _, r in early):.0f} ->"
        f" {statistics.median(r for _, r in late):.0f} MiB over {apart:.1f} min"
        f" ({rise / apart:+.1f} MiB/min; max {max(r for _, r in after):.0f} MiB)"
    )
    swing = max(r for _, r in early) - min(r for _, r in early)
    return rise <= max(_FLAT_MIB_PER_MINUTE * apart, swing), detail


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--spans-per-request", type=int, default=400)
    parser.add_argument("--measure-seconds", type=float, default=10)
    parser.add_argument("--rate", type=float, help="spans/s to hold (default: half the max)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        server, proc = start_server(Path(tmp))
        try:
            _soak(server, proc.pid, args)
        finally:
            stop(proc)


def _soak(server: Server, pid: int, args: argparse.Namespace) -> None:
    admin = server.client()

    def stored() -> int:
        return int(admin.command("SELECT count() FROM otel_traces"))

    rate = args.rate
    if rate is None:
        port = int(server.otlp_url.rsplit(":", 1)[1])
        peer = _Peer(port, server.grpc_port, server.api_keys["acme"], stored, pid)
        measured = run_once(
            peer, "http", args.clients, args.measure_seconds, args.spans_per_request
        )
        # Sustainable means stored, not just accepted: the spool absorbs the difference only
        # until it is full.
        accepted, stored_rate = measured["accepted_spans_per_s"], measured["end_to_end_spans_per_s"]
        rate = min(accepted, stored_rate) / 2
        print(
            f"max rate over {args.measure_seconds:.0f} s: {accepted:,.0f} spans/s accepted,"
            f" {stored_rate:,.0f} spans/s stored; soaking at half the lower: {rate:,.0f} spans/s"
        )
    soak = _Soak(server, rate, args.clients, args.spans_per_request)
    minutes = max(1, round(args.minutes))
    print(
        f"{'minute':>6} {'accepted/s':>11} {'stored/s':>10} {'refused':>8} {'p99 ms':>8}"
        f" {'query p99 ms':>13} {'query errors':>13} {'RSS MiB':>8}"
    )
    samples: list[tuple[float, float]] = []  # (minutes since start, RSS MiB) every 5 s
    before = stored()
    started = time.monotonic()
    soak.start()
    try:
        for number in range(1, minutes + 1):
            while (elapsed := time.monotonic() - started) < number * 60:
                time.sleep(min(5.0, number * 60 - elapsed))
                samples.append(((time.monotonic() - started) / 60, _rss_mib(pid)))
            minute = soak.minutes[-1]
            soak.minutes.append(_Minute())
            now_stored = stored()
            print(
                f"{number:>6} {minute.accepted / 60:>11,.0f} {(now_stored - before) / 60:>10,.0f}"
                f" {minute.refused:>8} {_p99_ms(minute.latencies):>8.1f}"
                f" {_p99_ms(minute.query_latencies):>13.1f} {minute.query_errors:>13}"
                f" {samples[-1][1]:>8.0f}",
                flush=True,
            )
            before = now_stored
    finally:
        soak.stop()
    flat, detail = _verdict(samples)
    print(f"verdict: {'RSS flat after warm-up' if flat else 'RSS GROWS after warm-up'} ({detail})")
    if not flat:
        sys.exit(1)


if __name__ == "__main__":
    main()
