"""Redaction throughput: attribute maps (100k values with ~1% PII), and the scan of whole raw
trace requests the receiver runs before it spools a request for the engine (400-span requests of
``benchmarks/ingest.py``), against RE2 through Arrow on the same bytes and patterns. Medians and
bests of 5 runs.

python benchmarks/redaction.py
"""

from __future__ import annotations

import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from agentledger.collector.redaction import (
    BUILTIN_RULES,
    RedactionConfig,
    Redactor,
    _raw_patterns,
)
from benchmarks.ingest import make_request

ATTRS = pa.map_(pa.string(), pa.string())
CONFIGS = (("secrets", RedactionConfig()), ("all built-in", RedactionConfig(rules=BUILTIN_RULES)))


def _times(run: Callable[..., object], *args: object) -> list[float]:
    times = []
    for _ in range(5):
        start = time.perf_counter()
        run(*args)
        times.append(time.perf_counter() - start)
    return times


def _scan(may_redact: Callable[[bytes], bool], requests: list[bytes]) -> None:
    for request in requests:
        may_redact(request)


def _re2(pattern: str, arrays: list[pa.Array]) -> None:
    for array in arrays:
        pc.match_substring_regex(array, pattern)


def attribute_maps() -> None:
    plain = ["gpt-4o-mini", "chat", "200", "2024-01-15T10:30:00Z", "https://api.example.com/v1"]
    pii = ["mail jane@example.com", "Bearer abc123def456ghi789", "card 4111 1111 1111 1111"]
    values = [pii[i % 3] if i % 100 == 0 else plain[i % 5] for i in range(100_000)]
    rows = [[(f"attr.{j}", values[i + j]) for j in range(10)] for i in range(0, 100_000, 10)]
    table = pa.table({"SpanAttributes": pa.array(rows, ATTRS)})
    print(f"{'attribute maps':<16}{'median values/s':>18}{'best values/s':>16}")
    for name, config in CONFIGS:
        redactor = Redactor(config)
        times = _times(redactor.redact_table, table, ["SpanAttributes"])
        print(
            f"{name:<16}{100_000 / statistics.median(times):>18,.0f}{100_000 / min(times):>16,.0f}"
        )


def raw_requests(count: int = 200) -> None:
    rng = random.Random(1)
    requests = [make_request(400, rng) for _ in range(16)] * (count // 16)
    size = sum(map(len, requests)) / len(requests)
    print(f"\nraw trace requests ({size / 1000:.0f} KB, 400 spans), µs a request (median, best)")
    print(f"{'rules':<16}{'Hyperscan':>16}{'RE2 (Arrow)':>16}{'ratio':>8}")
    for name, config in CONFIGS:
        redactor = Redactor(config)
        pattern = "|".join(f"(?:{p})" for p in _raw_patterns(config, set(config.rules)) or [])
        arrays = [pa.array([request], pa.binary()) for request in requests]
        hs = _times(_scan, redactor.may_redact, requests)
        re2 = _times(_re2, pattern, arrays)
        hs_us, re2_us = (1e6 * statistics.median(t) / len(requests) for t in (hs, re2))
        best = f"{1e6 * min(hs) / len(requests):.0f} / {1e6 * min(re2) / len(requests):.0f}"
        print(f"{name:<16}{hs_us:>16.1f}{re2_us:>16.1f}{re2_us / hs_us:>7.1f}x  (best {best})")


if __name__ == "__main__":
    attribute_maps()
    raw_requests()
