"""Upgrades: a store made by the previous schema version, holding data, migrates to the current
one with every row intact; migrations are forward-only, idempotent and shown by `db status`."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import pytest

from agentledger.audit import verify_chain
from agentledger.audit.chain import DECISION_SCHEMA, GENESIS, AuditChain, record_hash
from agentledger.storage.chdb_store import ChdbStore
from agentledger.storage.migrate import available_migrations, migrate, migration_status
from agentledger.storage.store import query_rows

from ..conftest import StoredIngestor
from .deployment_data import decisions, traces_request

PREVIOUS = available_migrations()[-2].version
CURRENT = available_migrations()[-1].version


@pytest.fixture(scope="module")
def old_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChdbStore]:
    """A store as the previous release left it."""
    chdb = ChdbStore(tmp_path_factory.mktemp("previous"))
    migrate(chdb, up_to=PREVIOUS)
    yield chdb
    chdb.close()


def _sealed_by_the_previous_release(records: list[dict[str, Any]]) -> pa.Table:
    """Decisions as a release before audit chain ids sealed them: one chain per tenant, no
    ChainId column (the current AuditChain needs the current schema)."""
    prev, rows = GENESIS, []
    for seq, record in enumerate(records, 1):
        row = dict(record, Seq=seq, PrevHash=prev)
        row["Hash"] = prev = record_hash(row)
        rows.append(dict(row, Attributes=list(record["Attributes"].items())))
    schema = DECISION_SCHEMA.remove(DECISION_SCHEMA.get_field_index("ChainId"))
    return pa.Table.from_pylist(rows, schema)


def _stored_columns(store: ChdbStore) -> dict[str, list[str]]:
    rows = query_rows(
        store,
        "SELECT table, groupArray(name) AS names FROM (SELECT table, name FROM system.columns"
        " WHERE database = 'agentledger' AND default_kind NOT IN ('MATERIALIZED', 'ALIAS')"
        " AND table IN (SELECT name FROM system.tables WHERE database = 'agentledger'"
        " AND engine LIKE '%MergeTree' AND name NOT IN ('schema_migrations', 'model_prices'))"
        " ORDER BY table, position) GROUP BY table",
    )
    return {row["table"]: row["names"] for row in rows}


def _hashes(store: ChdbStore, columns: dict[str, list[str]]) -> dict[str, Any]:
    found = {}
    for table, names in columns.items():
        listed = ", ".join(f"`{name}`" for name in names)
        (row,) = query_rows(
            store,
            f"SELECT count() AS n, groupBitXor(cityHash64(formatRow('TabSeparated', {listed})))"
            f" AS h FROM {table}",
        )
        found[table] = (row["n"], row["h"])
    return found


def test_previous_schema_upgrades_with_data_intact(old_store: ChdbStore) -> None:
    states = migration_status(old_store)
    assert [s.status for s in states] == ["applied"] * (len(states) - 1) + ["pending"]
    assert states[-1].version == CURRENT and states[-1].applied_at is None

    StoredIngestor(old_store).traces(traces_request(12), "acme")
    old_store.insert_arrow("decisions", _sealed_by_the_previous_release(decisions("acme", 9)))
    old_store.command(
        "INSERT INTO model_prices (Provider, ModelPattern, InputPerMTok, OutputPerMTok,"
        " CachedInputPerMTok, CacheWritePerMTok, ReasoningPerMTok, ValidFrom, Source)"
        " VALUES ('openai', '^in-house$', 1, 2, 0.5, 0, 0, '2026-01-01', 'user')"
    )
    columns = _stored_columns(old_store)
    before = _hashes(old_store, columns)
    assert before["otel_traces"][0] == 12 and before["decisions"][0] == 9

    applied = migrate(old_store)

    assert [m.version for m in applied] == [CURRENT]
    assert _hashes(old_store, columns) == before  # every row and every old column unchanged
    assert verify_chain(old_store, "acme").ok
    AuditChain(old_store).append(decisions("acme", 1, start=9))  # the old chain goes on
    assert verify_chain(old_store, "acme").checked == 10 and verify_chain(old_store, "acme").ok
    (price,) = query_rows(
        old_store, "SELECT InputPerMTok, OutputPerMTok FROM model_prices WHERE Source = 'user'"
    )
    assert (price["InputPerMTok"], price["OutputPerMTok"]) == (1.0, 2.0)
    assert {s.status for s in migration_status(old_store)} == {"applied"}


def test_migrating_again_changes_nothing(old_store: ChdbStore) -> None:
    assert migrate(old_store) == []
    (row,) = query_rows(old_store, "SELECT count() AS n FROM schema_migrations FINAL")
    assert row["n"] == CURRENT


def test_an_applied_migration_edited_afterwards_is_reported(old_store: ChdbStore) -> None:
    old_store.command(
        "INSERT INTO schema_migrations (Version, Name, Checksum, AppliedAt)"
        " VALUES (1, 'traces_and_logs', 'edited', now64(3) + 1)"
    )
    states = {s.version: s.status for s in migration_status(old_store)}
    assert states[1] == "changed" and states[CURRENT] == "applied"
