"""Cost analytics at scale: the cost rollup job over N generated spans (target: 10M in < 3 s),
then the reads it serves and a query-time restatement of the same spans.

python benchmarks/analytics_cost.py [--spans 10000000]

Spans are generated inside ClickHouse with numbers() in a temporary data directory: 5 tenants,
4 services, 20 agents with 3 versions each, 9 models (one unpriced, one above its long-context
tier now and then), cached and reasoning tokens, spread over the last 7 days.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from agentledger.analytics.cost import cost_totals, run_cost_job
from agentledger.analytics.prices import seed_default_prices
from agentledger.storage.chdb_store import ChdbStore
from agentledger.storage.migrate import migrate
from agentledger.storage.store import query_rows

_MODELS = (
    "gpt-4o-mini",
    "gpt-4.1",
    "o4-mini",
    "claude-3-5-haiku",
    "claude-sonnet-4-5",
    "gemini-2.5-pro",
    "gemini-2.5-flash",
    "mistral-large-latest",
    "home-made-llm",
)
_PROVIDERS = (
    *("openai", "openai", "openai", "anthropic", "anthropic"),
    *("gcp.gemini", "gcp.gemini", "mistral_ai", ""),
)

_GENERATE = """
INSERT INTO otel_traces (Timestamp, TraceId, SpanId, SpanName, SpanKind, ServiceName,
    SpanAttributes, Duration, StatusCode, TenantId)
SELECT now64(9) - toIntervalMillisecond(number * {spread_ms:UInt64} % 604800000),
       lower(hex(cityHash64(intDiv(number, 5)))),
       lower(hex(cityHash64(number, 1))),
       'chat', 'Client', concat('svc-', toString(number % 4)),
       map('gen_ai.operation.name', 'chat',
           'gen_ai.provider.name', arrayElement({providers:Array(String)}, number % 9 + 1),
           'gen_ai.request.model', arrayElement({models:Array(String)}, number % 9 + 1),
           'gen_ai.agent.name', concat('agent-', toString(number % 20)),
           'gen_ai.agent.version', concat('v', toString(number % 3)),
           'gen_ai.usage.input_tokens',
               toString(if(number % 97 = 0, 250000, 200 + cityHash64(number) % 4000)),
           'gen_ai.usage.output_tokens', toString(20 + cityHash64(number, 2) % 800),
           'gen_ai.usage.cache_read.input_tokens', toString(if(number % 3 = 0, 150, 0)),
           'gen_ai.usage.reasoning.output_tokens', toString(if(number % 9 = 2, 10, 0))),
       50000000 + cityHash64(number, 3) % 900000000,
       if(number % 50 = 0, 'Error', 'Unset'),
       concat('tenant-', toString(number % 5))
FROM numbers({spans:UInt64})
"""


def _timed(name: str, spans: int, fn: Callable[[], object]) -> dict[str, object]:
    """Run ``fn`` once; ``spans`` is how many stored spans it has to read."""
    start = time.perf_counter()
    result = fn()
    seconds = time.perf_counter() - start
    rows = len(result) if isinstance(result, list) else getattr(result, "rows", 0)
    return {
        "benchmark": name,
        "spans": spans,
        "seconds": round(seconds, 3),
        "spans_per_s": round(spans / seconds),
        "rows": rows,
    }


def _spans_since(store: ChdbStore, moment: datetime) -> int:
    return int(
        query_rows(
            store,
            "SELECT count() AS n FROM otel_traces WHERE Timestamp >= {t:DateTime64(9)}",
            {"t": moment.strftime("%Y-%m-%d %H:%M:%S")},
        )[0]["n"]
    )


def run(spans: int = 10_000_000) -> list[dict[str, object]]:
    """Generate ``spans`` spans in a temporary store and time the cost analytics over them."""
    folder = Path(tempfile.mkdtemp(prefix="agentledger-bench-cost-"))
    store = ChdbStore(folder / "data")
    try:
        migrate(store)
        seed_default_prices(store)
        store.command(
            _GENERATE,
            {
                "spans": spans,
                "spread_ms": max(1, 604_800_000 // max(spans, 1)),
                "models": list(_MODELS),
                "providers": list(_PROVIDERS),
            },
        )
        store.command("OPTIMIZE TABLE otel_traces FINAL")
        stored = int(query_rows(store, "SELECT count() AS n FROM otel_traces")[0]["n"])
        week = datetime.now(UTC) - timedelta(days=8)
        yesterday = (datetime.now(UTC) - timedelta(days=1)).replace(hour=0, minute=0, second=0)
        return [
            _timed("cost job: first run, every day", stored, lambda: run_cost_job(store)),
            _timed(
                "cost job: next run (yesterday, today)",
                _spans_since(store, yesterday),
                lambda: run_cost_job(store),
            ),
            _timed("totals by model (rollups)", stored, lambda: cost_totals(store, "model", week)),
            _timed(
                "totals by agent_version (rollups)",
                stored,
                lambda: cost_totals(store, "agent_version", week),
            ),
            _timed(
                "restatement by model (as_of, spans)",
                stored,
                lambda: cost_totals(store, "model", week, as_of=datetime.now(UTC)),
            ),
            _timed(
                "100 costliest traces (spans)",
                stored,
                lambda: cost_totals(store, "trace", week, limit=100),
            ),
        ]
    finally:
        store.close()
        shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spans", type=int, default=10_000_000)
    results = run(parser.parse_args().spans)
    print(f"{'benchmark':<40}{'spans read':>12}{'seconds':>10}{'spans/s':>14}{'rows':>8}")
    for r in results:
        print(
            f"{r['benchmark']:<40}{r['spans']:>12,}{r['seconds']:>10.3f}"
            f"{r['spans_per_s']:>14,}{r['rows']:>8}"
        )


if __name__ == "__main__":
    main()
