"""``agentledger serve``: receivers, the SQL endpoint and the job scheduler in one process.

The embedded store (chDB) can be opened by one process only, so this process owns it and serves
it to everyone else over the ClickHouse HTTP interface. With ``AGENTLEDGER_CLICKHOUSE_URL`` set,
it writes to that ClickHouse instead and serves no SQL endpoint of its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from typing import Any

import uvicorn
from starlette.applications import Starlette

from agentledger.analytics.jobs import Scheduler
from agentledger.analytics.prices import seed_default_prices
from agentledger.collector.admission import Admission
from agentledger.collector.auth import KeyRing
from agentledger.collector.grpc_receiver import build_grpc_server
from agentledger.collector.http_receiver import build_otlp_http_app
from agentledger.collector.pipeline import Ingestor
from agentledger.config import ConfigError, Settings
from agentledger.storage.migrate import migrate
from agentledger.storage.store import Store, StoreError

__all__ = ["Platform", "open_store", "serve"]

log = logging.getLogger(__name__)


def open_store(settings: Settings) -> Store:
    """The store this process writes to: a ClickHouse URL if configured, else embedded chDB."""
    if settings.clickhouse_url:
        from agentledger.storage.http_store import HttpStore

        return HttpStore(settings.clickhouse_url, settings.database)
    from agentledger.storage.chdb_store import ChdbStore

    return ChdbStore(settings.data_dir, settings.database)


@dataclass
class Platform:
    """Everything ``serve`` runs, built and migrated but not yet listening."""

    settings: Settings
    store: Store
    apps: dict[int, Starlette]
    scheduler: Scheduler
    # Builds the OTLP/gRPC server (grpc.aio.Server, port); called inside the serving event loop.
    grpc_server: Callable[[], tuple[Any, int]] | None = None


def build_platform(settings: Settings) -> Platform:
    if not settings.admin_password or not settings.reader_password:
        raise ConfigError(
            "AGENTLEDGER_ADMIN_PASSWORD and AGENTLEDGER_READER_PASSWORD must be set "
            "(the SQL endpoint has no anonymous access)"
        )
    store = open_store(settings)
    migrate(store, settings.ttl_days, settings.audit_ttl_days)
    seed_default_prices(store)
    ingestor = Ingestor(store)
    keys = KeyRing.from_settings(settings, store)
    admission = Admission(settings.max_inflight_bytes)  # one in-flight budget for HTTP and gRPC
    otlp = build_otlp_http_app(
        ingestor,
        keys,
        admission,
        settings.max_body_bytes,
        ready=lambda: _reachable(store),
    )
    apps = {settings.otlp_http_port: otlp}
    if not settings.clickhouse_url:
        from agentledger.storage.chdb_store import ChdbStore
        from agentledger.storage.sql_endpoint import SqlUser, build_sql_app

        assert isinstance(store, ChdbStore)
        users = {
            "admin": SqlUser(settings.admin_password, readonly=False),
            "reader": SqlUser(settings.reader_password, readonly=True),
        }
        if settings.anonymous_sql_read:
            users["default"] = SqlUser("", readonly=True)
        apps[settings.sql_port] = build_sql_app(store, users)
    grpc_server = partial(
        build_grpc_server,
        ingestor,
        keys,
        admission,
        settings.max_body_bytes,
        settings.host,
        settings.otlp_grpc_port,
    )
    return Platform(
        settings, store, apps, Scheduler(store, settings.job_interval_seconds), grpc_server
    )


def serve(settings: Settings) -> None:
    """Run until SIGINT/SIGTERM, then stop listening, stop jobs and close the store."""
    platform = build_platform(settings)
    platform.scheduler.start()
    try:
        asyncio.run(_serve_all(platform))
    finally:
        platform.scheduler.stop()
        platform.store.close()


class _Server(uvicorn.Server):
    """A uvicorn server that leaves signal handling to :func:`_serve_all`, which stops all."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def _serve_all(platform: Platform) -> None:
    host = platform.settings.host
    servers = [
        _Server(uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False))
        for port, app in platform.apps.items()
    ]

    def stop_all() -> None:
        for server in servers:
            server.should_exit = True

    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop_all)
    grpc_server = platform.grpc_server()[0] if platform.grpc_server else None
    if grpc_server is not None:
        await grpc_server.start()
    try:
        await asyncio.gather(*(server.serve() for server in servers))
    finally:
        if grpc_server is not None:
            await grpc_server.stop(5.0)


def _reachable(store: Store) -> bool:
    try:
        store.query_arrow("SELECT 1")
    except StoreError:
        return False
    return True
