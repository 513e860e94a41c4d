"""Backup and restore of the embedded store at scale: ``db backup`` of a store holding N spans
(and the model observations, trace-id lookups and sealed decisions that come with them), then
``db restore`` into a new data directory, with every table's row count compared.

python benchmarks/backup.py [--spans 10000000] [--decisions 100000] [--keep DIR]

Spans are generated inside ClickHouse with numbers() (agent, model and token attributes, spread
over the last 7 days), so the materialized views fill their tables as on ingest; decisions are
sealed by the real audit chain, and the restored chain is verified. Stores and the backup live in
a temporary folder (or ``--keep DIR``), removed at the end unless ``--keep`` is given.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from agentledger.audit.chain import AuditChain
from agentledger.audit.verify import verify_chain
from agentledger.storage.backup import backup, restore
from agentledger.storage.chdb_store import ChdbStore
from agentledger.storage.migrate import migrate
from agentledger.storage.store import query_rows

_GENERATE = """
INSERT INTO otel_traces (Timestamp, TraceId, SpanId, ParentSpanId, SpanName, SpanKind,
    ServiceName, SpanAttributes, ResourceAttributes, Duration, StatusCode, TenantId)
SELECT now64(9) - toIntervalMillisecond(number * {spread_ms:UInt64} % 604800000),
       lower(hex(cityHash64(intDiv(number, 8)))),
       lower(hex(cityHash64(number, 1))),
       if(number % 8 = 0, '', lower(hex(cityHash64(number - number % 8, 1)))),
       if(number % 8 = 0, 'invoke_agent support', 'chat'),
       if(number % 8 = 0, 'Internal', 'Client'),
       concat('svc-', toString(number % 4)),
       map('gen_ai.operation.name', if(number % 8 = 0, 'invoke_agent', 'chat'),
           'gen_ai.provider.name', 'openai',
           'gen_ai.request.model', concat('gpt-', toString(number % 5)),
           'gen_ai.agent.name', concat('agent-', toString(number % 20)),
           'gen_ai.usage.input_tokens', toString(200 + cityHash64(number) % 4000),
           'gen_ai.usage.output_tokens', toString(20 + cityHash64(number, 2) % 800)),
       map('service.name', concat('svc-', toString(number % 4)), 'host.name', 'bench'),
       50000000 + cityHash64(number, 3) % 900000000,
       if(number % 50 = 0, 'Error', 'Unset'),
       concat('tenant-', toString(number % 5))
FROM numbers({spans:UInt64})
"""


def _decisions(count: int, start: int) -> list[dict[str, Any]]:
    now = time.time_ns() - 3_600_000_000_000
    return [
        {
            "Timestamp": now + i,
            "TenantId": f"tenant-{i % 5}",
            "DecisionId": f"d-{i}",
            "TraceId": f"{i:032x}",
            "SpanId": f"{i:016x}",
            "ServiceName": "svc-0",
            "AgentName": "agent-0",
            "AgentVersion": "v1",
            "DecisionType": "refund",
            "Options": ["approve", "deny", "escalate"],
            "Chosen": "approve",
            "Confidence": 0.5 + (i % 50) / 100,
            "Inputs": [f"document:faq@v{i % 7}"],
            "PolicyChecks": '[{"policy_id":"limit","verdict":"pass"}]',
            "ApprovedBy": "",
            "Rationale": "within policy",
            "ModelName": "gpt-0",
            "Attributes": {"n": str(i)},
        }
        for i in range(start, start + count)
    ]


def _row_counts(store: ChdbStore) -> dict[str, int]:
    tables = query_rows(
        store,
        "SELECT name FROM system.tables WHERE database = {db:String}"
        " AND engine LIKE '%MergeTree' AND name != 'schema_migrations' ORDER BY name",
        {"db": store.database},
    )
    return {
        row["name"]: int(query_rows(store, f"SELECT count() AS n FROM {row['name']}")[0]["n"])
        for row in tables
    }


def _size(folder: Path) -> int:
    return sum(
        os.path.getsize(os.path.join(root, name))
        for root, _, names in os.walk(folder)
        for name in names
    )


def run(spans: int, decisions: int, folder: Path) -> dict[str, Any]:
    """Fill a store, back it up, restore the backup into a new store; time both and compare."""
    source = ChdbStore(folder / "source")
    try:
        migrate(source)
        started = time.perf_counter()
        source.command(
            _GENERATE, {"spans": spans, "spread_ms": max(1, 604_800_000 // max(spans, 1))}
        )
        chain = AuditChain(source)
        for batch in range(0, decisions, 10_000):
            chain.append(_decisions(min(10_000, decisions - batch), batch))
        generated = time.perf_counter() - started
        before = _row_counts(source)
        stored = int(
            query_rows(
                source,
                "SELECT sum(bytes_on_disk) AS b FROM system.parts"
                " WHERE database = {db:String} AND active",
                {"db": source.database},
            )[0]["b"]
        )
        started = time.perf_counter()
        info = backup(source, folder / "backup")
        backup_seconds = time.perf_counter() - started
    finally:
        source.close()
    target = ChdbStore(folder / "target")
    try:
        started = time.perf_counter()
        restore(target, folder / "backup")
        restore_seconds = time.perf_counter() - started
        after = _row_counts(target)
        verified = verify_chain(target)
    finally:
        target.close()
    return {
        "spans": spans,
        "decisions": decisions,
        "generate_seconds": generated,
        "store_bytes": stored,
        "backup_seconds": backup_seconds,
        "backup_bytes": _size(folder / "backup"),
        "restore_seconds": restore_seconds,
        "rows_before": before,
        "rows_after": after,
        "manifest_rows": info.rows,
        "chain_ok": verified.ok and verified.checked == decisions,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spans", type=int, default=10_000_000)
    parser.add_argument("--decisions", type=int, default=100_000)
    parser.add_argument("--keep", type=Path, help="Work in this (new) folder and keep it.")
    args = parser.parse_args()
    if args.spans < 1 or args.decisions < 0:
        parser.error("--spans must be at least 1 and --decisions not negative")
    if args.keep is not None and args.keep.exists() and any(args.keep.iterdir()):
        parser.error(f"--keep {args.keep}: the folder is not empty")
    folder = args.keep or Path(tempfile.mkdtemp(prefix="agentledger-bench-backup-"))
    folder.mkdir(parents=True, exist_ok=True)
    try:
        r = run(args.spans, args.decisions, folder)
    finally:
        if args.keep is None:
            shutil.rmtree(folder, ignore_errors=True)
    equal = r["rows_before"] == r["rows_after"] == r["manifest_rows"]
    print(f"when: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, cores: {os.cpu_count()}")
    print(f"data: {r['spans']:,} spans, {r['decisions']:,} decisions "
          f"(generated in {r['generate_seconds']:.1f} s), {r['store_bytes'] / 2**20:,.0f} MiB "
          "of active parts")  # fmt: skip
    print(f"{'table (others empty)':<28}{'rows before':>14}{'rows restored':>15}")
    for table, rows in r["rows_before"].items():
        if rows or r["rows_after"].get(table):
            print(f"{table:<28}{rows:>14,}{r['rows_after'].get(table, 0):>15,}")
    print(f"{'backup seconds':<28}{r['backup_seconds']:>14.2f}")
    print(f"{'backup size (MiB)':<28}{r['backup_bytes'] / 2**20:>14,.0f}")
    print(f"{'restore seconds':<28}{r['restore_seconds']:>14.2f}")
    print(f"{'row counts equal':<28}{'yes' if equal else 'NO':>14}")
    print(f"{'decision chain verified':<28}{'yes' if r['chain_ok'] else 'NO':>14}")
    if not (equal and r["chain_ok"]):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
