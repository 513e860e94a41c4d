"""TLS and mTLS on the OTLP/HTTP listener, with real TLS clients (Python's ssl)."""

from __future__ import annotations

import json
import ssl
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import clickhouse_connect
import pytest

from ..conftest import Server, free_port, serve_argv, start_server, stop, wait_http


def _tls_server(tmp: Path, pki: Path, mutual: bool) -> tuple[Server, subprocess.Popen[bytes], int]:
    """A plain server's settings, then the same process restarted with TLS on OTLP/HTTP."""
    plain, proc = start_server(tmp)
    stop(proc)
    port = free_port()
    env = dict(
        plain.env,
        AGENTLEDGER_TLS_CERT_FILE=str(pki / "server.pem"),
        AGENTLEDGER_TLS_KEY_FILE=str(pki / "server.key"),
    )
    if mutual:
        env["AGENTLEDGER_TLS_CLIENT_CA_FILE"] = str(pki / "ca.pem")
    tls = subprocess.Popen(serve_argv(plain.data_dir, port, free_port(), plain.sql_port), env=env)
    wait_http(f"http://127.0.0.1:{plain.sql_port}/ping", proc=tls)
    _wait_https(port, ssl.create_default_context(cafile=str(pki / "ca.pem")), tls)
    return plain, tls, port


@pytest.fixture
def context(pki: Path) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(pki / "ca.pem"))


def _export(port: int, key: str, context: ssl.SSLContext, service: str) -> int:
    """POST one OTLP/JSON span over HTTPS; the HTTP status, or 0 if the handshake failed."""
    now = time.time_ns()
    body = {
        "resourceSpans": [
            {
                "resource": {
                    "attributes": [{"key": "service.name", "value": {"stringValue": service}}]
                },
                "scopeSpans": [
                    {
                        "spans": [
                            {
                                "traceId": uuid.uuid4().hex,
                                "spanId": uuid.uuid4().hex[:16],
                                "name": "over tls",
                                "startTimeUnixNano": str(now),
                                "endTimeUnixNano": str(now + 10),
                            }
                        ]
                    }
                ],
            }
        ]
    }
    request = urllib.request.Request(
        f"https://127.0.0.1:{port}/v1/traces",
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {key}"},
    )
    try:
        with urllib.request.urlopen(request, context=context, timeout=5) as response:
            return int(response.status)
    except (urllib.error.URLError, ssl.SSLError, ConnectionError):
        return 0


def _wait_https(port: int, context: ssl.SSLContext, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            urllib.request.urlopen(f"https://127.0.0.1:{port}/healthz", context=context, timeout=2)
            return
        except (urllib.error.URLError, ConnectionError, ssl.SSLError) as exc:
            if not isinstance(getattr(exc, "reason", exc), ConnectionRefusedError):
                return  # listening: the handshake itself is what the test examines
        time.sleep(0.2)
    raise TimeoutError("the TLS listener did not start")


def _count(server: Server, service: str, expected: int) -> int:
    """Spans of ``service`` once ``expected`` are stored, or what is there after 10 s."""
    client = clickhouse_connect.get_client(
        host="127.0.0.1",
        port=server.sql_port,
        username="admin",
        password=server.admin_password,
        database="agentledger",
    )
    deadline = time.monotonic() + 10
    while True:
        found = int(
            client.command(
                "SELECT count() FROM otel_traces WHERE ServiceName = {s:String}",
                parameters={"s": service},
            )
        )
        if found >= expected or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


@pytest.fixture
def running(
    request: pytest.FixtureRequest, tmp_path: Path, pki: Path
) -> Iterator[tuple[Server, int]]:
    server, proc, port = _tls_server(tmp_path, pki, mutual=request.param)
    yield server, port
    stop(proc)


@pytest.mark.parametrize("running", [False], indirect=True)
def test_tls_serves_https_and_refuses_plain_http(
    running: tuple[Server, int], pki: Path, context: ssl.SSLContext
) -> None:
    server, port = running
    with urllib.request.urlopen(
        f"https://127.0.0.1:{port}/healthz", context=context, timeout=5
    ) as r:
        assert r.status == 200
    with pytest.raises((urllib.error.URLError, ConnectionError)):
        urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5)
    service = f"tls-{uuid.uuid4().hex[:6]}"
    assert _export(port, server.api_keys["acme"], context, service) == 200
    assert _count(server, service, 1) == 1


@pytest.mark.parametrize("running", [True], indirect=True)
def test_mtls_requires_a_client_certificate(
    running: tuple[Server, int], pki: Path, context: ssl.SSLContext
) -> None:
    server, port = running
    refused = f"mtls-refused-{uuid.uuid4().hex[:6]}"
    assert _export(port, server.api_keys["acme"], context, refused) == 0  # no client certificate
    context.load_cert_chain(str(pki / "client.pem"), str(pki / "client.key"))
    accepted = f"mtls-{uuid.uuid4().hex[:6]}"
    assert _export(port, server.api_keys["acme"], context, accepted) == 200
    assert _count(server, accepted, 1) == 1 and _count(server, refused, 0) == 0
