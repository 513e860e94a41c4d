"""Backup and restore of the embedded store, through the SQL endpoint of a running server."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from agentledger.analytics.prices import seed_default_prices
from agentledger.audit import verify_chain
from agentledger.audit.chain import AuditChain
from agentledger.storage.backup import backup, read_manifest, restore
from agentledger.storage.chdb_store import ChdbStore
from agentledger.storage.http_store import HttpStore
from agentledger.storage.migrate import available_migrations, migrate, migration_status
from agentledger.storage.sql_endpoint import SqlUser, build_sql_app
from agentledger.storage.store import Store, query_rows

from ..conftest import StoredIngestor, serve_in_thread
from .deployment_data import decisions, fingerprints, traces_request


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChdbStore]:
    chdb = ChdbStore(tmp_path_factory.mktemp("engine"))
    migrate(chdb)
    seed_default_prices(chdb)
    yield chdb
    chdb.close()


@pytest.fixture(scope="module")
def remote(engine: ChdbStore) -> Iterator[Store]:
    """What `agentledger db backup` uses while serve runs: the server's SQL endpoint."""
    users = {"admin": SqlUser("admin-pw", readonly=False)}
    for port in serve_in_thread(build_sql_app(engine, users)):
        store = HttpStore(f"http://admin:admin-pw@127.0.0.1:{port}")
        yield store
        store.close()


def _lose_everything(engine: ChdbStore) -> None:
    tables = query_rows(
        engine,
        "SELECT name FROM system.tables WHERE database = 'agentledger'"
        " ORDER BY engine = 'MaterializedView' DESC",
    )
    for row in tables:
        engine.command(f"DROP TABLE agentledger.{row['name']} SYNC")


def test_round_trip_keeps_every_row_and_the_hash_chain(
    remote: Store, engine: ChdbStore, tmp_path: Path
) -> None:
    StoredIngestor(remote).traces(traces_request(20), "acme")
    AuditChain(remote).append(decisions("acme", 30))
    AuditChain(remote).append(decisions("globex", 7))
    before = fingerprints(engine)
    assert before["otel_traces"][0] == 20 and before["decisions"][0] == 37
    assert before["model_observations"][0] > 0  # filled by a materialized view

    info = backup(remote, tmp_path / "backup")
    assert (
        info.rows["decisions"] == 37 and info.schema_version == available_migrations()[-1].version
    )
    _lose_everything(engine)
    restored = restore(remote, tmp_path / "backup")

    assert fingerprints(engine) == before  # attaching parts fired no view: nothing doubled
    assert restored.rows == info.rows
    for tenant, count in (("acme", 30), ("globex", 7)):
        chain = verify_chain(remote, tenant)
        assert chain.ok and chain.checked == count
    assert {state.status for state in migration_status(remote)} == {"applied"}
    AuditChain(remote).append(decisions("acme", 1, start=30))  # the chain goes on from its head
    assert verify_chain(remote, "acme").ok


def test_backup_while_writes_continue_is_consistent(
    remote: Store, engine: ChdbStore, tmp_path: Path
) -> None:
    stop = threading.Event()

    def write() -> None:
        chain = AuditChain(engine)
        batch = 0
        while not stop.is_set():
            chain.append(decisions("busy", 5, start=batch * 5))
            batch += 1

    writer = threading.Thread(target=write)
    writer.start()
    try:
        info = backup(remote, tmp_path / "live")
    finally:
        stop.set()
        writer.join()
    _lose_everything(engine)
    restore(remote, tmp_path / "live")
    (row,) = query_rows(engine, "SELECT count() AS n FROM decisions WHERE TenantId = 'busy'")
    chain = verify_chain(remote, "busy")
    assert chain.ok and chain.checked == row["n"]
    assert read_manifest(tmp_path / "live").rows["decisions"] == info.rows["decisions"]


def test_bad_folders_and_occupied_stores_are_refused(remote: Store, tmp_path: Path) -> None:
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    with pytest.raises(ValueError, match="not empty"):
        backup(remote, tmp_path / "full")
    with pytest.raises(ValueError, match="not a backup"):
        restore(remote, tmp_path / "full")
    backup(remote, tmp_path / "again")
    with pytest.raises(ValueError, match="--replace"):
        restore(remote, tmp_path / "again")
    before = fingerprints(remote)
    restore(remote, tmp_path / "again", replace=True)
    assert fingerprints(remote) == before
