"""The writer alone: how fast spool segments of a given size reach the embedded store.

The end-to-end ingest benchmark shares its 2 cores between the load generator, the receiver and
the writer; this one measures only what ``AGENTLEDGER_SPOOL_SEGMENT_BYTES`` trades. For each
segment size, in a fresh process and store: the fixed cost of one insert (a segment of a single
400-span request), then full segments of realistic agent spans (the same requests as
``benchmarks/ingest.py``) appended and stored back to back through the real Spool and Writer for
``--seconds`` of storing. Prints spans stored per second of storing, the process CPU per span
(background merges included) and the peak RSS.

``--without`` measures what each optional part of the span schema costs, and so how fast the
writer could go at most: each variant strips parts of ``otel_traces`` after the migrations
(``views``: the materialized views fed from it; ``indexes``: its skip indexes; ``zstd``: ZSTD
column codecs become LZ4; ``merges``: background merges stopped, the insert alone), and
``+`` joins parts.

    python benchmarks/writer.py --segment-mib 8 16 32 --seconds 20
    python benchmarks/writer.py --segment-mib 8 --without none views indexes views+indexes+zstd
    python benchmarks/writer.py --segment-mib 16 --seconds 30 --sdk-resource
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from agentledger.storage.chdb_store import ChdbStore

_SPANS_PER_REQUEST = 400
_STRIPPABLE = ("views", "indexes", "zstd", "merges")


def measure(
    segment_mib: int, seconds: float, without: str = "none", sdk_resource: bool = False
) -> dict[str, float | str]:
    from agentledger.collector.spool import RawRequest, Spool
    from agentledger.collector.writer import Writer
    from agentledger.storage.chdb_store import ChdbStore
    from agentledger.storage.migrate import migrate
    from benchmarks.ingest import SDK_RESOURCE, make_request

    rng = random.Random(1)
    resource = SDK_RESOURCE if sdk_resource else None
    bodies = [make_request(_SPANS_PER_REQUEST, rng, resource) for _ in range(16)]
    with tempfile.TemporaryDirectory() as tmp:
        store = ChdbStore(Path(tmp) / "data")
        migrate(store)
        _strip(store, without)
        spool = Spool(Path(tmp) / "spool", max_bytes=1 << 40, segment_bytes=segment_mib << 20)
        writer = Writer(spool, [store], interval=60)

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
        "without": without,
        "segment_mib": segment_mib,
        "spans_per_segment": per_segment * _SPANS_PER_REQUEST,
        "fixed_ms_per_insert": fixed * 1000,
        "stored_spans_per_s": spans / wall,
        "cpu_us_per_span": cpu / spans * 1e6,
        "peak_rss_mib": _peak_rss_mib(),
    }


def _strip(store: ChdbStore, without: str) -> None:
    """Take the parts named in ``without`` out of ``otel_traces`` (see the module doc)."""
    parts = _parts(without)

    def rows(sql: str) -> list[dict[str, str]]:
        return store.query_arrow(sql).to_pylist()

    where = "database = currentDatabase() AND table = 'otel_traces'"
    if "views" in parts:
        for row in rows(
            "SELECT arrayJoin(dependencies_table) AS view FROM system.tables "
            "WHERE database = currentDatabase() AND name = 'otel_traces'"
        ):
            store.command(f"DROP VIEW `{row['view']}`")
    if "indexes" in parts:
        for row in rows(f"SELECT name FROM system.data_skipping_indices WHERE {where}"):
            store.command(f"ALTER TABLE otel_traces DROP INDEX `{row['name']}`")
    if "zstd" in parts:
        for row in rows(
            f"SELECT name, compression_codec AS codec FROM system.columns WHERE {where} "
            "AND compression_codec LIKE '%ZSTD%'"
        ):
            lz4 = re.sub(r"ZSTD\(\d*\)", "LZ4", row["codec"])
            store.command(f"ALTER TABLE otel_traces MODIFY COLUMN `{row['name']}` {lz4}")
    if "merges" in parts:
        store.command("SYSTEM STOP MERGES otel_traces")


def _parts(without: str) -> set[str]:
    parts = set() if without == "none" else set(without.split("+"))
    if parts - set(_STRIPPABLE):
        unknown = ", ".join(sorted(parts - set(_STRIPPABLE)))
        raise argparse.ArgumentTypeError(f"{unknown}: not one of {', '.join(_STRIPPABLE)}")
    return parts


def _variant(without: str) -> str:
    _parts(without)
    return without


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
    parser.add_argument(
        "--without",
        nargs="+",
        type=_variant,
        default=["none"],
        help=f"variants to measure: none, or parts of {'+'.join(_STRIPPABLE)} joined by +",
    )
    parser.add_argument(
        "--sdk-resource",
        action="store_true",
        help="requests carry a realistic SDK resource (15 attributes) instead of 2",
    )
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:  # one size, in this process (chDB opens one store per process)
        row = measure(args.segment_mib[0], args.seconds, args.without[0], args.sdk_resource)
        print(json.dumps(row))
        return
    print(
        f"{'without':<28}{'segment MiB':>12}{'spans/segment':>15}{'fixed ms/insert':>17}"
        f"{'stored spans/s':>16}{'CPU µs/span':>13}{'peak RSS MiB':>14}"
    )
    for without, size in itertools.product(args.without, args.segment_mib):
        one = ["--one", "--segment-mib", str(size), "--seconds", str(args.seconds)]
        one += ["--without", without] + (["--sdk-resource"] if args.sdk_resource else [])
        out = subprocess.run(
            [sys.executable, __file__, *one],
            check=True,
            stdout=subprocess.PIPE,
            text=True,
        ).stdout
        row = json.loads(out.strip().splitlines()[-1])
        print(
            f"{row['without']:<28}{row['segment_mib']:>12,.0f}{row['spans_per_segment']:>15,.0f}"
            f"{row['fixed_ms_per_insert']:>17,.1f}{row['stored_spans_per_s']:>16,.0f}"
            f"{row['cpu_us_per_span']:>13,.2f}{row['peak_rss_mib']:>14,.0f}"
        )


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    main()
