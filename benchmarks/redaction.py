"""Redaction throughput on attribute maps: 100k values with ~1% PII, best of 5 runs.

python benchmarks/redaction.py
"""

from __future__ import annotations

import statistics
import time

import pyarrow as pa

from agentledger.collector.redaction import BUILTIN_RULES, RedactionConfig, Redactor

ATTRS = pa.map_(pa.string(), pa.string())


def main() -> None:
    plain = ["gpt-4o-mini", "chat", "200", "2024-01-15T10:30:00Z", "https://api.example.com/v1"]
    pii = ["mail jane@example.com", "Bearer abc123def456ghi789", "card 4111 1111 1111 1111"]
    values = [pii[i % 3] if i % 100 == 0 else plain[i % 5] for i in range(100_000)]
    rows = [[(f"attr.{j}", values[i + j]) for j in range(10)] for i in range(0, 100_000, 10)]
    table = pa.table({"SpanAttributes": pa.array(rows, ATTRS)})
    print(f"{'rules':<16}{'median values/s':>18}{'best values/s':>16}")
    for name, redactor in (
        ("secrets", Redactor()),
        ("all built-in", Redactor(RedactionConfig(rules=BUILTIN_RULES))),
    ):
        times = []
        for _ in range(5):
            start = time.perf_counter()
            redactor.redact_table(table, ["SpanAttributes"])
            times.append(time.perf_counter() - start)
        print(
            f"{name:<16}{100_000 / statistics.median(times):>18,.0f}{100_000 / min(times):>16,.0f}"
        )


if __name__ == "__main__":
    main()
