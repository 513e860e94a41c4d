"""The cluster DDL, checked by ClickHouse itself: every statement parses, and the replicated
local tables it creates are the single-node tables (columns, codecs, keys, TTL) once the
replication and ON CLUSTER parts are taken away and the statements run on chDB."""

from __future__ import annotations

import re
from typing import Any

from agentledger.storage.chdb_store import ChdbStore
from agentledger.storage.migrate import migration_script
from agentledger.storage.store import query_rows

CLUSTER = "agentledger_cluster"
SCRATCH = "cluster_check"


def _statements() -> list[str]:
    script = migration_script(30, 3650, cluster=CLUSTER)
    body = "\n".join(line for line in script.splitlines() if not line.startswith("--"))
    return [s.strip() for s in re.split(r";\s*$", body, flags=re.M) if s.strip()]


def test_every_cluster_statement_parses(store: ChdbStore) -> None:
    for statement in _statements():
        (row,) = query_rows(store, "SELECT formatQuery({q:String}) AS f", {"q": statement})
        assert row["f"]


def _single_node_form(statement: str) -> str | None:
    """The statement as it would act on one replica's local tables; None if it acts on the
    Distributed tables (checked by the golden file instead)."""
    if "ENGINE = Distributed" in statement or statement.startswith(("INSERT", "CREATE DATABASE")):
        return None
    target = re.match(r"(?:ALTER TABLE|DROP TABLE IF EXISTS) (\w+)", statement)
    if target and not target.group(1).endswith("_local"):
        return None
    statement = statement.replace(f" ON CLUSTER {CLUSTER}", "")
    return re.sub(
        r"Replicated(\w+)\('/clickhouse/tables/\{uuid\}/\{shard\}', '\{replica\}'(?:, )?",
        r"\1(",
        statement,
    )


def _shape(store: ChdbStore, database: str, suffix: str) -> dict[str, Any]:
    tables = query_rows(
        store,
        "SELECT name, engine, sorting_key, partition_key, primary_key,"
        " extract(create_table_query, ' TTL ([^\\n]*?) SETTINGS') AS ttl"
        " FROM system.tables WHERE database = {db:String} ORDER BY name",
        {"db": database},
    )
    columns = query_rows(
        store,
        "SELECT table, name, type, default_kind, default_expression, compression_codec"
        " FROM system.columns WHERE database = {db:String} ORDER BY table, position",
        {"db": database},
    )
    shape: dict[str, Any] = {}
    for table in tables:
        name = table.pop("name").removesuffix(suffix)
        shape[name] = {**table, "columns": []}
    for column in columns:
        shape[column.pop("table").removesuffix(suffix)]["columns"].append(column)
    return shape


def test_local_tables_equal_the_single_node_tables(store: ChdbStore) -> None:
    store.command(f"CREATE DATABASE IF NOT EXISTS {SCRATCH}")
    store.command(f"USE {SCRATCH}")
    try:
        for statement in filter(None, map(_single_node_form, _statements())):
            store.command(statement)
    finally:
        store.command(f"USE {store.database}")
    local = _shape(store, SCRATCH, "_local")
    single = _shape(store, store.database, "")
    assert set(local) == set(single)
    assert len(single) > 20
    for name in single:
        assert local[name] == single[name], name
