"""The kpi_attribution job: what it stores per KPI event, its watermark and settle delay, and that a
window it computes again replaces its rows instead of doubling them."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pyarrow as pa
import pytest

from agentledger.analytics.jobs import JOBS, run_job
from agentledger.analytics.kpi_rollup import (
    JOB_NAME,
    attribution_watermark,
    run_kpi_attribution_job,
)
from agentledger.analytics.prices import Price, set_price
from agentledger.storage.chdb_store import ChdbStore
from agentledger.storage.store import query_rows

NOW = datetime.now(UTC)
AT = NOW - timedelta(hours=2)
TRACE, DECIDED = uuid.uuid4().hex, uuid.uuid4().hex


def _seed(store: ChdbStore) -> None:
    set_price(store, Price("^rollup-model$", 1.0, 0.0))
    attrs = pa.map_(pa.string(), pa.string())
    spans = [
        {
            "Timestamp": AT,
            "TenantId": "t",
            "TraceId": trace,
            "SpanId": uuid.uuid4().hex[:16],
            "SpanName": "chat",
            "SpanAttributes": [
                ("gen_ai.operation.name", "chat"),
                ("gen_ai.agent.name", "triage"),
                ("gen_ai.agent.version", "v7"),
                ("gen_ai.request.model", "rollup-model"),
                ("gen_ai.usage.input_tokens", str(tokens)),
            ],
        }
        for trace, tokens in ((TRACE, 2_000_000), (DECIDED, 1_000_000))
    ]
    schema = pa.schema(
        [
            ("Timestamp", pa.timestamp("ns", tz="UTC")),
            ("TenantId", pa.string()),
            ("TraceId", pa.string()),
            ("SpanId", pa.string()),
            ("SpanName", pa.string()),
            ("SpanAttributes", attrs),
        ]
    )
    store.insert_arrow("otel_traces", pa.Table.from_pylist(spans, schema))
    store.insert_arrow(
        "decisions",
        pa.table(
            {
                "Timestamp": pa.array([AT], pa.timestamp("ns", tz="UTC")),
                "TenantId": ["t"],
                "DecisionId": ["d-1"],
                "TraceId": [DECIDED],
                "AgentName": ["refunds"],
                "AgentVersion": ["v2"],
                "DecisionType": ["refund"],
                "ModelName": [""],  # left to the trace
            }
        ),
    )
    _kpis(store, [("d-1", "", AT + timedelta(minutes=5)), ("", TRACE, AT + timedelta(minutes=6))])


def _kpis(store: ChdbStore, rows: list[tuple[str, str, datetime]]) -> None:
    """rows: (decision id, trace id, time) of one ``resolved`` event each."""
    store.insert_arrow(
        "kpi_events",
        pa.table(
            {
                "Timestamp": pa.array([r[2] for r in rows], pa.timestamp("ns", tz="UTC")),
                "TenantId": ["t"] * len(rows),
                "KpiName": ["resolved"] * len(rows),
                "Value": pa.array([1.0] * len(rows), pa.float64()),
                "Unit": ["count"] * len(rows),
                "ServiceName": ["helpdesk"] * len(rows),
                "DecisionId": [r[0] for r in rows],
                "TraceId": [r[1] for r in rows],
            }
        ),
    )


def _stored(store: ChdbStore) -> list[dict[str, object]]:
    return query_rows(
        store,
        "SELECT DecisionId, TraceId, Agent, AgentVersion, Model, DecisionType, Traced,"
        " TraceCostUsd, ServiceName, Unit FROM kpi_attributions ORDER BY Timestamp",
    )


def test_the_job_stores_each_event_attributed_and_priced(store: ChdbStore) -> None:
    assert attribution_watermark(store) is None
    _seed(store)
    result = run_kpi_attribution_job(store, settle=timedelta(minutes=1), now=NOW)
    assert result.rows == 2
    assert result.window_end == attribution_watermark(store)
    assert result.window_end == (NOW - timedelta(minutes=1)).replace(
        microsecond=(NOW.microsecond // 1000) * 1000
    )
    decided, traced = _stored(store)
    assert decided == {
        "DecisionId": "d-1",
        "TraceId": DECIDED,  # the decision's trace
        "Agent": "refunds",  # the decision wins over the trace's spans
        "AgentVersion": "v2",
        "Model": "rollup-model",  # the decision has none: the trace's
        "DecisionType": "refund",
        "Traced": True,
        "TraceCostUsd": pytest.approx(1.0),
        "ServiceName": "helpdesk",
        "Unit": "count",
    }
    assert (traced["Agent"], traced["AgentVersion"], traced["DecisionType"]) == ("triage", "v7", "")
    assert traced["TraceCostUsd"] == pytest.approx(2.0)


def test_young_events_wait_for_the_settle_delay_and_a_redone_window_is_not_doubled(
    store: ChdbStore,
) -> None:
    young = NOW - timedelta(seconds=20)
    _kpis(store, [("d-1", "", young)])
    assert run_kpi_attribution_job(store, settle=timedelta(minutes=1), now=NOW).rows == 0
    assert len(_stored(store)) == 2
    assert run_kpi_attribution_job(store, settle=timedelta(seconds=10), now=NOW).rows == 1
    assert len(_stored(store)) == 3
    # a run cut short before its watermark moved: the next one computes the window again
    store.command(
        "INSERT INTO job_watermarks (Job, Watermark, UpdatedAt)"
        " VALUES ({job:String}, {mark:DateTime64(3)}, now64(3))",
        {"job": JOB_NAME, "mark": (AT - timedelta(hours=1)).strftime("%Y-%m-%d %H:%M:%S")},
    )
    assert run_kpi_attribution_job(store, settle=timedelta(seconds=10), now=NOW).rows == 3
    assert len(_stored(store)) == 3


def test_the_job_is_scheduled_after_cost_and_before_lineage(store: ChdbStore) -> None:
    order = list(JOBS)
    assert order.index("cost") < order.index(JOB_NAME) < order.index("lineage")
    assert run_job(store, JOB_NAME).rows == 0  # nothing new since the last run
