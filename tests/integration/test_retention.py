"""Retention per table: from configuration at migration, changeable later, old rows dropped."""

from __future__ import annotations

import time

import pyarrow as pa
import pytest

from agentledger.storage.chdb_store import ChdbStore
from agentledger.storage.migrate import available_migrations, migrate
from agentledger.storage.retention import retention_days, set_retention
from agentledger.storage.store import query_rows

DAY_NS = 86_400 * 1_000_000_000


def _ttl_clause(store: ChdbStore, table: str) -> str:
    (row,) = query_rows(
        store,
        "SELECT create_table_query AS q FROM system.tables"
        " WHERE database = 'agentledger' AND name = {t:String}",
        {"t": table},
    )
    query: str = row["q"]
    return query[query.index(" TTL ") :]


def test_defaults_keep_decisions_longest(store: ChdbStore) -> None:
    days = retention_days(store)
    assert days["otel_traces"] == days["otel_logs"] == days["model_observations"] == 30
    assert days["decisions"] == max(days.values()) == 3650
    assert "job_runs" not in days  # no TTL: nothing to change


def test_changing_retention_drops_older_rows_now(store: ChdbStore) -> None:
    now = time.time_ns()
    ages = [1, 2, 10, 20]
    store.insert_arrow(
        "kpi_events",
        pa.table(
            {
                "Timestamp": pa.array([now - age * DAY_NS for age in ages], pa.timestamp("ns")),
                "TenantId": ["acme"] * 4,
                "KpiName": ["resolved"] * 4,
                "Value": [float(age) for age in ages],
            }
        ),
    )
    set_retention(store, "kpi_events", 5)
    assert "toDateTime(Timestamp) + toIntervalDay(5)" in _ttl_clause(store, "kpi_events")
    rows = query_rows(store, "SELECT Value FROM kpi_events ORDER BY Value")
    assert [row["Value"] for row in rows] == [1.0, 2.0]
    assert retention_days(store)["kpi_events"] == 5


def test_configured_retention_is_applied_by_migrations(store: ChdbStore) -> None:
    assert migrate(store, retention={"otel_logs": 7, "decisions": 4000}) == []  # none pending
    days = retention_days(store)
    assert (days["otel_logs"], days["decisions"]) == (7, 4000)
    assert "TTL TimestampTime + toIntervalDay(7)" in _ttl_clause(store, "otel_logs")


def test_new_tables_are_created_with_their_configured_retention() -> None:
    first = available_migrations()[0]
    statements = first.statements(30, 3650, retention={"otel_traces": 14})
    traces = next(s for s in statements if s.startswith("CREATE TABLE IF NOT EXISTS otel_traces ("))
    assert "TTL toDateTime(Timestamp) + toIntervalDay(14)" in traces
    logs = next(s for s in statements if s.startswith("CREATE TABLE IF NOT EXISTS otel_logs ("))
    assert "toIntervalDay(30)" in logs


def test_bad_retention_is_refused_with_the_reason(store: ChdbStore) -> None:
    with pytest.raises(ValueError, match="AGENTLEDGER_RETENTION: no table with a TTL named nope"):
        migrate(store, retention={"nope": 3})
    with pytest.raises(ValueError, match="job_runs' has no retention"):
        set_retention(store, "job_runs", 3)
    with pytest.raises(ValueError, match="positive whole number"):
        set_retention(store, "otel_traces", 0)
    assert retention_days(store)["otel_traces"] == 30
