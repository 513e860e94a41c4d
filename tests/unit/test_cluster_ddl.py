"""The cluster form of the migrations: golden DDL, sharding keys, reader names kept."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from agentledger.storage.cluster_ddl import SHARDING_KEYS, render_for_cluster
from agentledger.storage.migrate import available_migrations, migration_script

GOLDEN = Path(__file__).parents[1] / "golden" / "cluster_migrations.sql"
CLUSTER = "agentledger_cluster"
_CREATE = re.compile(r"^CREATE TABLE (?:IF NOT EXISTS )?(\w+)\s*\(", re.I)


def _single_node_statements() -> list[str]:
    return [s for m in available_migrations() for s in m.statements(30, 3650)]


def _script_statements(script: str) -> list[str]:
    body = "\n".join(line for line in script.splitlines() if not line.startswith("--"))
    return [s.strip() for s in re.split(r";\s*$", body, flags=re.M) if s.strip()]


def test_cluster_ddl_matches_the_golden_file() -> None:
    script = migration_script(30, 3650, cluster=CLUSTER, database="agentledger")
    if os.environ.get("AGENTLEDGER_UPDATE_GOLDEN"):
        GOLDEN.write_text(script)
    assert script == GOLDEN.read_text(), (
        "cluster DDL changed: review it, then regenerate with AGENTLEDGER_UPDATE_GOLDEN=1"
    )


def test_every_table_is_a_replicated_local_table_behind_a_distributed_one() -> None:
    script = migration_script(30, 3650, cluster=CLUSTER)
    statements = _script_statements(script)
    single = {m.group(1) for s in _single_node_statements() if (m := _CREATE.match(s))}
    distributed = set(
        re.findall(
            r"^CREATE TABLE IF NOT EXISTS (\w+) ON CLUSTER \w+ AS (\w+)_local\n", script, re.M
        )
    )
    assert {name for name, _ in distributed} == single | {"schema_migrations", "model_prices_0003"}
    assert all(name == local for name, local in distributed)
    locals_ = [s for s in statements if re.match(r"CREATE TABLE (IF NOT EXISTS )?\w+_local ", s)]
    assert len(locals_) == len(single) + 1  # + the ledger
    for statement in locals_:
        assert f"ON CLUSTER {CLUSTER} (" in statement
        assert "ENGINE = Replicated" in statement
        assert "'/clickhouse/tables/{uuid}/{shard}', '{replica}'" in statement
    for statement in statements:
        if not statement.startswith("INSERT"):
            assert f"ON CLUSTER {CLUSTER}" in statement, statement[:80]


def test_spans_shard_by_trace_and_decisions_by_decision_id() -> None:
    script = migration_script(cluster=CLUSTER)
    assert (
        "Distributed(agentledger_cluster, agentledger, otel_traces_local, cityHash64(TraceId))"
        in script
    )
    assert (
        "Distributed(agentledger_cluster, agentledger, decisions_local, cityHash64(DecisionId))"
        in script
    )


def test_replacing_tables_shard_by_a_part_of_their_sorting_key() -> None:
    """FINAL merges row versions within a shard, so every version of a row must land on one."""
    final_order: dict[str, set[str]] = {}
    engines: dict[str, str] = {}
    for statement in _single_node_statements():
        named = re.match(r"(?:CREATE|ALTER) TABLE (?:IF NOT EXISTS )?(\w+)", statement)
        order = re.search(r"(?:\n|MODIFY )ORDER BY \(?([\w, ]+)", statement)
        if named and order:
            final_order[named.group(1)] = {c.strip() for c in order.group(1).split(",")}
        if _CREATE.match(statement) and named:
            engines[named.group(1)] = re.findall(r"ENGINE = (\w+)", statement)[0]
    for table, engine in engines.items():
        assert table in SHARDING_KEYS, table
        if engine.startswith("Replacing"):
            key = set(re.findall(r"\w+", SHARDING_KEYS[table])) - {"cityHash64"}
            assert key <= final_order[table], (table, key, final_order[table])


def test_materialized_views_read_and_write_local_tables() -> None:
    view = (
        "CREATE MATERIALIZED VIEW IF NOT EXISTS v TO model_observations AS SELECT x.1 "
        "FROM otel_traces ARRAY JOIN arrayConcat([(1, 2)]) AS x "
        "WHERE TraceId IN (SELECT TraceId FROM system.one JOIN decisions USING (TraceId))"
    )
    (rendered,) = render_for_cluster(view, "c", "db")
    assert rendered.startswith("CREATE MATERIALIZED VIEW IF NOT EXISTS v ON CLUSTER c TO ")
    assert "TO model_observations_local" in rendered and "FROM otel_traces_local" in rendered
    assert "ARRAY JOIN arrayConcat(" in rendered and "FROM system.one" in rendered
    assert "JOIN decisions_local USING" in rendered


def test_alter_reaches_the_distributed_table_only_for_column_changes() -> None:
    statements = render_for_cluster(
        "ALTER TABLE t ADD COLUMN IF NOT EXISTS a UInt8 DEFAULT if(1, 2, 3), MODIFY ORDER BY (x,a)",
        "c",
        "db",
    )
    assert statements == [
        "ALTER TABLE t_local ON CLUSTER c ADD COLUMN IF NOT EXISTS a UInt8 DEFAULT if(1, 2, 3), "
        "MODIFY ORDER BY (x,a)",
        "ALTER TABLE t ON CLUSTER c ADD COLUMN IF NOT EXISTS a UInt8 DEFAULT if(1, 2, 3)",
    ]
    quoted = render_for_cluster("ALTER TABLE t ADD COLUMN s String DEFAULT 'a,(b'", "c", "db")
    assert quoted[1] == "ALTER TABLE t ON CLUSTER c ADD COLUMN s String DEFAULT 'a,(b'"
    assert render_for_cluster("ALTER TABLE t MODIFY SETTING x = 1", "c", "db") == [
        "ALTER TABLE t_local ON CLUSTER c MODIFY SETTING x = 1"
    ]


@pytest.mark.parametrize(
    "statement",
    ["CREATE VIEW v AS SELECT 1", "TRUNCATE TABLE t", "CREATE TABLE t (a UInt8) ENGINE = Log"],
)
def test_statements_it_cannot_rewrite_are_refused(statement: str) -> None:
    with pytest.raises(ValueError, match="cannot"):
        render_for_cluster(statement, "c", "db")


def test_single_node_form_is_the_migration_text_unchanged() -> None:
    script = migration_script(30, 3650)
    assert "ON CLUSTER" not in script and "Replicated" not in script and "_local" not in script
    assert _script_statements(script)[2:4] == _single_node_statements()[:2]


def test_cli_prints_the_cluster_ddl_without_a_store() -> None:
    from click.testing import CliRunner

    from agentledger.cli import cli

    unset = ("TTL_DAYS", "AUDIT_TTL_DAYS", "RETENTION", "DATABASE", "CONFIG", "CLUSTER")
    env: dict[str, str | None] = {f"AGENTLEDGER_{name}": None for name in unset}
    env["AGENTLEDGER_CLICKHOUSE_URL"] = "http://nobody@127.0.0.1:9"  # never connected to
    result = CliRunner().invoke(cli, ["db", "migrate", "--cluster", CLUSTER, "--print"], env=env)
    assert result.exit_code == 0, result.output
    assert result.output == GOLDEN.read_text() + "\n"
    bad = CliRunner().invoke(cli, ["db", "migrate", "--cluster", "no good", "--print"], env=env)
    assert bad.exit_code == 1 and "AGENTLEDGER_CLUSTER" in bad.output
