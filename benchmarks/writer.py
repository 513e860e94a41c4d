"""The writer alone: how fast spool segments of a given size reach the embedded store.

The end-to-end ingest benchmark shares its 2 cores between the load generator, the receiver and
the writer; this one measures only what ``AGENTLEDGER_SPOOL_SEGMENT_BYTES`` trades. For each
segment size, in a fresh process and store: the fixed cost of one insert (a segment of a single
400-span request), then full segments of realistic agent spans (the same requests as
``benchmarks/ingest.py``) appended and stored back to back through the real Spool and Writer for
``--seconds`` of storing. Prints spans stored per second of storing, the process CPU per span
(background merges included) and the peak RSS.

    python benchmarks/writer.py --segment-mib 8 16 32 --seconds 20
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

_SPANS_PER_REQUEST = 400


def measure(segment_mib: int, seconds: float) -> dict[str, float]:
    from agentledger.collector.spool import RawRequest, Spool
    from agentledger.collector.writer import Writer
    from agentledger.storage.chdb_store import ChdbStore
    from agentledger.storage.migrate import migrate
    from benchmarks.ingest import make_request

    rng = random.Random(1)
    bodies = [make_request(_SPANS_PER_REQUEST, rng) for _ in range(16)]
    with tempfile.TemporaryDirectory() as tmp:
        store = ChdbStore(Path(tmp) / "data")
        migrate(store)
        spool = Spool(Path(tmp) / "spool", max_bytes=1 << 40, segment_bytes=segment_mib << 20)
        writer = Writer(spool, store, interval=60)

        def store_segment(requests: int) -> tuple[int, float, float]:
            for i in range(requests):
                spool.append_raw(
                    "otel_traces", RawRequest("bench", _SPANS_PER_REQUEST, bodies[i % 16])
                )
            spool.rotate()
            wall, cpu = time.perf_counter(), time.process_time()
            stored = writer.drain()
            return stored, time.perf_counter() - wall, time.process_time() - cpu

        fixed = statistics.median(store_segment(1)[1] for _ in range(5))
        per_segment = max(1, (segment_mib << 20) // len(bodies[0]))  # requests that fit
        spans = wall = cpu = 0.0
        while wall < seconds:
            stored, took, used = store_segment(per_segment)
            spans, wall, cpu = spans + stored, wall + took, cpu + used
        count = int(store.raw("SELECT count() FROM otel_traces").strip())
        store.close()
    assert count == spans + 5 * _SPANS_PER_REQUEST, (count, spans)
    return {
        "segment_mib": segment_mib,
        "spans_per_segment": per_segment * _SPANS_PER_REQUEST,
        "fixed_ms_per_insert": fixed * 1000,
        "stored_spans_per_s": spans / wall,
        "cpu_us_per_span": cpu / spans * 1e6,
        "peak_rss_mib": _peak_rss_mib(),
    }


def _peak_rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--segment-mib", type=int, nargs="+", default=[8, 16, 32])
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:  # one size, in this process (chDB opens one store per process)
        print(json.dumps(measure(args.segment_mib[0], args.seconds)))
        return
    print(
        f"{'segment MiB':>12}{'spans/segment':>15}{'fixed ms/insert':>17}"
        f"{'stored spans/s':>16}{'CPU µs/span':>13}{'peak RSS MiB':>14}"
    )
    for size in args.segment_mib:
        one = ["--one", "--segment-mib", str(size), "--seconds", str(args.seconds)]
        out = subprocess.run(
            [sys.executable, __file__, *one],
            check=True,
            stdout=subprocess.PIPE,
            text=True,
        ).stdout
        row = json.loads(out.strip().splitlines()[-1])
        print(
            f"{row['segment_mib']:>12,.0f}{row['spans_per_segment']:>15,.0f}"
            f"{row['fixed_ms_per_insert']:>17,.1f}{row['stored_spans_per_s']:>16,.0f}"
            f"{row['cpu_us_per_span']:>13,.2f}{row['peak_rss_mib']:>14,.0f}"
        )


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    main()
