"""Versioned, forward-only schema migrations, recorded in ``schema_migrations``.

Each ``migrations/NNNN_name.sql`` file holds statements separated by ``;`` at a line end;
``${ttl_days}`` and ``${audit_ttl_days}`` come from the settings, and a per-table retention
override replaces the days of that table's TTL. Applying is idempotent. The same statements run
on one node or, rewritten by :mod:`agentledger.storage.cluster_ddl`, ``ON CLUSTER``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from string import Template
from typing import TYPE_CHECKING

from agentledger.storage.cluster_ddl import render_for_cluster
from agentledger.storage.store import Store, query_rows

if TYPE_CHECKING:
    from agentledger.config import Settings

__all__ = [
    "Migration",
    "MigrationState",
    "applied_versions",
    "available_migrations",
    "migrate",
    "migrate_settings",
    "migration_script",
    "migration_status",
    "render",
]

_FILE = re.compile(r"^(\d{4})_(\w+)\.sql$")
_CREATE_TABLE = re.compile(r"^CREATE TABLE (?:IF NOT EXISTS )?(\w+)\s*\(", re.I)
_TTL_DAYS = re.compile(r"(\nTTL [^\n]*\+ toIntervalDay\()\d+(\))")
_LEDGER = (
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " Version UInt32, Name String, Checksum String,"
    " AppliedAt DateTime64(3) DEFAULT now64(3)"
    ") ENGINE = ReplacingMergeTree(AppliedAt) ORDER BY Version"
)
_RECORD = (
    "INSERT INTO schema_migrations (Version, Name, Checksum) "
    "VALUES ({v:UInt32}, {n:String}, {c:String})"
)


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()

    @property
    def label(self) -> str:
        return f"{self.version:04d}_{self.name}"

    def statements(
        self, ttl_days: int, audit_ttl_days: int, retention: Mapping[str, int] | None = None
    ) -> list[str]:
        """The single-node statements; ``retention`` sets the TTL days of the tables it names."""
        text = Template(self.sql).substitute(ttl_days=ttl_days, audit_ttl_days=audit_ttl_days)
        body = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("--"))
        found = [stmt.strip() for stmt in re.split(r";\s*$", body, flags=re.M) if stmt.strip()]
        return [_with_retention(statement, retention or {}) for statement in found]


@dataclass(frozen=True)
class MigrationState:
    """One migration as ``db status`` shows it. ``changed``: applied, but its file differs now
    (migrations are forward-only: add a new one instead of editing an applied one)."""

    version: int
    name: str
    status: str  # applied | pending | changed
    applied_at: datetime | None


def available_migrations() -> list[Migration]:
    folder = resources.files("agentledger.storage") / "migrations"
    found = []
    for entry in folder.iterdir():
        match = _FILE.match(entry.name)
        if match:
            found.append(Migration(int(match.group(1)), match.group(2), entry.read_text()))
    return sorted(found, key=lambda m: m.version)


def render(statement: str, cluster: str = "", database: str = "agentledger") -> list[str]:
    """``statement`` as it runs on one node (unchanged) or on ``cluster``."""
    return render_for_cluster(statement, cluster, database) if cluster else [statement]


def applied_versions(store: Store, cluster: str = "") -> set[int]:
    _ensure_ledger(store, cluster)
    return {row["Version"] for row in query_rows(store, "SELECT Version FROM schema_migrations")}


def migrate(
    store: Store,
    ttl_days: int = 30,
    audit_ttl_days: int = 3650,
    *,
    cluster: str = "",
    retention: Mapping[str, int] | None = None,
    up_to: int | None = None,
) -> list[Migration]:
    """Apply pending migrations in order (those up to version ``up_to``, if given), then the
    per-table ``retention`` to tables made earlier; return the migrations applied now."""
    done = applied_versions(store, cluster)
    applied = []
    for migration in available_migrations():
        if migration.version in done or (up_to is not None and migration.version > up_to):
            continue
        for statement in migration.statements(ttl_days, audit_ttl_days, retention):
            for rendered in render(statement, cluster, store.database):
                store.command(rendered)
        store.command(
            _RECORD, {"v": migration.version, "n": migration.name, "c": migration.checksum}
        )
        applied.append(migration)
    if retention:
        from agentledger.storage.retention import apply_retention

        apply_retention(store, retention, cluster=cluster)
    return applied


def migrate_settings(
    store: Store, settings: Settings, *, cluster: str | None = None, up_to: int | None = None
) -> list[Migration]:
    """:func:`migrate` with everything it takes from the settings; ``cluster`` overrides
    ``AGENTLEDGER_CLUSTER``."""
    return migrate(
        store,
        settings.ttl_days,
        settings.audit_ttl_days,
        cluster=settings.cluster if cluster is None else cluster,
        retention=settings.retention_days(),
        up_to=up_to,
    )


def migration_status(store: Store) -> list[MigrationState]:
    """Every known migration, applied or pending, in order."""
    _ensure_ledger(store, "")
    recorded = {
        row["Version"]: row
        for row in query_rows(
            store,
            "SELECT Version, argMax(Checksum, AppliedAt) AS LastChecksum,"
            " max(AppliedAt) AS LastAppliedAt FROM schema_migrations GROUP BY Version",
        )
    }
    states = []
    for migration in available_migrations():
        row = recorded.get(migration.version)
        if row is None:
            states.append(MigrationState(migration.version, migration.name, "pending", None))
            continue
        status = "applied" if row["LastChecksum"] == migration.checksum else "changed"
        states.append(
            MigrationState(migration.version, migration.name, status, row["LastAppliedAt"])
        )
    return states


def migration_script(
    ttl_days: int = 30,
    audit_ttl_days: int = 3650,
    *,
    cluster: str = "",
    database: str = "agentledger",
    retention: Mapping[str, int] | None = None,
) -> str:
    """Every migration as one SQL script (what ``db migrate --print`` shows), each recorded in
    ``schema_migrations`` as :func:`migrate` records it, so running the script by hand leaves a
    store that ``db status`` reads as up to date."""
    on_cluster = f" ON CLUSTER {cluster}" if cluster else ""
    parts = [f"CREATE DATABASE IF NOT EXISTS {database}{on_cluster}"]
    parts += render(_LEDGER, cluster, database)
    for migration in available_migrations():
        statements = [f"-- {migration.label}"]
        for statement in migration.statements(ttl_days, audit_ttl_days, retention):
            statements += render(statement, cluster, database)
        statements.append(
            "INSERT INTO schema_migrations (Version, Name, Checksum) VALUES "
            f"({migration.version}, '{migration.name}', '{migration.checksum}')"
        )
        parts += statements
    lines = []
    for part in parts:
        lines.append(part if part.startswith("--") else part + ";")
        if not part.startswith("--"):
            lines.append("")
    return "\n".join(lines)


def _with_retention(statement: str, retention: Mapping[str, int]) -> str:
    match = _CREATE_TABLE.match(statement)
    if match is None or match.group(1) not in retention:
        return statement
    days = retention[match.group(1)]
    return _TTL_DAYS.sub(lambda m: f"{m.group(1)}{days}{m.group(2)}", statement)


def _ensure_ledger(store: Store, cluster: str) -> None:
    for statement in render(_LEDGER, cluster, store.database):
        store.command(statement)
