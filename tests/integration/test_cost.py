"""Cost rollups priced from the versioned catalog, checked against hand-computed values."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, date, datetime, timedelta

import pyarrow as pa
import pytest

from agentledger.analytics.cost import cost_totals, run_cost_job
from agentledger.analytics.jobs import run_job
from agentledger.analytics.prices import (
    Price,
    Tier,
    default_prices,
    list_prices,
    price_version,
    seed_default_prices,
    set_price,
)
from agentledger.collector.spans import SCHEMA
from agentledger.storage.chdb_store import ChdbStore
from agentledger.storage.store import query_rows

NOW = time.time_ns()
DAY = 86_400 * 10**9


def _llm_spans(
    store: ChdbStore, tenant: str, model: str, rows: list[tuple[int, int, int, int]]
) -> None:
    """rows: (nanoseconds ago, input tokens, output tokens, cached input tokens)."""
    columns: dict[str, list[object]] = {name: [] for name in SCHEMA.names}
    for ago, tokens_in, tokens_out, cached in rows:
        attributes = [
            ("gen_ai.operation.name", "chat"),
            ("gen_ai.request.model", model),
            ("gen_ai.agent.name", "billing-agent"),
            ("gen_ai.usage.input_tokens", str(tokens_in)),
            ("gen_ai.usage.output_tokens", str(tokens_out)),
        ]
        if cached:
            attributes.append(("gen_ai.usage.cache_read.input_tokens", str(cached)))
        values = {
            "Timestamp": NOW - ago,
            "TraceId": uuid.uuid4().hex,
            "SpanId": uuid.uuid4().hex[:16],
            "SpanName": f"chat {model}",
            "SpanKind": "Client",
            "ServiceName": "billing",
            "SpanAttributes": attributes,
            "ResourceAttributes": [],
            "Duration": 1000,
            "StatusCode": "Unset",
            "TenantId": tenant,
        }
        for field in SCHEMA:
            nested = pa.types.is_list(field.type) or pa.types.is_map(field.type)
            columns[field.name].append(values.get(field.name, [] if nested else ""))
    store.insert_arrow("otel_traces", pa.table(columns, schema=SCHEMA))


def _by_model(store: ChdbStore) -> dict[str, dict[str, object]]:
    return {str(row["model"]): row for row in cost_totals(store, "model")}


def test_defaults_cover_common_models_and_cached_tokens_are_not_counted_twice(
    store: ChdbStore,
) -> None:
    assert any(p.provider == "anthropic" for p in default_prices())
    _llm_spans(store, "cost-a", "gpt-4o-mini", [(60 * 10**9, 1_000_000, 100_000, 400_000)])
    run_cost_job(store)
    row = _by_model(store)["gpt-4o-mini"]
    # 600k uncached at $0.15/M + 400k cached at $0.075/M + 100k output at $0.60/M
    assert row["cost_usd"] == pytest.approx(0.09 + 0.03 + 0.06)
    assert (row["input_tokens"], row["cached_input_tokens"], row["unpriced_tokens"]) == (
        1_000_000,
        400_000,
        0,
    )


def test_unknown_models_are_unpriced_not_free(store: ChdbStore) -> None:
    _llm_spans(store, "cost-b", "home-made-llm", [(60 * 10**9, 700, 300, 0)])
    run_cost_job(store)
    row = _by_model(store)["home-made-llm"]
    assert (row["cost_usd"], row["unpriced_tokens"]) == (0, 1000)


def test_a_price_change_mid_window_applies_from_its_day(store: ChdbStore) -> None:
    model = "priced-by-day"
    _llm_spans(store, "cost-c", model, [(2 * DAY, 1_000_000, 0, 0), (60 * 10**9, 1_000_000, 0, 0)])
    today = datetime.now(UTC).date()
    set_price(store, Price(f"^{model}$", 1.0, 0.0, valid_from=date(2020, 1, 1)))
    set_price(store, Price(f"^{model}$", 4.0, 0.0, valid_from=today - timedelta(days=1)))
    run_cost_job(store, since=datetime.now(UTC) - timedelta(days=3))
    days = {
        row["Day"]: row["CostUsd"]
        for row in query_rows(
            store,
            "SELECT Day, sum(CostUsd) AS CostUsd FROM cost_rollups FINAL"
            " WHERE ModelName = {m:String} GROUP BY Day",
            {"m": model},
        )
    }
    assert days == {today - timedelta(days=2): pytest.approx(1.0), today: pytest.approx(4.0)}


def test_a_user_override_restates_history_and_runs_are_recorded(store: ChdbStore) -> None:
    _llm_spans(store, "cost-d", "gpt-4.1", [(60 * 10**9, 2_000_000, 0, 0)])
    run_job(store, "cost")
    assert _by_model(store)["gpt-4.1"]["cost_usd"] == pytest.approx(4.0)  # default $2/M
    set_price(store, Price(r"^gpt-4\.1$", 3.0, 8.0))
    run_cost_job(store, since=datetime.now(UTC) - timedelta(days=1))
    assert _by_model(store)["gpt-4.1"]["cost_usd"] == pytest.approx(6.0)
    runs = query_rows(store, "SELECT Status, Rows FROM job_runs WHERE Job = 'cost'")
    assert runs and all(run["Status"] == "ok" for run in runs)


def test_invalid_price_patterns_are_refused(store: ChdbStore) -> None:
    with pytest.raises(ValueError, match="not a valid regex"):
        set_price(store, Price("gpt-(4", 1.0, 1.0))


# --- restatable, query-time pricing -----------------------------------------------------------

SPAN_COLUMNS = pa.schema(
    [
        ("Timestamp", pa.timestamp("ns")),
        ("TraceId", pa.string()),
        ("SpanId", pa.string()),
        ("SpanName", pa.string()),
        ("ServiceName", pa.string()),
        ("SpanAttributes", pa.map_(pa.string(), pa.string())),
        ("Duration", pa.uint64()),
        ("StatusCode", pa.string()),
        ("TenantId", pa.string()),
    ]
)


def _usage(
    store: ChdbStore,
    tenant: str,
    model: str,
    ago: int = 60 * 10**9,
    trace: str = "",
    **usage: int | str,
) -> None:
    """One chat span ``ago`` ns before the test started; ``usage`` holds GenAI attributes by
    their last name: input_tokens, output_tokens, cache_read, cache_write, reasoning, agent,
    version, provider."""
    names = {
        "input_tokens": "gen_ai.usage.input_tokens",
        "output_tokens": "gen_ai.usage.output_tokens",
        "cache_read": "gen_ai.usage.cache_read.input_tokens",
        "cache_write": "gen_ai.usage.cache_creation.input_tokens",
        "reasoning": "gen_ai.usage.reasoning.output_tokens",
        "agent": "gen_ai.agent.name",
        "version": "gen_ai.agent.version",
        "provider": "gen_ai.system",
    }
    attributes = [("gen_ai.operation.name", "chat"), ("gen_ai.request.model", model)]
    attributes += [(names[key], str(value)) for key, value in usage.items()]
    row = {
        "Timestamp": NOW - ago,
        "TraceId": trace or uuid.uuid4().hex,
        "SpanId": uuid.uuid4().hex[:16],
        "SpanName": "chat",
        "ServiceName": "svc",
        "SpanAttributes": attributes,
        "Duration": 1_000_000,
        "StatusCode": "Unset",
        "TenantId": tenant,
    }
    store.insert_arrow("otel_traces", pa.Table.from_pylist([row], SPAN_COLUMNS))


def _one(rows: list[dict[str, object]], **key: object) -> dict[str, object]:
    found = [row for row in rows if all(row[k] == v for k, v in key.items())]
    assert len(found) == 1, (key, rows)
    return found[0]


def test_cache_reads_writes_and_reasoning_are_each_priced_once(store: ChdbStore) -> None:
    set_price(store, Price("^ledger-model$", 2.0, 10.0, 0.5, 2.5, 20.0, tenant="acct"))
    _usage(
        store,
        "acct",
        "ledger-model",
        input_tokens=1_000_000,
        cache_read=200_000,
        cache_write=100_000,
        output_tokens=100_000,
        reasoning=40_000,
    )
    # a cached count above the input count is clamped to it: never a negative uncached part
    _usage(store, "acct", "ledger-model", input_tokens=1_000, cache_read=5_000, output_tokens=0)
    # 700k fresh * $2 + 200k read * $0.5 + 100k write * $2.5 + 60k output * $10 + 40k * $20
    expected = 1.4 + 0.1 + 0.25 + 0.6 + 0.8 + 1_000 * 0.5 / 1e6
    restated = _one(cost_totals(store, "tenant", as_of=datetime.now(UTC)), tenant="acct")
    assert restated["cost_usd"] == pytest.approx(expected)
    assert (restated["cached_input_tokens"], restated["cache_write_input_tokens"]) == (
        201_000,
        100_000,
    )
    assert restated["reasoning_tokens"] == 40_000
    run_cost_job(store)
    assert _one(cost_totals(store, "tenant"), tenant="acct")["cost_usd"] == pytest.approx(expected)


def test_a_request_above_the_tier_threshold_is_priced_at_the_tier(store: ChdbStore) -> None:
    set_price(store, Price("^tiered-model$", 1.0, 2.0, 0.5, tier=Tier(200_000, 3.0, 6.0)))
    _usage(store, "tier", "tiered-model", input_tokens=100_000, output_tokens=10_000)
    _usage(store, "tier", "tiered-model", input_tokens=200_000, output_tokens=0)  # not above
    _usage(
        store,
        "tier",
        "tiered-model",
        input_tokens=300_000,
        cache_read=100_000,
        output_tokens=10_000,
    )
    # 0.1 + 0.02 | 0.2 | tier: 200k * $3 + 100k cached * $1.5 (0.5 scaled like input) + 10k * $6
    expected = 0.12 + 0.2 + (0.6 + 0.15 + 0.06)
    rows = cost_totals(store, "model", as_of=datetime.now(UTC), tenant="tier")
    assert _one(rows, model="tiered-model")["cost_usd"] == pytest.approx(expected)
    run_cost_job(store)
    rolled = cost_totals(store, "model", tenant="tier")
    assert _one(rolled, model="tiered-model")["cost_usd"] == pytest.approx(expected)


def test_restating_with_the_catalog_as_of_a_date(store: ChdbStore) -> None:
    model, now = "restated-model", datetime.now(UTC)
    today = now.date()
    _usage(store, "restate", model, ago=2 * DAY, input_tokens=1_000_000, output_tokens=0)
    _usage(store, "restate", model, input_tokens=1_000_000, output_tokens=0)
    set_price(store, Price(f"^{model}$", 1.0, 0.0), recorded_at=now - timedelta(days=10))
    # a price change from yesterday on, recorded an hour ago
    change = Price(f"^{model}$", 4.0, 0.0, valid_from=today - timedelta(days=1))
    set_price(store, change, recorded_at=now - timedelta(hours=1))
    # a correction of the first price, recorded half an hour ago
    set_price(store, Price(f"^{model}$", 2.0, 0.0), recorded_at=now - timedelta(minutes=30))

    def restated(as_of: datetime) -> dict[str, object]:
        return _one(cost_totals(store, "model", as_of=as_of, tenant="restate"), model=model)

    before_any = restated(now - timedelta(days=20))
    assert (before_any["cost_usd"], before_any["unpriced_tokens"]) == (0, 2_000_000)
    assert restated(now - timedelta(days=5))["cost_usd"] == pytest.approx(2.0)
    assert restated(now - timedelta(minutes=45))["cost_usd"] == pytest.approx(1.0 + 4.0)
    assert restated(now)["cost_usd"] == pytest.approx(2.0 + 4.0)
    assert price_version(store, now - timedelta(days=5)) != price_version(store)
    listed = list_prices(store, as_of=now - timedelta(days=5))
    assert [p["InputPerMTok"] for p in listed if p["ModelPattern"] == f"^{model}$"] == [1.0]


def test_unpriced_usage_is_reported_per_span_and_never_free(store: ChdbStore) -> None:
    _usage(store, "unpriced", "no-such-model", input_tokens=700, output_tokens=300)
    _usage(store, "unpriced", "", input_tokens=50, output_tokens=50)  # no model name at all
    rows = cost_totals(store, "tenant", as_of=datetime.now(UTC), tenant="unpriced")
    row = _one(rows, tenant="unpriced")
    assert (row["cost_usd"], row["unpriced_tokens"], row["unpriced_spans"]) == (0, 1_100, 2)


def test_cost_per_agent_version_trace_and_decision(store: ChdbStore) -> None:
    set_price(store, Price("^split-model$", 1.0, 0.0))
    shared, alone = uuid.uuid4().hex, uuid.uuid4().hex
    for version, trace in (("v1", shared), ("v2", alone)):
        _usage(
            store,
            "split",
            "split-model",
            trace=trace,
            input_tokens=2_000_000,
            output_tokens=0,
            agent="router",
            version=version,
        )
    _usage(store, "split", "split-model", input_tokens=1_000_000, output_tokens=0, agent="router")
    decisions = pa.table(
        {
            "Timestamp": pa.array([NOW, NOW], pa.timestamp("ns")),
            "TenantId": ["split", "split"],
            "DecisionId": ["d-1", "d-2"],
            "TraceId": [shared, shared],
        }
    )
    store.insert_arrow("decisions", decisions)
    run_cost_job(store)
    versions = cost_totals(store, "agent_version", tenant="split")
    assert _one(versions, agent="router", agent_version="v1")["cost_usd"] == pytest.approx(2.0)
    assert _one(versions, agent="router", agent_version="")["cost_usd"] == pytest.approx(1.0)
    traces = cost_totals(store, "trace", tenant="split")
    assert _one(traces, trace=alone)["cost_usd"] == pytest.approx(2.0)
    spans = cost_totals(store, "span", tenant="split")
    assert sum(row["cost_usd"] for row in spans if row["trace"] == alone) == pytest.approx(2.0)
    assert all(len(str(row["span"])) == 16 for row in spans)
    by_decision = cost_totals(store, "decision", tenant="split")
    # the shared trace's $2 splits over its two decisions; the rest has no decision
    assert _one(by_decision, decision="d-1")["cost_usd"] == pytest.approx(1.0)
    assert _one(by_decision, decision="d-2")["input_tokens"] == pytest.approx(1_000_000)
    assert _one(by_decision, decision="")["cost_usd"] == pytest.approx(3.0)


def test_old_provider_names_match_the_catalog(store: ChdbStore) -> None:
    _usage(
        store,
        "alias",
        "mistral-large-latest",
        input_tokens=1_000_000,
        output_tokens=1_000_000,
        provider="mistralai",
    )
    rows = cost_totals(store, "provider", as_of=datetime.now(UTC), tenant="alias")
    assert _one(rows, provider="mistral_ai")["cost_usd"] == pytest.approx(2.0 + 6.0)


def test_rollups_are_replaced_not_added_on_every_run(store: ChdbStore) -> None:
    _usage(store, "rerun", "gpt-4o-mini", input_tokens=1_000_000, output_tokens=0, agent="a")
    # a row of today whose key no span has any more (e.g. written before the rollup key grew)
    store.command(
        "INSERT INTO cost_rollups (Day, TenantId, AgentName, ModelName, CostUsd, ComputedAt)"
        " VALUES (today(), 'rerun', 'gone', 'gpt-4o-mini', 99, now64(3) - 60)"
    )
    first = run_cost_job(store)
    again = run_cost_job(store)
    assert again.rows > 0 and first.rows > 0
    total = _one(cost_totals(store, "tenant", tenant="rerun"), tenant="rerun")
    assert total["cost_usd"] == pytest.approx(0.15)
    stored = query_rows(
        store, "SELECT AgentName, CostUsd FROM cost_rollups FINAL WHERE TenantId = 'rerun'"
    )
    assert stored == [{"AgentName": "a", "CostUsd": pytest.approx(0.15)}]


def test_bad_requests_get_clear_errors(store: ChdbStore) -> None:
    with pytest.raises(ValueError, match="RE2"):
        set_price(store, Price("(?=gpt)gpt-4", 1.0, 1.0))
    with pytest.raises(ValueError, match="non-negative"):
        set_price(store, Price("^x$", -1.0, 1.0))
    with pytest.raises(ValueError, match="cannot group cost by"):
        cost_totals(store, "colour")  # type: ignore[arg-type]
    assert seed_default_prices(store) == 0  # the fixture seeded them already
