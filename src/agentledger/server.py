"""``agentledger serve``: receivers, the SQL endpoint and the job scheduler in one process.

The embedded store (chDB) can be opened by one process only, so this process owns it and serves
it to everyone else over the ClickHouse HTTP interface (its ``admin`` and ``reader`` passwords are
required). With ``AGENTLEDGER_CLICKHOUSE_URL`` set, it writes to that ClickHouse instead and
serves no SQL endpoint of its own, and any number of replicas may run: each seals decisions into
audit chains of its own (``AGENTLEDGER_INSTANCE_ID``, else an id kept in its spool directory).
``AGENTLEDGER_RUN_JOBS=false`` leaves the analytics jobs to another process.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import ssl
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import uvicorn
import uvloop
from starlette.applications import Starlette

from agentledger.analytics.jobs import Scheduler
from agentledger.analytics.prices import seed_default_prices
from agentledger.audit.chain import AuditChain, persistent_chain_id
from agentledger.collector.admission import Admission
from agentledger.collector.auth import KeyRing
from agentledger.collector.grpc_receiver import GrpcTls, build_grpc_server
from agentledger.collector.http_receiver import build_otlp_http_app
from agentledger.collector.pipeline import Ingestor
from agentledger.collector.rate_limit import RateLimiter
from agentledger.collector.redaction import RedactionConfig, Redactor
from agentledger.collector.self_metrics import SelfMetrics
from agentledger.collector.spool import Spool
from agentledger.collector.writer import Writer
from agentledger.config import ConfigError, Settings
from agentledger.storage.migrate import migrate_settings
from agentledger.storage.store import Store, StoreError

__all__ = [
    "Platform",
    "build_platform",
    "chain_id",
    "create_database",
    "open_store",
    "serve",
    "spool_dir",
]

log = logging.getLogger(__name__)


def open_store(settings: Settings) -> Store:
    """The store this process writes to: a ClickHouse URL if configured, else embedded chDB."""
    if settings.clickhouse_url:
        from agentledger.storage.http_store import HttpStore

        return HttpStore(settings.clickhouse_url, settings.database)
    from agentledger.storage.chdb_store import ChdbStore

    return ChdbStore(settings.data_dir, settings.database)


def create_database(settings: Settings) -> None:
    """A new ClickHouse server has no ``agentledger`` database, and clients cannot connect to a
    database that does not exist: create it through ``default`` first. Best effort: an endpoint
    that serves only its own database refuses ``default``, a user may lack the right, and any
    real connection problem is reported by the connection that follows."""
    if not settings.clickhouse_url:
        return  # the embedded store creates its database itself
    from agentledger.storage.http_store import HttpStore

    on_cluster = f" ON CLUSTER {settings.cluster}" if settings.cluster else ""
    try:
        bootstrap = HttpStore(settings.clickhouse_url, "default")
    except StoreError:
        return
    try:
        bootstrap.command(f"CREATE DATABASE IF NOT EXISTS {settings.database}{on_cluster}")
    except StoreError:
        pass
    finally:
        bootstrap.close()


@dataclass
class Platform:
    """Everything ``serve`` runs, built and migrated but not yet listening."""

    settings: Settings
    store: Store
    apps: dict[int, Starlette]
    scheduler: Scheduler | None  # None with AGENTLEDGER_RUN_JOBS=false
    writer: Writer
    spool: Spool
    keys: KeyRing
    # Builds the OTLP/gRPC server (grpc.aio.Server, port); called inside the serving event loop.
    grpc_server: Callable[[], tuple[Any, int]]
    # The sessions of the writer's threads after the first, which shares ``store``.
    writer_sessions: list[Store]

    def close(self) -> None:
        """Release what :func:`build_platform` opened (after the writer has stopped)."""
        self.keys.close()
        self.spool.close()
        for session in self.writer_sessions:
            session.close()
        self.store.close()


def spool_dir(settings: Settings) -> Path:
    """The collector's write-ahead spool, next to the data directory (also holds its id)."""
    return settings.data_dir.parent / f"{settings.data_dir.name}-spool"


def chain_id(settings: Settings) -> str:
    """The id of this collector's audit chains: ``AGENTLEDGER_INSTANCE_ID``; else, writing to a
    ClickHouse server (where replicas may run side by side), the id kept in the spool directory;
    else ``''``, the embedded store's single writer."""
    if settings.instance_id:
        return settings.instance_id
    if not settings.clickhouse_url:
        return ""
    try:
        return persistent_chain_id(spool_dir(settings))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read or create this collector's instance id: {exc}") from None


def build_platform(settings: Settings) -> Platform:
    if not settings.clickhouse_url and not (settings.admin_password and settings.reader_password):
        raise ConfigError(
            "AGENTLEDGER_ADMIN_PASSWORD and AGENTLEDGER_READER_PASSWORD must be set "
            "(the embedded SQL endpoint's admin and read-only users)"
        )
    redactor = Redactor(RedactionConfig.from_env(settings.redaction_env()))
    chain = chain_id(settings)
    create_database(settings)
    store = open_store(settings)
    migrate_settings(store, settings)
    seed_default_prices(store)
    metrics = SelfMetrics()
    spool = Spool(spool_dir(settings), settings.spool_max_bytes, settings.spool_segment_bytes)
    # The first writer thread shares the platform's session: at light load, dashboard queries
    # and inserts take turns as they always have; the others, with sessions of their own, store
    # beside it when the writer is behind.
    sessions = [open_store(settings) for _ in range(settings.writer_threads - 1)]
    writer = Writer(
        spool, [store, *sessions], settings.flush_interval_seconds, on_stored=metrics.written
    )
    _replay(writer)
    keys = KeyRing.from_settings(settings, store)
    admission = Admission(settings.max_inflight_bytes)  # one in-flight budget for HTTP and gRPC
    log.info("sealing decisions into audit chain id %r", chain)
    ingestor = Ingestor(
        spool, AuditChain(store, chain), redactor, RateLimiter.from_settings(settings), metrics
    )
    metrics.gauge(
        "agentledger_queue_bytes", "Request bytes being processed.", lambda: admission.inflight
    )
    metrics.gauge(
        "agentledger_spool_bytes", "Bytes accepted but not yet stored.", lambda: spool.bytes
    )
    metrics.gauge(
        "agentledger_store_healthy",
        "1 if the last store write succeeded.",
        lambda: float(writer.healthy),
    )
    metrics.labelled("agentledger_redacted_values_total", "rule", lambda: redactor.counts)
    otlp = build_otlp_http_app(
        ingestor,
        keys,
        admission,
        settings.max_body_bytes,
        metrics_text=metrics.render,
        on_refused=lambda status: metrics.add(
            "agentledger_refused_requests_total", status=str(status)
        ),
        ready=lambda: writer.healthy or not spool.full,
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
        apps[settings.sql_port] = build_sql_app(store, users, keys=keys)
    tls = (
        GrpcTls(settings.tls_cert_file, settings.tls_key_file, settings.tls_client_ca_file or None)
        if settings.tls_cert_file
        else None
    )
    grpc_server = partial(
        build_grpc_server,
        ingestor,
        keys,
        admission,
        settings.max_body_bytes,
        settings.host,
        settings.otlp_grpc_port,
        tls,
    )
    scheduler = Scheduler(store, settings.job_interval_seconds) if settings.run_jobs else None
    return Platform(settings, store, apps, scheduler, writer, spool, keys, grpc_server, sessions)


def _replay(writer: Writer) -> None:
    """Store what a previous run accepted but had not stored, before taking new data (the audit
    chain resumes from stored heads)."""
    try:
        stored = writer.drain()
    except StoreError as exc:
        log.warning("could not replay the spool yet (%s); the writer keeps trying", exc)
        return
    if stored:
        log.warning("replayed %d rows accepted before the last shutdown", stored)


def serve(settings: Settings) -> None:
    """Run until SIGINT/SIGTERM; then stop listening, store what is spooled, close the store."""
    platform = build_platform(settings)
    platform.writer.start()
    if platform.scheduler is not None:
        platform.scheduler.start()
    try:
        # uvloop's C event loop and transports: 0.5 µs less Python CPU a span than asyncio's in
        # benchmarks/ingest.py over HTTP (3.5 against 4.0), 6 % more spans/s end to end.
        uvloop.run(_serve_all(platform))
    finally:
        if platform.scheduler is not None:
            platform.scheduler.stop()
        platform.writer.stop()
        platform.close()


class _Server(uvicorn.Server):
    """A uvicorn server that leaves signal handling to :func:`_serve_all`, which stops all."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def _serve_all(platform: Platform) -> None:
    host = platform.settings.host
    servers = [
        _Server(
            uvicorn.Config(
                app,
                host=host,
                port=port,
                log_level="warning",
                access_log=False,
                **(_tls(platform.settings) if port == platform.settings.otlp_http_port else {}),
            )
        )
        for port, app in platform.apps.items()
    ]

    def stop_all() -> None:
        for server in servers:
            server.should_exit = True

    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop_all)
    grpc_server = platform.grpc_server()[0]
    await grpc_server.start()
    try:
        await asyncio.gather(*(server.serve() for server in servers))
    finally:
        await grpc_server.stop(5.0)


def _tls(settings: Settings) -> dict[str, Any]:
    """uvicorn options for TLS (and mTLS) on the OTLP/HTTP listener."""
    if not settings.tls_cert_file:
        return {}
    options: dict[str, Any] = {
        "ssl_certfile": settings.tls_cert_file,
        "ssl_keyfile": settings.tls_key_file,
    }
    if settings.tls_client_ca_file:
        options |= {"ssl_ca_certs": settings.tls_client_ca_file, "ssl_cert_reqs": ssl.CERT_REQUIRED}
    return options
