"""KPI outcomes attributed through decisions and traces, cost per KPI unit, and version
comparisons that find a planted effect and find nothing where there is none."""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Callable, Iterable
from datetime import timedelta

import pyarrow as pa
import pytest

from agentledger.analytics.kpi_attribution import (
    compare_versions,
    cost_per_kpi,
    kpi_outcomes,
)
from agentledger.analytics.kpi_rollup import attribution_watermark, run_kpi_attribution_job
from agentledger.analytics.prices import Price, set_price
from agentledger.storage.chdb_store import ChdbStore

NOW = time.time_ns() - 3_600 * 10**9  # an hour ago: inside every TTL
ATTRS = pa.map_(pa.string(), pa.string())


def _decisions(store: ChdbStore, rows: Iterable[tuple[str, str, str, str, str, str]]) -> None:
    """rows: (tenant, decision id, trace id, agent, version, decision type)."""
    columns = list(zip(*rows, strict=True))
    count = len(columns[0])
    store.insert_arrow(
        "decisions",
        pa.table(
            {
                "Timestamp": pa.array([NOW] * count, pa.timestamp("ns")),
                "TenantId": columns[0],
                "DecisionId": columns[1],
                "TraceId": columns[2],
                "AgentName": columns[3],
                "AgentVersion": columns[4],
                "DecisionType": columns[5],
                "ModelName": ["gpt-4o-mini"] * count,
            }
        ),
    )


def _kpis(store: ChdbStore, rows: Iterable[tuple[str, str, float, str, str]]) -> None:
    """rows: (tenant, KPI name, value, decision id, trace id)."""
    columns = list(zip(*rows, strict=True))
    count = len(columns[0])
    store.insert_arrow(
        "kpi_events",
        pa.table(
            {
                "Timestamp": pa.array([NOW + 10**9] * count, pa.timestamp("ns")),
                "TenantId": columns[0],
                "KpiName": columns[1],
                "Value": pa.array(columns[2], pa.float64()),
                "DecisionId": columns[3],
                "TraceId": columns[4],
            }
        ),
    )


def _spans(store: ChdbStore, rows: Iterable[tuple[str, str, str, str, str, int]]) -> None:
    """rows: (tenant, trace id, agent, version, model, input tokens)."""
    table = [
        {
            "Timestamp": NOW,
            "TraceId": trace,
            "SpanId": uuid.uuid4().hex[:16],
            "SpanName": "chat",
            "SpanAttributes": [
                ("gen_ai.operation.name", "chat"),
                ("gen_ai.agent.name", agent),
                ("gen_ai.agent.version", version),
                ("gen_ai.request.model", model),
                ("gen_ai.usage.input_tokens", str(tokens)),
            ],
            "TenantId": tenant,
        }
        for tenant, trace, agent, version, model, tokens in rows
    ]
    schema = pa.schema(
        [
            ("Timestamp", pa.timestamp("ns")),
            ("TraceId", pa.string()),
            ("SpanId", pa.string()),
            ("SpanName", pa.string()),
            ("SpanAttributes", ATTRS),
            ("TenantId", pa.string()),
        ]
    )
    store.insert_arrow("otel_traces", pa.Table.from_pylist(table, schema))


def _plant(
    store: ChdbStore, tenant: str, kpi: str, values: dict[str, list[float]], agent: str = "support"
) -> None:
    """One decision (and trace) per value, attributed to the version it is listed under."""
    decisions, kpis = [], []
    for version, version_values in values.items():
        for value in version_values:
            decision, trace = uuid.uuid4().hex, uuid.uuid4().hex
            decisions.append((tenant, decision, trace, agent, version, "refund"))
            kpis.append((tenant, kpi, value, decision, ""))
    _decisions(store, decisions)
    _kpis(store, kpis)


def _rates(n: int, successes: int) -> list[float]:
    """``n`` 0/1 values with exactly ``successes`` ones, interleaved."""
    return [1.0 if (i * successes) % n < successes else 0.0 for i in range(n)]


def test_a_planted_rate_effect_is_found(store: ChdbStore) -> None:
    _plant(store, "rate", "resolved", {"v1": _rates(500, 300), "v2": _rates(500, 370)})
    found = compare_versions(store, "resolved", "support", "v1", "v2", tenant="rate")
    assert found.kind == "rate" and found.result.test == "chi-square"
    assert (found.n_a, found.n_b) == (500, 500)
    assert (found.mean_a, found.mean_b) == (pytest.approx(0.6), pytest.approx(0.74))
    assert found.significant and found.result.p_value < 0.001
    assert found.result.difference == pytest.approx(0.14)
    assert found.result.ci_low < 0.14 < found.result.ci_high and found.result.ci_low > 0
    assert found.result.effect_size > 0  # Cohen's h, B above A
    assert found.summary().startswith("v2 raised resolved rate by 14.0 points vs v1")
    outcomes = kpi_outcomes(store, "resolved", by="agent_version", tenant="rate")
    assert {(row["agent_version"], row["events"], row["binary"]) for row in outcomes} == {
        ("v1", 500, True),
        ("v2", 500, True),
    }


def test_equal_rates_are_not_significant(store: ChdbStore) -> None:
    _plant(store, "same", "resolved", {"v1": _rates(400, 260), "v2": _rates(400, 262)})
    found = compare_versions(store, "resolved", "support", "v1", "v2", tenant="same")
    assert not found.significant and found.result.p_value > 0.5
    assert found.result.ci_low < 0 < found.result.ci_high
    assert found.summary().startswith("No significant difference in resolved rate")


def test_a_planted_continuous_effect_is_found_and_noise_is_not(store: ChdbStore) -> None:
    rng = random.Random(7)
    lower = [min(5.0, max(1.0, rng.gauss(3.5, 0.8))) for _ in range(300)]
    higher = [min(5.0, max(1.0, rng.gauss(3.9, 0.8))) for _ in range(300)]
    same = [min(5.0, max(1.0, rng.gauss(3.5, 0.8))) for _ in range(300)]
    _plant(store, "csat", "csat", {"v1": lower, "v2": higher, "v3": same})
    found = compare_versions(store, "csat", "support", "v1", "v2", tenant="csat")
    assert found.kind == "continuous" and found.result.test == "mann-whitney-u"
    assert found.significant and found.result.p_value < 1e-4
    assert found.result.effect_size > 0.1  # rank-biserial: v2 tends higher
    assert found.result.difference == pytest.approx(sum(higher) / 300 - sum(lower) / 300)
    assert found.summary().startswith("v2 raised csat by")
    noise = compare_versions(store, "csat", "support", "v1", "v3", tenant="csat")
    assert not noise.significant
    capped = compare_versions(store, "csat", "support", "v1", "v2", tenant="csat", max_samples=50)
    assert capped.sampled and capped.mean_b == pytest.approx(found.mean_b)  # means stay exact


def test_cost_per_kpi_unit_counts_each_trace_once(store: ChdbStore) -> None:
    set_price(store, Price("^kpi-model$", 1.0, 0.0))
    t1, t2, t3, missing = (uuid.uuid4().hex for _ in range(4))
    _spans(
        store,
        [
            ("upsell", t1, "sales", "v1", "kpi-model", 1_000_000),  # $1
            ("upsell", t1, "sales", "v1", "kpi-model", 1_000_000),  # $1
            ("upsell", t2, "sales", "v2", "kpi-model", 3_000_000),  # $3
            ("upsell", t3, "sales", "v2", "kpi-model", 1_000_000),  # $1, reached by trace id
        ],
    )
    _decisions(
        store,
        [
            ("upsell", "u-1", t1, "sales", "v1", "offer"),
            ("upsell", "u-2", t2, "sales", "v2", "offer"),
            ("upsell", "u-3", missing, "sales", "v2", "offer"),
        ],
    )
    _kpis(
        store,
        [
            ("upsell", "upsell_usd", 40.0, "u-1", ""),
            ("upsell", "upsell_usd", 10.0, "u-1", ""),  # same trace: its cost counts once
            ("upsell", "upsell_usd", 20.0, "u-2", ""),
            ("upsell", "upsell_usd", 30.0, "", t3),  # no decision: the trace says v2
            ("upsell", "upsell_usd", 5.0, "u-3", ""),  # its trace was never stored
        ],
    )
    rows = {
        row["agent_version"]: row
        for row in cost_per_kpi(store, "upsell_usd", by="agent_version", tenant="upsell")
    }
    assert rows["v1"]["kpi_value"] == 50.0 and rows["v1"]["cost_usd"] == pytest.approx(2.0)
    assert rows["v1"]["cost_per_unit"] == pytest.approx(2.0 / 50.0)
    assert (rows["v2"]["kpi_value"], rows["v2"]["traces"]) == (55.0, 2)
    assert rows["v2"]["cost_usd"] == pytest.approx(4.0)
    assert rows["v2"]["events_without_trace"] == 1
    by_agent = cost_per_kpi(store, "upsell_usd", by="agent", tenant="upsell")
    assert by_agent[0]["cost_per_unit"] == pytest.approx(6.0 / 105.0)


def test_comparisons_refuse_what_cannot_be_compared(store: ChdbStore) -> None:
    with pytest.raises(ValueError, match="no 'nothing' events"):
        compare_versions(store, "nothing", "support", "v1", "v2")
    with pytest.raises(ValueError, match="two different versions"):
        compare_versions(store, "resolved", "support", "v1", "v1")
    with pytest.raises(ValueError, match="cannot group KPIs"):
        kpi_outcomes(store, "resolved", by="colour")  # type: ignore[arg-type]


def test_the_stored_attribution_gives_the_same_results(store: ChdbStore) -> None:
    """Run last: everything above, read back after the kpi_attribution job stored it."""
    assert attribution_watermark(store) is None
    calls: list[Callable[[], object]] = [
        lambda: kpi_outcomes(store, "resolved", by="agent_version", tenant="rate"),
        lambda: kpi_outcomes(store, "csat", by="model", tenant="csat"),
        lambda: kpi_outcomes(store, "upsell_usd", by="decision_type"),
        lambda: cost_per_kpi(store, "upsell_usd", by="agent_version", tenant="upsell"),
        lambda: compare_versions(store, "csat", "support", "v1", "v2", tenant="csat"),
        lambda: compare_versions(store, "resolved", "support", "v1", "v2", tenant="rate"),
    ]
    live = [call() for call in calls]
    result = run_kpi_attribution_job(store, settle=timedelta(0))
    assert result.rows > 0 and attribution_watermark(store) == result.window_end
    assert [call() for call in calls] == live
    assert run_kpi_attribution_job(store, settle=timedelta(0)).rows == 0
    assert [call() for call in calls] == live
