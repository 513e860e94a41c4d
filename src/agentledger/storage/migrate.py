"""Versioned, forward-only schema migrations, recorded in ``schema_migrations``.

Each ``migrations/NNNN_name.sql`` file holds statements separated by ``;`` at a line end;
``${ttl_days}`` and ``${audit_ttl_days}`` come from the settings. Applying is idempotent.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from importlib import resources
from string import Template

from agentledger.storage.store import Store, query_rows

__all__ = ["Migration", "applied_versions", "available_migrations", "migrate"]

_FILE = re.compile(r"^(\d{4})_(\w+)\.sql$")


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()

    def statements(self, ttl_days: int, audit_ttl_days: int) -> list[str]:
        text = Template(self.sql).substitute(ttl_days=ttl_days, audit_ttl_days=audit_ttl_days)
        body = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("--"))
        return [stmt.strip() for stmt in re.split(r";\s*$", body, flags=re.M) if stmt.strip()]


def available_migrations() -> list[Migration]:
    folder = resources.files("agentledger.storage") / "migrations"
    found = []
    for entry in folder.iterdir():
        match = _FILE.match(entry.name)
        if match:
            found.append(Migration(int(match.group(1)), match.group(2), entry.read_text()))
    return sorted(found, key=lambda m: m.version)


def applied_versions(store: Store) -> set[int]:
    _ensure_ledger(store)
    return {row["Version"] for row in query_rows(store, "SELECT Version FROM schema_migrations")}


def migrate(store: Store, ttl_days: int = 30, audit_ttl_days: int = 3650) -> list[Migration]:
    """Apply pending migrations in order; return the ones applied now."""
    done = applied_versions(store)
    applied = []
    for migration in available_migrations():
        if migration.version in done:
            continue
        for statement in migration.statements(ttl_days, audit_ttl_days):
            store.command(statement)
        store.command(
            "INSERT INTO schema_migrations (Version, Name, Checksum) "
            "VALUES ({v:UInt32}, {n:String}, {c:String})",
            {"v": migration.version, "n": migration.name, "c": migration.checksum},
        )
        applied.append(migration)
    return applied


def _ensure_ledger(store: Store) -> None:
    store.command(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " Version UInt32, Name String, Checksum String,"
        " AppliedAt DateTime64(3) DEFAULT now64(3)"
        ") ENGINE = ReplacingMergeTree(AppliedAt) ORDER BY Version"
    )
