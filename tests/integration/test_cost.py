"""Cost rollups priced from the versioned catalog, checked against hand-computed values."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, date, datetime, timedelta

import pyarrow as pa
import pytest

from agentledger.analytics.cost import cost_totals, run_cost_job
from agentledger.analytics.jobs import run_job
from agentledger.analytics.prices import Price, default_prices, set_price
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
