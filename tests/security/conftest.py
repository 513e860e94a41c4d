"""A real ``agentledger serve`` with unique secrets whose output is captured, tenants with data,
and managed read keys: what every security test attacks."""

from __future__ import annotations

import json
import secrets
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from agentledger.collector.keys import create_key
from agentledger.storage.http_store import HttpStore

from ..conftest import Server, start_server, stop

TENANTS = ("acme", "globex")


@dataclass
class LoggedServer:
    """A server, its process, the file holding everything it printed, and every secret it knows."""

    server: Server
    proc: subprocess.Popen[bytes]
    log: Path
    secrets: set[str] = field(default_factory=set)
    read_keys: dict[str, tuple[str, str]] = field(default_factory=dict)  # tenant -> (id, secret)

    @property
    def admin_url(self) -> str:
        return f"http://admin:{self.server.admin_password}@127.0.0.1:{self.server.sql_port}"

    def admin_store(self) -> HttpStore:
        return HttpStore(self.admin_url)

    def new_key(self, tenant: str, scope: str) -> tuple[str, str]:
        store = self.admin_store()
        try:
            key_id, secret = create_key(store, tenant, scope, name="security-test")
        finally:
            store.close()
        self.secrets.add(secret)
        return key_id, secret

    def sql_status(self, sql: str, headers: dict[str, str]) -> int:
        query = urllib.parse.urlencode({"query": sql})
        url = f"http://127.0.0.1:{self.server.sql_port}/?{query}"
        try:
            with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=30):
                return 200
        except urllib.error.HTTPError as exc:
            return exc.code

    def wait_key_reads(self, secret: str, timeout: float = 10.0) -> None:
        """New keys work once the endpoint has refreshed its keys (every few seconds)."""
        deadline = time.monotonic() + timeout
        while self.sql_status("SELECT 1", {"X-ClickHouse-Key": secret}) != 200:
            assert time.monotonic() < deadline, "a new read key did not work within the timeout"
            time.sleep(0.1)


def start_logged(tmp: Path, extra_env: dict[str, str] | None = None) -> LoggedServer:
    """``agentledger serve`` with fresh random passwords and keys, stdout and stderr to a file."""
    admin_pw, reader_pw = secrets.token_urlsafe(18), secrets.token_urlsafe(18)
    keys = {tenant: f"static-{tenant}-{secrets.token_urlsafe(18)}" for tenant in TENANTS}
    tmp.mkdir(parents=True, exist_ok=True)
    log = tmp / "serve.log"
    server, proc = start_server(
        tmp,
        {"AGENTLEDGER_KEY_REFRESH_SECONDS": "0.5", **(extra_env or {})},
        passwords=(admin_pw, reader_pw),
        keys=keys,
        log=log,
    )
    return LoggedServer(server, proc, log, {admin_pw, reader_pw, *keys.values()})


def post_json(server: Server, path: str, key: str, document: object) -> int:
    request = urllib.request.Request(
        f"{server.otlp_url}{path}",
        data=json.dumps(document).encode(),
        method="POST",
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {key}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            status: int = response.status
            return status
    except urllib.error.HTTPError as exc:
        return exc.code


def spans_document(service: str, attributes: dict[str, str], count: int = 1) -> dict[str, object]:
    now = time.time_ns()
    spans = [
        {
            "traceId": uuid.uuid4().hex,
            "spanId": uuid.uuid4().hex[:16],
            "name": f"{service}-span",
            "startTimeUnixNano": str(now - 1000),
            "endTimeUnixNano": str(now),
            "attributes": [{"key": k, "value": {"stringValue": v}} for k, v in attributes.items()],
        }
        for _ in range(count)
    ]
    return {
        "resourceSpans": [
            {
                "resource": {
                    "attributes": [{"key": "service.name", "value": {"stringValue": service}}]
                },
                "scopeSpans": [{"spans": spans}],
            }
        ]
    }


def log_document(
    service: str, body: str, attributes: dict[str, object], event: str = ""
) -> dict[str, object]:
    def value(item: object) -> dict[str, object]:
        if isinstance(item, list):
            return {"arrayValue": {"values": [{"stringValue": str(v)} for v in item]}}
        if isinstance(item, float):
            return {"doubleValue": item}
        return {"stringValue": str(item)}

    attrs = [{"key": k, "value": value(v)} for k, v in attributes.items()]
    if event:
        attrs.append({"key": "event.name", "value": {"stringValue": event}})
    return {
        "resourceLogs": [
            {
                "resource": {
                    "attributes": [{"key": "service.name", "value": {"stringValue": service}}]
                },
                "scopeLogs": [
                    {
                        "logRecords": [
                            {
                                "timeUnixNano": str(time.time_ns()),
                                "body": {"stringValue": body},
                                "attributes": attrs,
                                "traceId": uuid.uuid4().hex,
                                "spanId": uuid.uuid4().hex[:16],
                            }
                        ]
                    }
                ],
            }
        ]
    }


@pytest.fixture(scope="session")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LoggedServer]:
    """A logged server holding spans and logs of two tenants, each with a managed read key."""
    logged = start_logged(tmp_path_factory.mktemp("secured"))
    try:
        for tenant in TENANTS:
            key = logged.server.api_keys[tenant]
            marker = f"marker-{tenant}"
            document = spans_document(f"svc-{tenant}", {"marker": marker}, count=3)
            assert post_json(logged.server, "/v1/traces", key, document) == 200
            assert (
                post_json(
                    logged.server,
                    "/v1/logs",
                    key,
                    log_document(f"svc-{tenant}", marker, {"marker": marker}),
                )
                == 200
            )
            logged.read_keys[tenant] = logged.new_key(tenant, "read")
            logged.wait_key_reads(logged.read_keys[tenant][1])
        logged.server.settle()
        yield logged
    finally:
        stop(logged.proc)
