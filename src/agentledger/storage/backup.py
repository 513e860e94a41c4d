"""Backup and restore of the embedded store, consistent while ``serve`` keeps writing.

chDB has no ``backups.allowed_path`` configured, so ClickHouse's ``BACKUP`` statement is not
available; ``ALTER TABLE ... FREEZE`` is. Freezing hard-links a table's current parts in one step
(each insert is one part, so a table is captured between inserts, never in the middle of one) and
copying the links cannot see later writes or merges. Restoring copies the parts into a table's
``detached`` folder and attaches them, which, unlike an INSERT, fires no materialized view and
keeps every row (and the decision hash chain) byte for byte. Both work through any store whose
engine keeps its files on this machine: the embedded store itself, or the SQL endpoint of a
``serve`` running here. For a ClickHouse server, use its own ``BACKUP`` (docs/deployment.md).
"""

from __future__ import annotations

import json
import shutil
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from agentledger.storage.migrate import applied_versions, migrate
from agentledger.storage.store import Store, query_rows

__all__ = ["BackupInfo", "backup", "read_manifest", "restore"]

_MANIFEST = "manifest.json"
_FORMAT = 1


@dataclass(frozen=True)
class BackupInfo:
    """What a backup holds: the schema version it was taken at and the rows of each table."""

    path: Path
    created_at: str
    database: str
    schema_version: int
    rows: dict[str, int]


def backup(store: Store, destination: Path) -> BackupInfo:
    """Copy every table of ``store`` into ``destination`` (a new or empty folder)."""
    destination = Path(destination)
    if destination.exists() and any(destination.iterdir()):
        raise ValueError(f"backup folder {destination} is not empty")
    engine_path = _engine_path(store)
    version = max(applied_versions(store), default=0)
    name = f"agentledger_{uuid.uuid4().hex}"  # a plain file name, not escaped
    rows: dict[str, int] = {}
    destination.mkdir(parents=True, exist_ok=True)
    for table in _tables(store):
        store.command(f"ALTER TABLE {table['name']} FREEZE WITH NAME '{name}'")
        try:
            rows[table["name"]] = _copy_frozen(engine_path, name, table, destination)
        except OSError as exc:
            raise ValueError(f"cannot copy the files of {table['name']}: {exc}") from None
        finally:
            store.command(f"ALTER TABLE {table['name']} UNFREEZE WITH NAME '{name}'")
    shutil.rmtree(engine_path / "shadow" / name, ignore_errors=True)
    info = BackupInfo(destination, datetime.now(UTC).isoformat(), store.database, version, rows)
    manifest = {
        "format": _FORMAT,
        "created_at": info.created_at,
        "database": info.database,
        "schema_version": version,
        "rows": rows,
    }
    (destination / _MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    return info


def restore(
    store: Store,
    source: Path,
    *,
    ttl_days: int = 30,
    audit_ttl_days: int = 3650,
    replace: bool = False,
) -> BackupInfo:
    """Load a backup into ``store``: migrate it to the backup's schema version, attach the saved
    parts, then apply the migrations written since. Tables must be empty unless ``replace``,
    which empties them first."""
    info = read_manifest(Path(source))
    if max(applied_versions(store), default=0) > info.schema_version:
        raise ValueError(
            f"the store is at a newer schema than the backup (version {info.schema_version}); "
            "restore into a new data directory"
        )
    migrate(store, ttl_days, audit_ttl_days, up_to=info.schema_version)
    tables = {table["name"]: table for table in _tables(store)}
    missing = sorted(set(info.rows) - set(tables))
    if missing:
        raise ValueError(f"the store has no table {', '.join(missing)} to restore into")
    occupied = sorted(name for name in info.rows if tables[name]["total_rows"])
    if occupied and not replace:
        raise ValueError(
            f"tables already hold rows: {', '.join(occupied)}; restore into an empty store, "
            "or pass --replace to discard them"
        )
    for name in occupied:
        store.command(f"TRUNCATE TABLE {name}")
    for name in info.rows:
        try:
            _attach_parts(store, name, Path(source) / "tables" / name, tables[name])
        except OSError as exc:
            raise ValueError(f"cannot copy the saved parts of {name}: {exc}") from None
    migrate(store, ttl_days, audit_ttl_days)
    return info


def read_manifest(source: Path) -> BackupInfo:
    """The manifest of a backup folder; a clear error when it is not one."""
    try:
        manifest = json.loads((source / _MANIFEST).read_text())
    except FileNotFoundError:
        raise ValueError(f"{source} is not a backup made by `agentledger db backup`") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"{source / _MANIFEST} is damaged: {exc}") from None
    if manifest.get("format") != _FORMAT:
        raise ValueError(f"{source}: unknown backup format {manifest.get('format')!r}")
    return BackupInfo(
        source,
        manifest["created_at"],
        manifest["database"],
        int(manifest["schema_version"]),
        {str(k): int(v) for k, v in manifest["rows"].items()},
    )


def _copy_frozen(engine_path: Path, name: str, table: dict[str, Any], destination: Path) -> int:
    """Copy the parts frozen under ``name`` into the backup; return their rows."""
    frozen = engine_path / "shadow" / name / _relative(table["data_paths"][0], engine_path)
    if table["total_rows"] and not frozen.is_dir():
        raise ValueError(f"freezing {table['name']} left no files in {frozen}")
    target = destination / "tables" / table["name"]
    target.mkdir(parents=True)
    rows = 0
    for part in sorted(frozen.iterdir()) if frozen.is_dir() else []:
        shutil.copytree(part, target / part.name)
        rows += int((part / "count.txt").read_text())
    return rows


def _attach_parts(store: Store, name: str, parts: Path, table: dict[str, Any]) -> None:
    detached = Path(table["data_paths"][0]) / "detached"
    detached.mkdir(exist_ok=True)
    for part in sorted(parts.iterdir()):
        shutil.copytree(part, detached / part.name)
        store.command(f"ALTER TABLE {name} ATTACH PART '{part.name}'")


def _engine_path(store: Store) -> Path:
    """The engine's data folder, which must be on this machine for its files to be copied."""
    rows = query_rows(store, "SELECT value FROM system.server_settings WHERE name = 'path'")
    path = Path(rows[0]["value"]) if rows else None
    if path is None or not path.is_dir():
        raise ValueError(
            "db backup and db restore copy the engine's files, so they work with the embedded "
            "store (or a `serve` on this machine); for a ClickHouse server use its BACKUP and "
            "RESTORE statements (see docs/deployment.md)"
        )
    return path


def _tables(store: Store) -> list[dict[str, Any]]:
    return query_rows(
        store,
        "SELECT name, data_paths, ifNull(total_rows, 0) AS total_rows FROM system.tables"
        " WHERE database = {db:String} AND engine LIKE '%MergeTree'"
        " AND name != 'schema_migrations' ORDER BY name",
        {"db": store.database},
    )


def _relative(data_path: str, engine_path: Path) -> Path:
    return Path(data_path).resolve().relative_to(engine_path.resolve())
