"""Lineage at scale: a store of N agent spans (10 per trace, one decision and two KPI outcomes
per trace) generated inside ClickHouse, the lineage job over all of it, then the upstream lineage
of sample decisions (median; target < 200 ms) and, for comparison, the same walk as one
``WITH RECURSIVE`` query.

python benchmarks/analytics_lineage.py [--spans 10000000]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from datetime import timedelta
from typing import Any

from agentledger.analytics.lineage import downstream, run_lineage_job, upstream
from agentledger.storage.chdb_store import ChdbStore
from agentledger.storage.migrate import migrate
from agentledger.storage.store import Store, query_rows

SPANS_PER_TRACE = 10
SAMPLES = 15
TARGET_MS = 200.0

# Span k of trace n; ids are lowercase hex as the exporter writes them.
_SPAN_ID = "leftPad(lower(hex(cityHash64(n, toUInt64({k})))), 16, '0')"
_TRACE_ID = (
    "concat(leftPad(lower(hex(cityHash64(n, 'a'))), 16, '0'),"
    " leftPad(lower(hex(cityHash64(n, 'b'))), 16, '0'))"
)
_DOCS = "arrayMap(j -> concat('document:doc-', toString((n * 7 + j * 13) % 2000), '@v', toString(1 + (n + j) % 3)), range(3))"  # noqa: E501
_MODEL = "['gpt-4o-mini', 'claude-3-5-haiku', 'gpt-4.1'][1 + n % 3]"

_SPANS = f"""
INSERT INTO otel_traces (Timestamp, TraceId, SpanId, ParentSpanId, SpanName, SpanKind, ServiceName,
    SpanAttributes, Duration, StatusCode, TenantId)
SELECT now64(9) - toIntervalMillisecond((n * 613) % 518400000) + toIntervalMillisecond(k * 20),
       {_TRACE_ID}, {_SPAN_ID.format(k="k")},
       if(k = 0, '', if(k = 6, {_SPAN_ID.format(k=5)}, {_SPAN_ID.format(k=0)})),
       ['invoke_agent support', 'retrieval knowledge_base', 'chat', 'execute_tool order_lookup',
        'chat o4-mini', 'action issue_refund', 'execute_tool payments_refund', 'action send_email',
        'chat', 'execute_tool crm_update'][k + 1],
       if(k IN (2, 4, 8), 'Client', 'Internal'), 'support-bot',
       multiIf(
         k = 0, map('gen_ai.operation.name', 'invoke_agent', 'gen_ai.agent.name', 'support'),
         k = 1, map('gen_ai.operation.name', 'retrieval',
                    'gen_ai.data_source.id', concat('kb-', toString(n % 5)),
                    'agentledger.lineage.inputs', toJSONString({_DOCS}),
                    'retrieval.documents.0.document.id', concat('doc-', toString(n % 2000)),
                    'retrieval.documents.0.document.score', '0.91'),
         k IN (2, 8), map('gen_ai.operation.name', 'chat', 'gen_ai.request.model', {_MODEL},
                    'gen_ai.usage.input_tokens', '900', 'gen_ai.usage.output_tokens', '120',
                    'agentledger.prompt.name', 'refund-reply', 'agentledger.prompt.version',
                    toString(1 + n % 4)),
         k = 4, map('gen_ai.operation.name', 'chat', 'gen_ai.request.model', 'o4-mini',
                    'gen_ai.usage.input_tokens', '1200', 'gen_ai.usage.output_tokens', '300'),
         k IN (3, 6, 9), map('gen_ai.operation.name', 'execute_tool', 'gen_ai.tool.name',
                    ['order_lookup', 'payments_refund', 'crm_update'][intDiv(k, 3)]),
         map('agentledger.action.name', if(k = 5, 'issue_refund', 'send_email'),
             'agentledger.lineage.inputs', toJSONString(arrayConcat({_DOCS},
                 [concat('span:', {_SPAN_ID.format(k=2)})])),
             'agentledger.lineage.outputs', toJSONString([concat('action:',
                 if(k = 5, 'issue_refund:order-', 'send_email:customer-'), toString(n))]))),
       (20 + k * 7) * 1000000,
       if(k = 3 AND n % 33 = 0, 'Error', 'Unset'),
       'acme'
FROM (SELECT intDiv(number, {SPANS_PER_TRACE}) AS n, number % {SPANS_PER_TRACE} AS k
      FROM numbers({{spans:UInt64}}))
"""

_DECISIONS = f"""
INSERT INTO decisions (Timestamp, TenantId, Seq, DecisionId, TraceId, SpanId, ServiceName,
    AgentName, DecisionType, Options, Chosen, Confidence, Inputs, ModelName)
SELECT now64(9) - toIntervalMillisecond((n * 613) % 518400000) + toIntervalMillisecond(190),
       'acme', n, toString(reinterpretAsUUID(reverse(unhex({_TRACE_ID})))), {_TRACE_ID},
       {_SPAN_ID.format(k=0)}, 'support-bot', 'support', 'refund',
       ['approve', 'deny', 'escalate'], ['approve', 'deny', 'escalate'][1 + n % 3],
       (n % 100) / 100,
       arrayConcat({_DOCS}, [concat('span:', {_SPAN_ID.format(k=2)}),
           concat('tool:order_lookup:', {_SPAN_ID.format(k=3)}),
           concat('span:', {_SPAN_ID.format(k=4)})]),
       {_MODEL}
FROM (SELECT number AS n FROM numbers({{traces:UInt64}}))
"""

_KPIS = f"""
INSERT INTO kpi_events (Timestamp, TenantId, KpiName, Value, Unit, EntityId, DecisionId, TraceId)
SELECT now64(9) - toIntervalMillisecond((n * 613) % 518400000) + toIntervalSecond(30),
       'acme', ['csat', 'ticket_resolved'][1 + number % 2], (n % 5) + 1,
       ['score', 'ticket'][1 + number % 2], concat('ticket-', toString(n)),
       toString(reinterpretAsUUID(reverse(unhex({_TRACE_ID})))), {_TRACE_ID}
FROM (SELECT number, intDiv(number, 2) AS n FROM numbers({{kpis:UInt64}}))
"""

# The same upstream walk as one recursive query: no visited set, so shared ancestors are walked
# once per path, bounded by depth.
_RECURSIVE = """
WITH RECURSIVE walk AS (
    SELECT SrcNode, DstNode, Relation, 1 AS Depth FROM lineage_edges
    WHERE TenantId = 'acme' AND DstNode = {node:String}
    UNION ALL
    SELECT e.SrcNode, e.DstNode, e.Relation, w.Depth + 1
    FROM (SELECT SrcNode, DstNode, Relation FROM lineage_edges
          WHERE TenantId = 'acme' AND DstNode IN (SELECT SrcNode FROM walk)) AS e
    JOIN (SELECT SrcNode, min(Depth) AS Depth FROM walk GROUP BY SrcNode) AS w
      ON e.DstNode = w.SrcNode
    WHERE w.Depth < 10
)
SELECT DISTINCT SrcNode, DstNode, Relation FROM walk
"""


def _timed(action: Any) -> tuple[float, Any]:
    start = time.perf_counter()
    result = action()
    return time.perf_counter() - start, result


def _build(store: Store, spans: int) -> list[dict[str, Any]]:
    traces = spans // SPANS_PER_TRACE
    rows = []
    for name, sql, params, count in (
        ("generate spans", _SPANS, {"spans": traces * SPANS_PER_TRACE}, traces * SPANS_PER_TRACE),
        ("generate decisions", _DECISIONS, {"traces": traces}, traces),
        ("generate KPI events", _KPIS, {"kpis": 2 * traces}, 2 * traces),
    ):
        seconds, _ = _timed(lambda sql=sql, params=params: store.command(sql, params))
        rows.append(_row(name, seconds, "s", f"{count:,} rows"))
    return rows


def _row(step: str, value: float, unit: str, note: str = "") -> dict[str, Any]:
    return {"benchmark": "lineage", "step": step, "value": round(value, 3), "unit": unit,
            "note": note}  # fmt: skip


def _median_ms(action: Any, nodes: list[str]) -> tuple[float, float, list[Any]]:
    times, results = [], []
    for node in nodes:
        seconds, result = _timed(lambda node=node: action(node))
        times.append(seconds * 1000)
        results.append(result)
    return statistics.median(times), max(times), results


def _walks(
    store: Store, decisions: list[str], documents: list[str], when: str
) -> list[dict[str, Any]]:
    median, worst, graphs = _median_ms(lambda node: upstream(store, node), decisions)
    size = sorted(len(g.nodes) for g in graphs)[len(graphs) // 2]
    rows = [
        _row(
            f"upstream of a decision, {when} (median)",
            median,
            "ms",
            f"target < {TARGET_MS:.0f} ms; worst {worst:.1f} ms; {size} nodes;"
            f" {len(decisions)} decisions",
        )
    ]
    median, worst, results = _median_ms(
        lambda node: query_rows(store, _RECURSIVE, {"node": node}), decisions
    )
    edges = sorted(len(r) for r in results)[len(results) // 2]
    rows.append(
        _row(
            f"  same walk as one WITH RECURSIVE query, {when}",
            median,
            "ms",
            f"worst {worst:.1f} ms; {edges} edges",
        )
    )
    median, worst, graphs = _median_ms(
        lambda node: downstream(store, node, depth=3, max_nodes=2_000), documents
    )
    rows.append(
        _row(
            f"downstream of a document, 3 hops, {when}",
            median,
            "ms",
            f"worst {worst:.1f} ms; <= 2000 nodes, {sum(g.truncated for g in graphs)} of"
            f" {len(graphs)} truncated",
        )
    )
    return rows


def _settle_merges(store: Store, limit: float) -> float:
    """Wait (up to ``limit`` seconds) until ClickHouse has no merge running; seconds waited."""
    start = time.perf_counter()
    while time.perf_counter() - start < limit:
        running = query_rows(store, "SELECT count() AS n FROM system.merges")[0]["n"]
        if not running:
            break
        time.sleep(2)
    return time.perf_counter() - start


def run(spans: int = 10_000_000) -> list[dict[str, Any]]:
    """Build the store in a temporary directory, run the job, time the walks while the new parts
    are still being merged and again once merges settle; one row a step."""
    folder = tempfile.mkdtemp(prefix="agentledger-lineage-bench-")
    store = ChdbStore(folder)
    try:
        migrate(store)
        rows = _build(store, spans)
        seconds, job = _timed(lambda: run_lineage_job(store, settle=timedelta(0)))
        rows.append(_row("lineage job (first run, all data)", seconds, "s", f"{job.rows:,} edges"))
        seconds, again = _timed(lambda: run_lineage_job(store, settle=timedelta(0)))
        rows.append(
            _row("lineage job (next run, no new data)", seconds, "s", f"{again.rows} edges")
        )
        step = max(spans // SPANS_PER_TRACE // SAMPLES, 1)
        sample = query_rows(
            store,
            "SELECT DecisionId FROM decisions WHERE Seq % {step:UInt64} = 7"
            " ORDER BY Seq LIMIT {n:UInt64}",
            {"step": step, "n": SAMPLES},
        )
        decisions = [f"decision:{row['DecisionId']}" for row in sample]
        documents = [
            row["DstNode"]
            for row in query_rows(
                store,
                "SELECT DstNode FROM lineage_edges WHERE Relation = 'contains'"
                " GROUP BY DstNode ORDER BY DstNode LIMIT {n:UInt64}",
                {"n": SAMPLES},
            )
        ]
        rows += _walks(store, decisions, documents, "while merging")
        waited = _settle_merges(store, limit=900)
        rows.append(_row("waited for background merges", waited, "s"))
        rows += _walks(store, decisions, documents, "merged")
        parts = query_rows(
            store,
            "SELECT count() AS parts, sum(rows) AS edges, sum(bytes_on_disk) AS bytes"
            " FROM system.parts WHERE active AND table = 'lineage_edges'",
        )[0]
        rows.append(
            _row(
                "lineage_edges on disk",
                parts["bytes"] / 2**20,
                "MiB",
                f"{parts['edges']:,} rows in {parts['parts']} parts",
            )
        )
        return rows
    finally:
        store.close()
        shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spans", type=int, default=10_000_000)
    args = parser.parse_args()
    rows = run(args.spans)
    print(f"{'step':<56}{'value':>12}  {'unit':<5}note")
    for row in rows:
        print(f"{row['step']:<56}{row['value']:>12,.3f}  {row['unit']:<5}{row['note']}")


if __name__ == "__main__":
    main()
