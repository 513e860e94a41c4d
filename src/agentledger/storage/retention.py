"""Retention: each table's TTL in days, read from and changed in the engine itself.

Migrations create tables with the configured days (``AGENTLEDGER_TTL_DAYS``,
``AGENTLEDGER_AUDIT_TTL_DAYS`` and per-table ``AGENTLEDGER_RETENTION``); this module reads what a
table keeps now and changes it later, keeping the table's own TTL expression and only replacing
the number of days. On a cluster the TTL lives on the ``*_local`` tables.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from agentledger.storage.cluster_ddl import LOCAL_SUFFIX
from agentledger.storage.store import Store, query_rows

__all__ = ["apply_retention", "retention_days", "set_retention"]

_TTL = re.compile(r"\bTTL (.+?) \+ toIntervalDay\((\d+)\)")


def retention_days(store: Store) -> dict[str, int]:
    """Days each table with a TTL keeps, by the name readers use."""
    return {table: days for table, (_, days) in _ttl_clauses(store).items()}


def set_retention(store: Store, table: str, days: int, *, cluster: str = "") -> None:
    """Keep ``days`` of ``table`` from now on; rows already older are dropped by ClickHouse (whole
    parts, as the tables set ``ttl_only_drop_parts``) before this returns."""
    if isinstance(days, bool) or not isinstance(days, int) or days <= 0:
        raise ValueError(f"retention of {table}: {days!r} is not a positive whole number of days")
    clauses = _ttl_clauses(store)
    if table not in clauses:
        known = ", ".join(sorted(clauses))
        raise ValueError(f"table {table!r} has no retention to change; tables with one: {known}")
    expression, _ = clauses[table]
    target = f"{table}{LOCAL_SUFFIX} ON CLUSTER {cluster}" if cluster else table
    store.command(
        f"ALTER TABLE {target} MODIFY TTL {expression} + toIntervalDay({days})"
        " SETTINGS mutations_sync = 2"
    )


def apply_retention(store: Store, retention: Mapping[str, int], *, cluster: str = "") -> list[str]:
    """Give each named table its configured days where it keeps a different number; return the
    tables changed. Every name is checked before anything changes."""
    current = retention_days(store)
    unknown = sorted(set(retention) - set(current))
    if unknown:
        raise ValueError(
            f"AGENTLEDGER_RETENTION: no table with a TTL named {', '.join(unknown)}; "
            f"tables with one: {', '.join(sorted(current))}"
        )
    changed = [table for table, days in retention.items() if current[table] != days]
    for table in changed:
        set_retention(store, table, retention[table], cluster=cluster)
    return changed


def _ttl_clauses(store: Store) -> dict[str, tuple[str, int]]:
    """Table (reader's name) -> (TTL time expression, days), for tables whose TTL is in days."""
    rows = query_rows(
        store,
        "SELECT name, create_table_query FROM system.tables"
        " WHERE database = {db:String} AND engine LIKE '%MergeTree'",
        {"db": store.database},
    )
    clauses = {}
    for row in rows:
        match = _TTL.search(row["create_table_query"])
        if match:
            name = row["name"].removesuffix(LOCAL_SUFFIX)
            clauses[name] = (match.group(1), int(match.group(2)))
    return clauses
