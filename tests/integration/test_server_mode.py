"""Server mode: AGENTLEDGER_CLICKHOUSE_URL switches every part to a ClickHouse server.

The stand-in server is our ClickHouse-compatible SQL endpoint over a real socket, in front of an
engine that starts empty: migrations, the collector's writes, jobs, the audit chain, the CLI and
the dashboards' data source all go through clickhouse-connect, as they would to ClickHouse.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from agentledger.analytics.jobs import run_job
from agentledger.analytics.prices import seed_default_prices
from agentledger.audit import verify_chain
from agentledger.audit.chain import AuditChain
from agentledger.config import Settings
from agentledger.dashboards.data import source
from agentledger.server import open_store
from agentledger.storage.chdb_store import ChdbStore
from agentledger.storage.http_store import HttpStore
from agentledger.storage.migrate import migrate_settings, migration_status
from agentledger.storage.sql_endpoint import SqlUser, build_sql_app
from agentledger.storage.store import Store, query_rows

from ..conftest import StoredIngestor, serve_in_thread
from .deployment_data import decisions, traces_request

USERS = {"admin": SqlUser("admin-pw", readonly=False), "reader": SqlUser("reader-pw", True)}


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChdbStore]:
    """The server's own engine, deliberately not migrated: the client does that."""
    chdb = ChdbStore(tmp_path_factory.mktemp("server"))
    yield chdb
    chdb.close()


@pytest.fixture(scope="module")
def url(engine: ChdbStore) -> Iterator[str]:
    for port in serve_in_thread(build_sql_app(engine, USERS)):
        yield f"http://admin:admin-pw@127.0.0.1:{port}"


@pytest.fixture(scope="module")
def settings(url: str) -> Settings:
    return Settings.from_env({"AGENTLEDGER_CLICKHOUSE_URL": url, "AGENTLEDGER_TTL_DAYS": "20"})


@pytest.fixture(scope="module")
def remote(settings: Settings) -> Iterator[Store]:
    store = open_store(settings)
    migrate_settings(store, settings)
    seed_default_prices(store)
    yield store
    store.close()


def test_the_url_switches_storage_and_migrations_run_through_it(
    remote: Store, engine: ChdbStore
) -> None:
    assert isinstance(remote, HttpStore)
    assert {state.status for state in migration_status(remote)} == {"applied"}
    (row,) = query_rows(
        engine,
        "SELECT create_table_query AS q FROM system.tables"
        " WHERE database = 'agentledger' AND name = 'otel_traces'",
    )
    assert "toIntervalDay(20)" in row["q"]  # the client's settings reached the server's DDL


def test_collector_jobs_and_audit_work_against_the_server(remote: Store, engine: ChdbStore) -> None:
    ingestor = StoredIngestor(remote)
    ingestor.traces(traces_request(5), "acme")
    AuditChain(remote).append(decisions("acme", 4))
    (spans,) = query_rows(
        engine, "SELECT count() AS n, sum(InputTokens) AS tokens FROM otel_traces"
    )
    assert (spans["n"], spans["tokens"]) == (5, 100 + 101 + 102 + 103 + 104)
    result = run_job(remote, "cost")
    assert result.rows > 0
    (rollup,) = query_rows(engine, "SELECT sum(InputTokens) AS t FROM cost_rollups FINAL")
    assert rollup["t"] == 510
    chain = verify_chain(remote, "acme")
    assert chain.ok and chain.checked == 4


def _cli(url: str, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTLEDGER_")}
    env["AGENTLEDGER_CLICKHOUSE_URL"] = url
    return subprocess.run(
        [sys.executable, "-m", "agentledger.cli", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_cli_uses_the_server(remote: Store, url: str, tmp_path: Path) -> None:
    status = _cli(url, tmp_path, "db", "status", "--format", "json")
    assert status.returncode == 0, status.stderr
    assert {row["status"] for row in json.loads(status.stdout)} == {"applied"}
    again = _cli(url, tmp_path, "db", "migrate")
    assert again.returncode == 0 and "nothing (up to date)" in again.stdout
    shown = _cli(url, tmp_path, "config", "show", "--format", "json")
    values = {row["option"]: row["value"] for row in json.loads(shown.stdout)}
    assert values["clickhouse_url"] == url.replace("admin-pw", "***")
    assert "admin-pw" not in shown.stdout


def test_dashboards_read_the_configured_server(settings: Settings, url: str) -> None:
    src = source(settings)
    assert (src.url, src.database) == (url, "agentledger")


def test_cli_changes_retention_and_backs_up_through_the_server(
    remote: Store, url: str, tmp_path: Path
) -> None:
    changed = _cli(url, tmp_path, "db", "retention", "--table", "otel_logs", "--days", "9")
    assert changed.returncode == 0, changed.stderr
    assert re.search(r"^otel_logs\s+9\s*$", changed.stdout, re.M)
    refused = _cli(url, tmp_path, "db", "retention", "--table", "job_runs", "--days", "9")
    assert refused.returncode == 1 and "job_runs' has no retention" in refused.stderr

    saved = _cli(url, tmp_path, "db", "backup", str(tmp_path / "backup"))
    assert saved.returncode == 0, saved.stderr
    assert "backed up" in saved.stdout and (tmp_path / "backup" / "manifest.json").is_file()
    occupied = _cli(url, tmp_path, "db", "restore", str(tmp_path / "backup"))
    assert occupied.returncode == 1 and "--replace" in occupied.stderr
