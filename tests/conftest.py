"""Shared fixtures: free ports, a real ``agentledger serve`` process, real clients."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from agentledger.storage.chdb_store import ChdbStore
    from agentledger.storage.store import Store

ARTIFACTS = Path(__file__).parent / "artifacts"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_http(url: str, timeout: float = 60.0, proc: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before {url} answered")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError(f"{url} did not answer within {timeout}s")


def serve_in_thread(app: Any) -> Iterator[int]:
    """Serve an ASGI app with uvicorn on a free port in this process; yield the port."""
    import uvicorn

    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=free_port(), log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "server did not start"
        time.sleep(0.02)
    yield server.config.port
    server.should_exit = True
    thread.join(timeout=30)


@dataclass
class Server:
    """A running ``agentledger serve`` with its ports and credentials."""

    otlp_url: str
    sql_port: int
    admin_password: str
    reader_password: str
    api_keys: dict[str, str]  # tenant -> key
    env: dict[str, str]
    data_dir: Path
    grpc_port: int = 0  # OTLP/gRPC

    def settle(self, timeout: float = 30.0) -> None:
        """Wait until everything the collector acknowledged is stored (its spool is empty)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with urllib.request.urlopen(f"{self.otlp_url}/metrics", timeout=5) as response:
                text = response.read().decode()
            if "\nagentledger_spool_bytes 0\n" in text:
                return
            time.sleep(0.05)
        raise TimeoutError(f"the collector's spool did not drain within {timeout}s")

    def client(self, user: str = "admin"):  # type: ignore[no-untyped-def]
        """A clickhouse-connect client, once what was acknowledged so far is stored."""
        import clickhouse_connect

        self.settle()

        password = self.admin_password if user == "admin" else self.reader_password
        return clickhouse_connect.get_client(
            host="127.0.0.1",
            port=self.sql_port,
            username=user,
            password=password,
            database="agentledger",
        )

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        self.settle()
        env = dict(self.env)
        env["AGENTLEDGER_CLICKHOUSE_URL"] = (
            f"http://admin:{self.admin_password}@127.0.0.1:{self.sql_port}"
        )
        return subprocess.run(
            [sys.executable, "-m", "agentledger.cli", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )


def serve_argv(
    data_dir: Path, otlp_port: int, grpc_port: int, sql_port: int | None = None
) -> list[str]:
    """The ``agentledger serve`` command line on the given ports."""
    argv = [
        sys.executable,
        "-m",
        "agentledger.cli",
        "serve",
        "--data-dir",
        str(data_dir),
        "--otlp-http-port",
        str(otlp_port),
        "--otlp-grpc-port",
        str(grpc_port),
    ]
    return argv + (["--sql-port", str(sql_port)] if sql_port is not None else [])


def start_server(
    tmp: Path,
    extra_env: dict[str, str] | None = None,
    passwords: tuple[str, str] = ("admin-pw", "reader-pw"),
    keys: dict[str, str] | None = None,
    log: Path | None = None,
) -> tuple[Server, subprocess.Popen[bytes]]:
    """``agentledger serve`` on free ports with the admin and reader ``passwords`` and static
    ``keys`` (tenant: key), its output to ``log`` when given; returns once it is ready."""
    otlp_port, sql_port, grpc_port = free_port(), free_port(), free_port()
    keys = keys or {"acme": "key-acme-123", "globex": "key-globex-456"}
    admin_pw, reader_pw = passwords
    env = dict(os.environ)
    env.update(
        {
            "AGENTLEDGER_ADMIN_PASSWORD": admin_pw,
            "AGENTLEDGER_READER_PASSWORD": reader_pw,
            "AGENTLEDGER_API_KEYS": ",".join(f"{t}:{k}" for t, k in keys.items()),
            "AGENTLEDGER_JOB_INTERVAL_SECONDS": "3600",
        }
    )
    env.pop("AGENTLEDGER_CLICKHOUSE_URL", None)
    env.update(extra_env or {})
    data_dir = tmp / "data"
    argv = serve_argv(data_dir, otlp_port, grpc_port, sql_port)
    if log is None:
        proc = subprocess.Popen(argv, env=env)
    else:
        with log.open("wb") as out:
            proc = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT)
    server = Server(
        f"http://127.0.0.1:{otlp_port}",
        sql_port,
        admin_pw,
        reader_pw,
        keys,
        env,
        data_dir,
        grpc_port,
    )
    try:
        wait_http(f"{server.otlp_url}/readyz", proc=proc)
        wait_http(f"http://127.0.0.1:{sql_port}/ping", proc=proc)
    except Exception:
        proc.kill()
        raise
    return server, proc


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running, proc = start_server(tmp_path_factory.mktemp("serve"))
    yield running
    stop(proc)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChdbStore]:
    """A migrated embedded store. chDB allows one data directory per process at a time, so
    every module's store is closed before the next opens."""
    from agentledger.analytics.prices import seed_default_prices
    from agentledger.storage.chdb_store import ChdbStore
    from agentledger.storage.migrate import migrate

    opened = ChdbStore(tmp_path_factory.mktemp("chdb"))
    migrate(opened)
    seed_default_prices(opened)
    yield opened
    opened.close()


class StoredIngestor:
    """The real collector pipeline (redaction, audit chain, spool) whose calls return only once
    the writer has stored their rows, so a test can query right after ingesting."""

    def __init__(self, target: Store) -> None:
        from agentledger.audit.chain import AuditChain
        from agentledger.collector.pipeline import Ingestor
        from agentledger.collector.rate_limit import RateLimiter
        from agentledger.collector.redaction import Redactor
        from agentledger.collector.self_metrics import SelfMetrics
        from agentledger.collector.spool import Spool
        from agentledger.collector.writer import Writer

        self.spool = Spool(Path(tempfile.mkdtemp(prefix="spool-")), max_bytes=1 << 30)
        self.writer = Writer(self.spool, [target], interval=60)
        self.self_metrics = SelfMetrics()
        self.ingestor = Ingestor(
            self.spool, AuditChain(target), Redactor(), RateLimiter({}), self.self_metrics
        )

    def _stored(self, method: Any, request: Any, tenant: str) -> Any:
        rejects = method(request, tenant)
        self.spool.rotate()
        self.writer.drain()
        return rejects

    def traces(self, request: Any, tenant: str) -> Any:
        return self._stored(self.ingestor.traces, request, tenant)

    def logs(self, request: Any, tenant: str) -> Any:
        return self._stored(self.ingestor.logs, request, tenant)

    def metrics(self, request: Any, tenant: str) -> Any:
        return self._stored(self.ingestor.metrics, request, tenant)


def _openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A throwaway CA, a server certificate for 127.0.0.1/localhost and a client certificate."""
    # The venv has no ``cryptography``; the openssl command line makes the same certificates.
    if shutil.which("openssl") is None:
        pytest.skip("TLS tests need the openssl command to make test certificates")
    folder = tmp_path_factory.mktemp("pki")
    key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    ca = [str(folder / "ca.pem"), str(folder / "ca.key")]
    _openssl("req", "-x509", *key, "-keyout", ca[1], "-out", ca[0], "-days", "2", "-subj", "/CN=ca")
    (folder / "server.ext").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    (folder / "client.ext").write_text("extendedKeyUsage=clientAuth\n")
    for name in ("server", "client"):
        stem = str(folder / name)
        _openssl(
            "req", *key, "-keyout", f"{stem}.key", "-out", f"{stem}.csr", "-subj", f"/CN={name}"
        )
        _openssl(
            "x509", "-req", "-in", f"{stem}.csr", "-CA", ca[0], "-CAkey", ca[1],
            "-CAcreateserial", "-out", f"{stem}.pem", "-days", "2", "-extfile", f"{stem}.ext",
        )  # fmt: skip
    return folder


def kv(key: str, value: Any) -> Any:
    """An OTLP ``KeyValue`` for a plain Python value (bool, int, float, list of str, str)."""
    from opentelemetry.proto.common.v1.common_pb2 import AnyValue, ArrayValue, KeyValue

    if isinstance(value, bool):
        return KeyValue(key=key, value=AnyValue(bool_value=value))
    if isinstance(value, int):
        return KeyValue(key=key, value=AnyValue(int_value=value))
    if isinstance(value, float):
        return KeyValue(key=key, value=AnyValue(double_value=value))
    if isinstance(value, list):
        items = [AnyValue(string_value=str(item)) for item in value]
        return KeyValue(key=key, value=AnyValue(array_value=ArrayValue(values=items)))
    return KeyValue(key=key, value=AnyValue(string_value=str(value)))
