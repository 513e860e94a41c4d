"""Migration statements rewritten for a ClickHouse cluster.

Every table ``T`` of the single-node schema becomes a ``Replicated*MergeTree`` table ``T_local``
created ``ON CLUSTER`` plus a ``Distributed`` table named ``T`` over it, so readers and writers use
the same names as on one node. Materialized views run on each shard's local tables, so what a
shard stores in ``otel_traces_local`` feeds that shard's ``model_observations_local``. Only the
statement shapes our migrations use are understood; anything else is refused by name rather than
rewritten wrongly.
"""

from __future__ import annotations

import re

__all__ = ["LOCAL_SUFFIX", "SHARDING_KEYS", "distributed_table", "render_for_cluster"]

LOCAL_SUFFIX = "_local"

# Rows that must meet stay on one shard: a trace's spans (and its trace-id lookup row and the
# model observations its spans produce, written by views on the same shard); a decision's record;
# and for every Replacing table a prefix of its sorting key, so FINAL merges every version of a row.
SHARDING_KEYS: dict[str, str] = {
    "schema_migrations": "cityHash64(Version)",
    "otel_traces": "cityHash64(TraceId)",
    "otel_traces_trace_id_ts": "cityHash64(TraceId)",
    "otel_logs": "cityHash64(TraceId, SpanId, Timestamp)",
    "otel_metrics_gauge": "cityHash64(ServiceName, MetricName, TimeUnix)",
    "otel_metrics_sum": "cityHash64(ServiceName, MetricName, TimeUnix)",
    "otel_metrics_histogram": "cityHash64(ServiceName, MetricName, TimeUnix)",
    "otel_metrics_exponential_histogram": "cityHash64(ServiceName, MetricName, TimeUnix)",
    "otel_metrics_summary": "cityHash64(ServiceName, MetricName, TimeUnix)",
    "decisions": "cityHash64(DecisionId)",
    "kpi_events": "cityHash64(DecisionId, EntityId)",
    "model_observations": "cityHash64(TraceId)",
    "model_prices": "cityHash64(TenantId, ModelPattern)",
    "model_prices_0003": "cityHash64(TenantId, ModelPattern)",
    "model_prices_0010": "cityHash64(TenantId, ModelPattern)",
    "cost_rollups": "cityHash64(TenantId, Day)",
    "job_runs": "cityHash64(Job)",
    "api_keys": "cityHash64(KeyId)",
    "drift_results": "cityHash64(TenantId, ModelName, Feature)",
    "lineage_edges": "cityHash64(TenantId, DstNode)",
    "lineage_nodes": "cityHash64(TenantId, Node)",
    "lineage_progress": "cityHash64(Job)",
    "budgets": "cityHash64(TenantId, AgentName, Period)",
    "anomalies": "cityHash64(TenantId, Kind, Entity, Metric)",
    "hourly_entity_metrics": "cityHash64(TenantId, Kind, Entity)",
    "kpi_attributions": "cityHash64(DecisionId, TraceId)",
    "job_watermarks": "cityHash64(Job)",
}

# {uuid} (not {table}) in the path, so a replicated table can still be renamed.
_REPLICA_ARGS = "'/clickhouse/tables/{uuid}/{shard}', '{replica}'"
# ALTER commands that change columns must reach the Distributed table too; the rest (indexes,
# settings, TTL, sorting key, mutations) exist only on the local tables.
_COLUMN_COMMAND = re.compile(r"^(ADD|MODIFY|DROP|RENAME|COMMENT|CLEAR)\s+COLUMN\b", re.I)

_CREATE_TABLE = re.compile(r"^CREATE TABLE (IF NOT EXISTS )?(\w+)\s*\(", re.I)
_ENGINE = re.compile(r"\s*ENGINE\s*=\s*(\w+)(\s*\(([^()]*)\))?", re.I)
_CREATE_VIEW = re.compile(
    r"^CREATE MATERIALIZED VIEW (IF NOT EXISTS )?(\w+) TO (\w+)\s+AS\s+(.*)$", re.I | re.S
)
_ALTER = re.compile(r"^ALTER TABLE (\w+)\s+(.*)$", re.I | re.S)
_RENAME = re.compile(r"^RENAME TABLE (.*)$", re.I | re.S)
_RENAME_PAIR = re.compile(r"^(\w+)\s+TO\s+(\w+)$", re.I)
_DROP = re.compile(r"^DROP TABLE (IF EXISTS )?(\w+)$", re.I)
_DROP_VIEW = re.compile(r"^DROP VIEW (IF EXISTS )?(\w+)$", re.I)
_INSERT = re.compile(r"^INSERT INTO \w+", re.I)
# A table a view reads: FROM/JOIN name, but not ARRAY JOIN, a function, or a qualified name.
_SOURCE = re.compile(r"(?<!ARRAY )\b(FROM|JOIN)\s+(\w+)\b(?!\s*[.(])", re.I)


def render_for_cluster(statement: str, cluster: str, database: str) -> list[str]:
    """The statements that do on ``cluster`` what ``statement`` does on one node."""
    on = f"ON CLUSTER {cluster}"
    if match := _CREATE_TABLE.match(statement):
        return _create_table(statement, match, on, cluster, database)
    if match := _CREATE_VIEW.match(statement):
        exists, view, target, select = match.groups()
        select = _SOURCE.sub(lambda m: f"{m.group(1)} {m.group(2)}{LOCAL_SUFFIX}", select)
        return [
            f"CREATE MATERIALIZED VIEW {exists or ''}{view} {on} "
            f"TO {target}{LOCAL_SUFFIX}\nAS {select}"
        ]
    if match := _ALTER.match(statement):
        return _alter(match.group(1), match.group(2), on)
    if match := _RENAME.match(statement):
        return _rename(match.group(1), on, cluster, database)
    if match := _DROP.match(statement):
        table = match.group(2)
        return [
            f"DROP TABLE IF EXISTS {table} {on} SYNC",
            f"DROP TABLE IF EXISTS {table}{LOCAL_SUFFIX} {on} SYNC",
        ]
    if match := _DROP_VIEW.match(statement):  # a view is per node, over the local tables
        return [f"DROP VIEW IF EXISTS {match.group(2)} {on} SYNC"]
    if _INSERT.match(statement):
        return [statement]  # through the Distributed tables, like any writer
    raise ValueError(f"cannot rewrite this migration statement for a cluster: {statement[:80]!r}")


def distributed_table(table: str, cluster: str, database: str) -> str:
    """``CREATE TABLE`` of the Distributed table ``table`` over ``table_local``."""
    key = SHARDING_KEYS.get(table)
    if key is None:
        raise ValueError(f"no sharding key for table {table!r}: add it to SHARDING_KEYS")
    local = table + LOCAL_SUFFIX
    return (
        f"CREATE TABLE IF NOT EXISTS {table} ON CLUSTER {cluster} AS {local}\n"
        f"ENGINE = Distributed({cluster}, {database}, {local}, {key})"
    )


def _create_table(
    statement: str, match: re.Match[str], on: str, cluster: str, database: str
) -> list[str]:
    exists, table = match.group(1) or "", match.group(2)
    columns_end = _closing_paren(statement, match.end() - 1)
    engine = _ENGINE.match(statement, columns_end + 1)
    if engine is None:
        raise ValueError(f"table {table}: no ENGINE clause after the column list")
    name, args = engine.group(1), (engine.group(3) or "").strip()
    if not name.endswith("MergeTree") or name.startswith("Replicated"):
        raise ValueError(f"table {table}: cannot replicate engine {name}")
    replicated = f"Replicated{name}({_REPLICA_ARGS}{', ' + args if args else ''})"
    local = (
        f"CREATE TABLE {exists}{table}{LOCAL_SUFFIX} {on} "
        f"{statement[match.end() - 1 : columns_end + 1]} ENGINE = {replicated}"
        f"{statement[engine.end() :]}"
    )
    return [local, distributed_table(table, cluster, database)]


def _alter(table: str, commands: str, on: str) -> list[str]:
    statements = [f"ALTER TABLE {table}{LOCAL_SUFFIX} {on} {commands}"]
    column_changes = [c for c in _split_top_level(commands) if _COLUMN_COMMAND.match(c)]
    if column_changes:
        statements.append(f"ALTER TABLE {table} {on} " + ",\n    ".join(column_changes))
    return statements


def _rename(pairs_text: str, on: str, cluster: str, database: str) -> list[str]:
    """Rename the local tables; the Distributed tables name their local table, so they are
    dropped and made again over the renamed ones."""
    pairs = []
    for pair in _split_top_level(pairs_text):
        match = _RENAME_PAIR.match(pair)
        if match is None:
            raise ValueError(f"cannot rewrite RENAME {pair!r} for a cluster")
        pairs.append((match.group(1), match.group(2)))
    drops = [f"DROP TABLE IF EXISTS {old} {on} SYNC" for old, _ in pairs]
    local = ", ".join(f"{old}{LOCAL_SUFFIX} TO {new}{LOCAL_SUFFIX}" for old, new in pairs)
    creates = [distributed_table(new, cluster, database) for _, new in pairs]
    return [*drops, f"RENAME TABLE {local} {on}", *creates]


def _closing_paren(text: str, start: int) -> int:
    """Index of the parenthesis closing the one at ``start`` (quotes and nesting respected)."""
    depth = 0
    quote = ""
    index = start
    while index < len(text):
        char = text[index]
        if quote:
            if char == "\\":
                index += 1
            elif char == quote:
                quote = ""
        elif char in "'`\"":
            quote = char
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                return index
        index += 1
    raise ValueError(f"unbalanced parentheses in {text[:80]!r}")


def _split_top_level(text: str) -> list[str]:
    """``text`` split at commas outside parentheses and quotes, each part stripped."""
    parts: list[str] = []
    depth = 0
    quote = ""
    current: list[str] = []
    escaped = False
    for char in text:
        if quote:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == quote:
                quote = ""
        elif char in "'`\"":
            quote = char
        elif char in "([":
            depth += 1
        elif char in ")]":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append("".join(current).strip())
            current = []
            continue
        current.append(char)
    parts.append("".join(current).strip())
    return [part for part in parts if part]
