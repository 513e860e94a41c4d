"""A small two-tenant dataset with hand-computable answers for every dashboard page.

Tenant ``acme`` holds the values the page tests check; tenant ``globex`` holds values whose names
(``globex``, ``spy-agent``, ``secret-model``...) must never appear to an ``acme`` viewer. Times are
relative to import time (tables drop rows older than their TTL at insert), within the last hour
unless noted. Decisions are sealed by the real :class:`~agentledger.audit.AuditChain`.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pyarrow as pa

from agentledger.audit import AuditChain
from agentledger.storage.store import Store

NOW = datetime.now(UTC)
BASE = NOW.replace(second=0, microsecond=0) - timedelta(minutes=20)
PREVIOUS = NOW - timedelta(minutes=90)  # in the hour before a 1 h range
OLD = NOW - timedelta(days=3)
MS = 1_000_000  # Duration is in nanoseconds

TRACE_PLANNER = "0af7651916cd43dd8448eb211c80319c"  # acme planner run 0, with events and links
TRACE_WRITER_ERROR = "0bf7651916cd43dd8448eb211c80319d"
TRACE_GLOBEX = "0cf7651916cd43dd8448eb211c80319e"
GLOBEX_MARKERS = ("globex", "spy-agent", "secret-model", "exfiltrate")
TABLES = ("otel_traces", "cost_rollups", "decisions", "kpi_events", "anomalies")

_SPAN_SCHEMA = pa.schema(
    [
        ("Timestamp", pa.timestamp("ns", tz="UTC")),
        ("TenantId", pa.string()),
        ("TraceId", pa.string()),
        ("SpanId", pa.string()),
        ("ParentSpanId", pa.string()),
        ("SpanName", pa.string()),
        ("SpanKind", pa.string()),
        ("ServiceName", pa.string()),
        ("ResourceAttributes", pa.map_(pa.string(), pa.string())),
        ("SpanAttributes", pa.map_(pa.string(), pa.string())),
        ("Duration", pa.uint64()),
        ("StatusCode", pa.string()),
        ("StatusMessage", pa.string()),
        ("Events.Timestamp", pa.list_(pa.timestamp("ns", tz="UTC"))),
        ("Events.Name", pa.list_(pa.string())),
        ("Events.Attributes", pa.list_(pa.map_(pa.string(), pa.string()))),
        ("Links.TraceId", pa.list_(pa.string())),
        ("Links.SpanId", pa.list_(pa.string())),
        ("Links.TraceState", pa.list_(pa.string())),
        ("Links.Attributes", pa.list_(pa.map_(pa.string(), pa.string()))),
    ]
)


def _span(
    at: datetime,
    trace: str,
    span: str,
    parent: str,
    name: str,
    attrs: dict[str, str],
    ms: int,
    status: str = "Ok",
    *,
    tenant: str = "acme",
    service: str = "svc",
    kind: str = "Internal",
    events: list[tuple[datetime, str, dict[str, str]]] | None = None,
    links: list[tuple[str, str]] | None = None,
) -> dict[str, object]:
    events = events or []
    links = links or []
    return {
        "Timestamp": at,
        "TenantId": tenant,
        "TraceId": trace,
        "SpanId": span,
        "ParentSpanId": parent,
        "SpanName": name,
        "SpanKind": kind,
        "ServiceName": service,
        "ResourceAttributes": [("service.name", service), ("deployment.environment", "test")],
        "SpanAttributes": list(attrs.items()),
        "Duration": ms * MS,
        "StatusCode": status,
        "StatusMessage": "order service timed out" if status == "Error" else "",
        "Events.Timestamp": [e[0] for e in events],
        "Events.Name": [e[1] for e in events],
        "Events.Attributes": [list(e[2].items()) for e in events],
        "Links.TraceId": [link[0] for link in links],
        "Links.SpanId": [link[1] for link in links],
        "Links.TraceState": ["" for _ in links],
        "Links.Attributes": [[] for _ in links],
    }


def _trace_id(prefix: str, i: int) -> str:
    return f"{prefix}{i:0{32 - len(prefix)}x}"


def spans() -> pa.Table:
    """acme: planner runs of 100/200/300 ms (each with a 50 ms chat child), writer runs of 1000
    and 3000 ms (the second an Error; each with a 400 ms chat child): 10 spans, 5 traces, 1 error
    in the last hour; 2 spans in the hour before; 1 three days old. globex: 2 spans."""
    s = timedelta(seconds=1)
    rows = []
    for i, ms in enumerate((100, 200, 300)):
        trace = TRACE_PLANNER if i == 0 else _trace_id("a1", i)
        agent = {"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "planner"}
        chat = {
            "gen_ai.operation.name": "chat",
            "gen_ai.agent.name": "planner",
            "gen_ai.request.model": "gpt-4o-mini",
            "gen_ai.usage.input_tokens": "100",
            "gen_ai.usage.output_tokens": "20",
            "customer.tier": "gold" if i == 0 else "silver",
        }
        at = BASE + 10 * i * s
        extra: dict[str, object] = {}
        if i == 0:
            extra = {
                "events": [(at + s / 10, "retry", {"attempt": "2"})],
                "links": [(TRACE_WRITER_ERROR, "w1a")],
            }
        rows.append(_span(at, trace, f"p{i}a", "", "invoke_agent planner", agent, ms, **extra))  # type: ignore[arg-type]
        rows.append(_span(at + s / 100, trace, f"p{i}b", f"p{i}a", "chat", chat, 50, kind="Client"))
    for i, (ms, status) in enumerate(((1000, "Ok"), (3000, "Error"))):
        trace = TRACE_WRITER_ERROR if i == 1 else _trace_id("b1", i)
        at = BASE + timedelta(minutes=2) + 10 * i * s
        agent = {"openinference.span.kind": "AGENT", "agent.name": "writer"}
        chat = {"gen_ai.operation.name": "chat", "gen_ai.request.model": "claude-haiku"}
        rows.append(_span(at, trace, f"w{i}a", "", "write", agent, ms, status))
        rows.append(_span(at + s, trace, f"w{i}b", f"w{i}a", "chat", chat, 400, kind="Client"))
    planner = {"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "planner"}
    rows.append(
        _span(PREVIOUS, _trace_id("c1", 0), "q0a", "", "invoke_agent planner", planner, 500)
    )
    rows.append(
        _span(PREVIOUS + s, _trace_id("c1", 1), "q1a", "", "invoke_agent planner", planner, 700)
    )
    rows.append(_span(OLD, _trace_id("d1", 0), "olda", "", "invoke_agent planner", planner, 9999))
    spy = {
        "gen_ai.operation.name": "invoke_agent",
        "gen_ai.agent.name": "spy-agent",
        "customer.tier": "gold",
    }
    leak = {
        "gen_ai.operation.name": "chat",
        "gen_ai.agent.name": "spy-agent",
        "gen_ai.request.model": "secret-model",
        "gen_ai.usage.input_tokens": "5000",
        "gen_ai.usage.output_tokens": "5000",
    }
    at = BASE + timedelta(minutes=1)
    for span, parent, name, attrs, ms, status in (
        ("g0a", "", "invoke_agent spy-agent", spy, 777, "Error"),
        ("g0b", "g0a", "chat exfiltrate", leak, 555, "Ok"),
    ):
        rows.append(
            _span(at, TRACE_GLOBEX, span, parent, name, attrs, ms, status,
                  tenant="globex", service="globex-svc")
        )  # fmt: skip
    return pa.Table.from_pylist(rows, _SPAN_SCHEMA)


def _decision(
    at: datetime, tenant: str, decision_id: str, trace: str, **fields: object
) -> dict[str, object]:
    record: dict[str, object] = {
        "Timestamp": int(at.timestamp() * 1e9),
        "TenantId": tenant,
        "DecisionId": decision_id,
        "TraceId": trace,
        "SpanId": "",
        "ServiceName": "svc",
        "AgentName": "planner",
        "AgentVersion": "",
        "DecisionType": "route",
        "Options": [],
        "Chosen": "",
        "Confidence": None,
        "Inputs": [],
        "PolicyChecks": "",
        "ApprovedBy": "",
        "Rationale": "",
        "ModelName": "",
        "Attributes": {},
    }
    return record | fields


def decisions() -> list[dict[str, object]]:
    """acme Seq 1..4 (d0 three days old; d1 planner route billing 0.9 in the planner trace; d2
    writer tone formal, no confidence, alice; d3 planner refund approve 0.75 alice with policy
    checks); globex Seq 1 (g1)."""
    checks = '[{"policy_id": "refund-limit-500", "verdict": "pass"}, {"policy_id": "fraud-review", "verdict": "fail"}]'  # noqa: E501
    return [
        _decision(OLD, "acme", "d0", "", Chosen="old", Confidence=0.1, ApprovedBy="bob"),
        _decision(
            BASE + timedelta(seconds=30), "acme", "d1", TRACE_PLANNER, Chosen="billing",
            Confidence=0.9, Options=["billing", "tech"], Inputs=["document:faq@v3"],
            Rationale="Invoice question", ModelName="gpt-4o-mini", AgentVersion="2",
        ),
        _decision(
            BASE + timedelta(seconds=60), "acme", "d2", TRACE_WRITER_ERROR, AgentName="writer",
            DecisionType="tone", Chosen="formal", ApprovedBy="alice",
        ),
        _decision(
            BASE + timedelta(seconds=90), "acme", "d3", "", DecisionType="refund",
            Chosen="approve", Confidence=0.75, ApprovedBy="alice", PolicyChecks=checks,
            Options=["approve", "deny", "escalate"],
        ),
        _decision(
            BASE + timedelta(seconds=45), "globex", "g1", TRACE_GLOBEX, AgentName="spy-agent",
            ServiceName="globex-svc", DecisionType="globex-secret", Chosen="exfiltrate",
            Confidence=0.5, ApprovedBy="mallory@globex",
        ),
    ]  # fmt: skip


def kpis() -> pa.Table:
    rows = [(BASE, "acme", "tickets_resolved", 1.0, "count", "d1")] * 3
    rows += [
        (BASE, "acme", "revenue", 10.0, "USD", "d3"),
        (BASE, "acme", "revenue", 20.5, "USD", ""),
    ]
    rows += [(PREVIOUS, "acme", "revenue", 5.0, "USD", "")]
    rows += [(OLD, "acme", "revenue", 1000.0, "USD", "")]
    rows += [(BASE, "globex", "globex_revenue", 999.0, "USD", "g1")]
    ts, tenants, names, values, units, decision_ids = zip(*rows, strict=True)
    return pa.table(
        {
            "Timestamp": pa.array(ts, pa.timestamp("ns", tz="UTC")),
            "TenantId": tenants,
            "KpiName": names,
            "Value": values,
            "Unit": units,
            "DecisionId": decision_ids,
            "ServiceName": ["globex-svc" if t == "globex" else "svc" for t in tenants],
        }
    )


def _cost_rows() -> list[str]:
    day, old_day = BASE.date(), (NOW - timedelta(days=10)).date()
    row = (
        "('{day}', '{tenant}', '{svc}', '{agent}', '{model}', 'openai', 3, {i}, {o}, 0, {cost},"
        " {u}, '', '{at}')"
    )
    acme = {"tenant": "acme", "svc": "svc", "agent": "planner"}
    return [
        row.format(day=day, model="gpt-4o-mini", i=1, o=1, cost=0.5, u=0, at="2020-01-01", **acme),
        row.format(day=day, model="gpt-4o-mini", i=300, o=60, cost=0.0123, u=0, at="2020-01-02", **acme),  # noqa: E501
        row.format(day=day, model="mystery-model", i=500, o=100, cost=0, u=600, at="2020-01-02", **acme),  # noqa: E501
        row.format(day=old_day, model="gpt-4o-mini", i=9, o=9, cost=99, u=0, at="2020-01-02", **acme),  # noqa: E501
        row.format(
            day=day, model="secret-model", i=5000, o=5000, cost=7.5, u=0, at="2020-01-02",
            tenant="globex", svc="globex-svc", agent="spy-agent",
        ),
    ]  # fmt: skip


def _anomaly_rows() -> list[str]:
    at = BASE.replace(minute=0).strftime("%Y-%m-%d %H:%M:%S")
    row = (
        "('{at}', '{tenant}', 'agent', '{entity}', 'p95_latency_ms', {value}, 300, 6.5, "
        "'critical', '{message}', 'open', '{at}', '{at}')"
    )
    return [
        row.format(at=at, tenant="acme", entity="writer", value=3000,
                   message="writer p95 latency 3000 ms vs 300 ms"),
        row.format(at=at, tenant="globex", entity="spy-agent", value=9000,
                   message="spy-agent p95 latency 9000 ms vs 300 ms"),
    ]  # fmt: skip


def truncate(store: Store) -> None:
    for table in TABLES:
        store.command(f"TRUNCATE TABLE {table}")


def seed(store: Store) -> None:
    """Replace the dashboards' tables' contents with this dataset."""
    truncate(store)
    store.insert_arrow("otel_traces", spans())
    store.command(
        "INSERT INTO cost_rollups (Day, TenantId, ServiceName, AgentName, ModelName, Provider,"
        " Spans, InputTokens, OutputTokens, CachedInputTokens, CostUsd, UnpricedTokens,"
        " PricePattern, ComputedAt) VALUES " + ", ".join(_cost_rows())
    )
    AuditChain(store).append(decisions())
    store.insert_arrow("kpi_events", kpis())
    store.command(
        "INSERT INTO anomalies (Timestamp, TenantId, Kind, Entity, Metric, Value, Baseline, Score,"
        " Severity, Message, Status, DetectedAt, UpdatedAt) VALUES " + ", ".join(_anomaly_rows())
    )
