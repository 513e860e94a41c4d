"""Managed API keys: stored hashed in real chDB, seen by the KeyRing within seconds, and used by a
real ``agentledger serve`` through the real CLI."""

from __future__ import annotations

import hashlib
import json
import logging
import re
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from agentledger.collector.auth import KeyRing
from agentledger.collector.keys import (
    UnknownKey,
    active_keys,
    create_key,
    hash_secret,
    key_id_of,
    list_keys,
    revoke_key,
)
from agentledger.storage.chdb_store import ChdbStore
from agentledger.storage.store import Params, StoreError, query_rows

from ..conftest import Server, start_server, stop

REFRESH = 0.2
_SECRET = r"al_([0-9a-f]{12})_([A-Za-z0-9_-]{32})"
SECRET = re.compile(f"^{_SECRET}$")
# A secret within CLI output: look-arounds, not ``\b``, which misses the one secret in 64 that
# ends in '-'.
SECRET_IN_TEXT = re.compile(f"(?<![A-Za-z0-9_-]){_SECRET}(?![A-Za-z0-9_-])")


def _eventually(check: Callable[[], bool], timeout: float) -> float:
    """Seconds until ``check()`` held; fails after ``timeout``."""
    start = time.monotonic()
    while not check():
        assert time.monotonic() - start < timeout, f"not true within {timeout}s"
        time.sleep(0.02)
    return time.monotonic() - start


def _bearer(secret: str) -> str:
    return f"Bearer {secret}"


def test_create_list_revoke_never_store_or_show_secrets(store: ChdbStore) -> None:
    tenant = f"t-{uuid.uuid4().hex[:8]}"
    key_id, secret = create_key(store, tenant, "ingest", "ci pipeline")
    match = SECRET.match(secret)
    assert match and match.group(1) == key_id and key_id_of(secret) == key_id
    other_id, other_secret = create_key(store, tenant, "read")
    assert other_id != key_id and other_secret != secret

    raw = query_rows(store, "SELECT * FROM api_keys WHERE TenantId = {t:String}", {"t": tenant})
    assert {row["KeyHash"] for row in raw} == {
        hashlib.sha256(secret.encode()).hexdigest(),
        hashlib.sha256(other_secret.encode()).hexdigest(),
    }
    listed = [row for row in list_keys(store) if row["tenant"] == tenant]
    for rows in (raw, listed):
        text = json.dumps(rows, default=str)
        assert secret not in text and other_secret not in text
        assert match.group(2) not in text  # the random part (it may itself hold "_")
    assert hash_secret(secret) not in json.dumps(listed, default=str)
    mine = {row["key_id"]: row for row in listed}
    assert set(mine) == {key_id, other_id}
    assert mine[key_id]["scope"] == "ingest" and mine[key_id]["name"] == "ci pipeline"
    assert mine[key_id]["created_at"] is not None and mine[key_id]["revoked_at"] is None

    assert revoke_key(store, key_id) is True
    assert revoke_key(store, key_id) is False
    after = {row["key_id"]: row for row in list_keys(store) if row["tenant"] == tenant}
    assert after[key_id]["revoked_at"] is not None and after[other_id]["revoked_at"] is None
    assert after[key_id]["created_at"] == mine[key_id]["created_at"]
    assert after[key_id]["name"] == "ci pipeline"
    assert hash_secret(secret) not in active_keys(store)
    assert hash_secret(other_secret) in active_keys(store)

    with pytest.raises(UnknownKey, match="no API key with id 'nope'"):
        revoke_key(store, "nope")
    with pytest.raises(ValueError, match="scope"):
        create_key(store, tenant, "superuser")
    with pytest.raises(ValueError, match="tenant"):
        create_key(store, " ", "ingest")


def test_keyring_resolves_managed_keys_and_sees_revocation_within_refresh(
    store: ChdbStore,
) -> None:
    tenant = f"t-{uuid.uuid4().hex[:8]}"
    _, ingest = create_key(store, tenant, "ingest")
    _, reader = create_key(store, tenant, "read")
    _, admin = create_key(store, tenant, "admin")
    with KeyRing({"static-key-1": "static-tenant"}, store, REFRESH) as ring:
        assert ring.tenant_for(_bearer(ingest)) == tenant
        assert ring.tenant_for(f"bearer  {ingest} ") == tenant
        assert ring.tenant_for(_bearer(admin)) == tenant
        assert ring.tenant_for(_bearer(reader)) is None  # read keys may not ingest
        assert ring.tenant_for(_bearer(reader), scope="read") == tenant
        assert ring.tenant_for(_bearer(admin), scope="read") == tenant
        assert ring.tenant_for(_bearer(admin), scope="admin") == tenant
        assert ring.tenant_for(_bearer(ingest), scope="read") is None
        assert ring.tenant_for(_bearer(ingest), scope="admin") is None
        # static keys: ingest only
        assert ring.tenant_for("Bearer static-key-1") == "static-tenant"
        assert ring.tenant_for("Bearer static-key-1", scope="read") is None
        for bad in (None, "", "Bearer", "Bearer  ", f"Basic {ingest}", ingest, f"Bearer {ingest}x"):
            assert ring.tenant_for(bad) is None
        with pytest.raises(ValueError, match="unknown scope"):
            ring.tenant_for(_bearer(ingest), scope="write")

        key_id, late = create_key(store, tenant, "ingest")
        _eventually(lambda: ring.tenant_for(_bearer(late)) == tenant, REFRESH + 2)

        revoke_key(store, key_id)
        took = _eventually(lambda: ring.tenant_for(_bearer(late)) is None, REFRESH + 2)
        assert took <= REFRESH + 0.5, f"revocation took {took:.2f}s with {REFRESH}s refresh"
        assert ring.tenant_for(_bearer(ingest)) == tenant
        assert ring.tenant_for("Bearer static-key-1") == "static-tenant"


class FlakyStore:
    """The real store, except that reads fail while ``down`` is set."""

    def __init__(self, inner: ChdbStore) -> None:
        self.inner, self.database, self.down = inner, inner.database, False

    def command(self, sql: str, params: Params | None = None) -> None:
        self.inner.command(sql, params)

    def query_arrow(self, sql: str, params: Params | None = None) -> pa.Table:
        if self.down:
            raise StoreError("connection refused")
        return self.inner.query_arrow(sql, params)

    def insert_arrow(self, table: str, data: pa.Table) -> None:
        self.inner.insert_arrow(table, data)

    def close(self) -> None:
        pass


def test_refresh_failure_keeps_last_snapshot_and_warns(
    store: ChdbStore, caplog: pytest.LogCaptureFixture
) -> None:
    tenant = f"t-{uuid.uuid4().hex[:8]}"
    _, secret = create_key(store, tenant, "ingest")
    flaky = FlakyStore(store)
    with caplog.at_level(logging.WARNING, "agentledger.collector.auth"):
        ring = KeyRing({}, flaky, refresh_seconds=60)  # refreshed by hand below
        try:
            flaky.down = True
            assert ring.refresh() is False
            assert ring.refresh() is False
            assert ring.tenant_for(_bearer(secret)) == tenant
            warnings = [r for r in caplog.records if "refresh failed" in r.getMessage()]
            assert len(warnings) == 1 and "connection refused" in warnings[0].getMessage()
            flaky.down = False
            key_id, _ = create_key(store, tenant, "ingest")
            revoke_key(store, key_id)
            revoke_key(store, create_key(store, tenant, "admin")[0])
            assert ring.refresh() is True
            assert ring.tenant_for(_bearer(secret)) == tenant
        finally:
            ring.close()


def test_keyring_without_store_knows_static_keys_only() -> None:
    ring = KeyRing({"k1": "acme"})
    assert ring.tenant_for("Bearer k1") == "acme"
    assert ring.tenant_for("Bearer k2") is None
    ring.close()


# --- a real server and the real CLI ---------------------------------------------------------


def _span_payload(service: str, claimed_tenant: str) -> bytes:
    now = time.time_ns()
    claim = [
        {"key": key, "value": {"stringValue": claimed_tenant}}
        for key in ("tenant", "tenant.id", "TenantId", "agentledger.tenant")
    ]
    return json.dumps(
        {
            "resourceSpans": [
                {
                    "resource": {
                        "attributes": [
                            {"key": "service.name", "value": {"stringValue": service}},
                            *claim,
                        ]
                    },
                    "scopeSpans": [
                        {
                            "scope": {"name": "test"},
                            "spans": [
                                {
                                    "traceId": uuid.uuid4().hex,
                                    "spanId": uuid.uuid4().hex[:16],
                                    "name": "keyed span",
                                    "kind": 1,
                                    "startTimeUnixNano": str(now - 1_000_000),
                                    "endTimeUnixNano": str(now),
                                    "attributes": claim,
                                }
                            ],
                        }
                    ],
                }
            ]
        }
    ).encode()


def _post(server: Server, secret: str, body: bytes) -> int:
    request = urllib.request.Request(
        f"{server.otlp_url}/v1/traces",
        data=body,
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {secret}"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            status: int = response.status
            return status
    except urllib.error.HTTPError as exc:
        return exc.code


def _cli_ok(server: Server, *args: str) -> str:
    result = server.cli(*args)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_keys_through_cli_and_a_running_server(tmp_path: Path) -> None:
    server, proc = start_server(tmp_path, {"AGENTLEDGER_KEY_REFRESH_SECONDS": "0.5"})
    try:
        tenant = f"keyed-{uuid.uuid4().hex[:8]}"
        created = server.cli(
            "keys", "create", "--tenant", tenant, "--scope", "ingest", "--name", "e2e"
        )
        assert created.returncode == 0, created.stderr
        assert "only this once" in created.stderr
        secret_match = SECRET_IN_TEXT.search(created.stdout)
        assert secret_match, created.stdout
        secret = secret_match.group(0)
        key_id = key_id_of(secret)
        assert key_id and key_id in created.stdout

        listed: list[dict[str, Any]] = json.loads(
            _cli_ok(server, "keys", "list", "--format", "json")
        )
        assert [row["tenant"] for row in listed if row["key_id"] == key_id] == [tenant]
        table = _cli_ok(server, "keys", "list")
        assert key_id in table
        for shown in (json.dumps(listed), table):
            assert secret not in shown and hash_secret(secret) not in shown

        service = f"svc-{uuid.uuid4().hex[:8]}"
        body = _span_payload(service, claimed_tenant="acme")
        _eventually(lambda: _post(server, secret, body) == 200, 2.0)

        client = server.client()

        def landed() -> list[str]:
            result = client.query(
                "SELECT TenantId FROM otel_traces WHERE ServiceName = {s:String}",
                parameters={"s": service},
            )
            return [row[0] for row in result.result_rows]

        _eventually(lambda: bool(landed()), 15.0)
        assert set(landed()) == {tenant}  # the key's tenant, not the one the payload claims

        # a read-scoped key may not ingest; static keys still work
        read_out = _cli_ok(server, "keys", "create", "--tenant", tenant, "--scope", "read")
        read_match = SECRET_IN_TEXT.search(read_out)
        assert read_match
        time.sleep(1.0)
        assert _post(server, read_match.group(0), body) == 401
        assert _post(server, server.api_keys["globex"], body) == 200

        assert f"revoked {key_id}" in _cli_ok(server, "keys", "revoke", key_id)
        took = _eventually(lambda: _post(server, secret, body) == 401, 2.0)
        assert took <= 2.0
        assert "already revoked" in _cli_ok(server, "keys", "revoke", key_id)
        unknown = server.cli("keys", "revoke", "000000000000")
        assert unknown.returncode != 0 and "no API key with id" in unknown.stderr
        revoked = json.loads(_cli_ok(server, "keys", "list", "--format", "json"))
        assert [r["revoked_at"] for r in revoked if r["key_id"] == key_id] != [None]
    finally:
        stop(proc)
