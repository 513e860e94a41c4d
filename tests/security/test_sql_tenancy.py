"""Tenant isolation through the SQL endpoint: a tenant user (a managed ``read`` key, or the
``reader`` with ``X-AgentLedger-Tenant``) sees its own rows only, whatever SQL it sends."""

from __future__ import annotations

import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

import clickhouse_connect
import pytest
from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import DatabaseError

from agentledger.collector.keys import revoke_key
from agentledger.storage.http_store import TENANT_HEADER, HttpStore
from agentledger.storage.store import StoreError, query_rows

from .conftest import LoggedServer

READ_TABLES = ("otel_traces", "otel_logs")
# Reads the tenant filter follows: they run, and show acme's rows only.
FILTERED = [
    "SELECT TenantId, SpanAttributes['marker'] FROM otel_traces",
    "SELECT TenantId FROM agentledger.otel_traces",
    "SELECT TenantId FROM otel_traces AS t WHERE t.TenantId = 'globex' OR 1",
    "SELECT TenantId FROM otel_traces PREWHERE TenantId != 'acme' OR 1",
    "SELECT TenantId FROM (SELECT * FROM otel_traces)",
    "WITH x AS (SELECT TenantId FROM otel_traces) SELECT * FROM x",
    "SELECT TenantId FROM otel_traces UNION ALL SELECT TenantId FROM otel_logs",
    "SELECT a.TenantId, b.TenantId FROM otel_traces AS a CROSS JOIN otel_logs AS b",
    "SELECT TenantId FROM otel_logs WHERE TenantId IN (SELECT TenantId FROM otel_traces)",
    "SELECT (SELECT groupArray(TenantId) FROM otel_traces)",
    "SELECT groupUniqArray(TenantId) FROM otel_traces GROUP BY ServiceName WITH TOTALS",
    "SELECT TenantId, Body FROM otel_logs",
    "SELECT TenantId FROM otel_traces LIMIT 1 BY TenantId",
    "SELECT TenantId, m FROM otel_logs ARRAY JOIN mapKeys(LogAttributes) AS m",
    "SELECT TenantId FROM otel_traces ORDER BY TenantId DESC LIMIT 1",
    "SELECT DISTINCT TenantId FROM model_prices",
    "SELECT TenantId, TraceId FROM otel_traces_trace_id_ts",
]
# Reads that aim at the other tenant's rows only: they run and find nothing.
EMPTY = [
    "SELECT TenantId FROM otel_traces WHERE TenantId IN (SELECT 'globex')",
    "SELECT TenantId FROM otel_traces WHERE TenantId = {t:String}",
    "SELECT * FROM otel_logs WHERE Body = 'marker-globex'",
    "SELECT count() FROM otel_traces WHERE SpanAttributes['marker'] = 'marker-globex'"
    " HAVING count()",
]
# Reads that would show another tenant's rows in an error message, evaluated while the analyzer
# resolves the query (scalar subqueries folded into constants): under the filter already.
LEAKY = [
    "SELECT toUInt8((SELECT any(Body) FROM otel_logs WHERE TenantId = 'globex'))",
    "SELECT throwIf(1, (SELECT any(Body) FROM otel_logs WHERE TenantId = 'globex'))",
    "SELECT toUInt8((SELECT any(SpanAttributes['marker']) FROM otel_traces"
    " WHERE ServiceName = 'svc-globex'))",
    "SELECT toUInt8((SELECT any(Body) FROM merge('agentledger', '^otel_logs$')"
    " WHERE TenantId = 'globex'))",
    "SELECT toUInt8((SELECT any(Body) FROM view(SELECT * FROM otel_logs)"
    " WHERE TenantId = 'globex'))",
    "SELECT toUInt8((SELECT groupArray(TraceId)::String FROM otel_traces_trace_id_ts))",
    "SELECT toUInt8((SELECT toString(sum(rows)) || 'rows' FROM system.parts))",
]
# Reads the filter could not follow: refused by the engine's own reading of the query.
REFUSED = [
    "SELECT * FROM merge('agentledger', '^otel_traces$')",
    "SELECT * FROM merge(currentDatabase(), 'otel')",
    "SELECT * FROM view(SELECT TenantId FROM otel_traces)",
    "SELECT * FROM loop(otel_traces) LIMIT 10",
    "SELECT * FROM cluster('default', agentledger.otel_traces)",
    "SELECT * FROM remote('127.0.0.1', agentledger.otel_traces)",
    "SELECT * FROM remoteSecure('127.0.0.1', agentledger.otel_traces)",
    "SELECT * FROM system.parts",
    "SELECT name, total_rows FROM system.tables",
    "SELECT * FROM system.columns",
    "SELECT * FROM system.disks",
    "SELECT * FROM system.processes",
    "SELECT * FROM information_schema.tables",
    "SELECT * FROM model_observations_spans_mv",
    "SELECT * FROM api_keys",
    "SELECT * FROM schema_migrations",
    "SELECT * FROM system.tables AS `x, table_name: agentledger.otel_traces`",
    "SELECT * FROM system.tables AS `x, table_name: agentledger.otel_traces, final: 1`",
    "SELECT 1 FROM numbers(1) WHERE (SELECT count() FROM system.parts) > 0",
    "SELECT dictGet('agentledger.d', 'v', 1)",
    "SELECT joinGet('agentledger.j', 'v', 1)",
    "SELECT * FROM dictionary('agentledger.d')",
    "SELECT * FROM otel_traces SETTINGS additional_table_filters = {}",
    "SELECT * FROM (SELECT * FROM otel_traces SETTINGS additional_table_filters = {})",
    "EXPLAIN ESTIMATE SELECT * FROM otel_traces",
    "EXPLAIN SELECT * FROM otel_traces",
    "SHOW PROCESSLIST",
    "SELECT * FROM file('/etc/passwd', 'LineAsString')",
    "SELECT * FROM url('http://127.0.0.1:9/', 'CSV', 'a Int8')",
    "SELECT * FROM executable('id', 'TSV', 'x String')",
    "SELECT * FROM s3('http://127.0.0.1:9/x.csv')",
    "SET additional_table_filters = {}",
]


def _tenant_client(secured: LoggedServer, tenant: str) -> Client:
    key_id, secret = secured.read_keys[tenant]
    return clickhouse_connect.get_client(
        host="127.0.0.1",
        port=secured.server.sql_port,
        username=key_id,
        password=secret,
        database="agentledger",
    )


@pytest.fixture(scope="module")
def acme(secured: LoggedServer) -> Client:
    return _tenant_client(secured, "acme")


def _text(result: Any) -> str:
    return repr(result.result_rows)


def test_each_tenant_user_sees_its_own_rows_only(secured: LoggedServer) -> None:
    admin = secured.server.client()
    for table in READ_TABLES:
        everyone = admin.query(f"SELECT DISTINCT TenantId FROM {table} ORDER BY 1").result_rows
        assert everyone == [("acme",), ("globex",)], (table, everyone)
    for tenant in ("acme", "globex"):
        client = _tenant_client(secured, tenant)
        for table in READ_TABLES:
            seen = client.query(f"SELECT DISTINCT TenantId FROM {table}").result_rows
            assert seen == [(tenant,)], (tenant, table, seen)
        shared = client.query("SELECT DISTINCT TenantId FROM model_prices").result_rows
        assert set(shared) <= {("",), (tenant,)} and ("",) in shared


@pytest.mark.parametrize("sql", FILTERED)
def test_reads_are_filtered_by_the_engine(acme: Client, sql: str) -> None:
    result = acme.query(sql)
    assert "globex" not in _text(result), (sql, result.result_rows)
    if "model_prices" not in sql:
        assert "acme" in _text(result), (sql, result.result_rows)


@pytest.mark.parametrize("sql", EMPTY)
def test_reads_aimed_at_another_tenant_find_nothing(acme: Client, sql: str) -> None:
    assert acme.query(sql, parameters={"t": "globex"}).result_rows == []


@pytest.mark.parametrize("sql", REFUSED)
def test_reads_around_the_filter_are_refused(acme: Client, sql: str) -> None:
    with pytest.raises(DatabaseError) as refused:
        acme.query(sql)
    assert refused.value.code in (497, 164, 62), (sql, str(refused.value)[:300])
    assert "globex" not in str(refused.value)


@pytest.mark.parametrize("sql", LEAKY, ids=LEAKY)
def test_errors_never_show_another_tenants_rows(
    secured: LoggedServer, acme: Client, sql: str
) -> None:
    admin = secured.server.client()
    trace_ids = admin.query("SELECT TraceId FROM otel_traces WHERE TenantId = 'globex'")
    secrets = ["marker-globex", *(row[0] for row in trace_ids.result_rows)]
    refused_outright = any(name in sql for name in ("merge(", "view(", "system."))
    try:
        seen = _text(acme.query(sql))
    except DatabaseError as exc:
        seen = str(exc)
        assert exc.code == 497 or not refused_outright, seen[:300]
    else:
        assert not refused_outright, seen[:300]
    assert not [secret for secret in secrets if secret in seen], seen[:300]


def _http(port: int, sql: str, headers: dict[str, str], **params: str) -> tuple[int, str]:
    query = urllib.parse.urlencode({"query": sql, **params})
    request = urllib.request.Request(f"http://127.0.0.1:{port}/?{query}", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def test_settings_in_the_url_cannot_lift_the_filter(secured: LoggedServer) -> None:
    _, secret = secured.read_keys["acme"]
    port, key = secured.server.sql_port, {"X-ClickHouse-Key": secret}
    sql = "SELECT DISTINCT TenantId FROM otel_traces"
    assert _http(port, sql, key) == (200, "acme\n")  # the secret alone is enough
    assert _http(port, sql, key, additional_table_filters="{}")[0] == 403
    assert _http(port, sql, key, readonly="0")[0] == 500
    for name, value in (("enable_analyzer", "0"), ("use_query_cache", "1")):
        assert _http(port, sql, key, **{name: value}) == (200, "acme\n"), name


def test_reader_with_the_tenant_header_gets_the_same_confinement(secured: LoggedServer) -> None:
    url = f"http://reader:{secured.server.reader_password}@127.0.0.1:{secured.server.sql_port}"
    for tenant in ("acme", "globex"):
        store = HttpStore(url, tenant=tenant)
        try:
            rows = query_rows(store, "SELECT DISTINCT TenantId AS t FROM otel_traces")
            assert rows == [{"t": tenant}]
            with pytest.raises(StoreError) as refused:
                store.query_arrow("SELECT * FROM merge('agentledger', '^otel_traces$')")
            assert refused.value.code == 497
        finally:
            store.close()
    unconfined = HttpStore(url)
    try:
        rows = query_rows(unconfined, "SELECT DISTINCT TenantId AS t FROM otel_traces ORDER BY t")
        assert rows == [{"t": "acme"}, {"t": "globex"}]
    finally:
        unconfined.close()
    with pytest.raises(ValueError, match="printable ASCII"):
        HttpStore(url, tenant="ac\nme")


def test_a_key_cannot_claim_another_tenant_nor_read_with_the_wrong_scope(
    secured: LoggedServer,
) -> None:
    port = secured.server.sql_port
    key_id, secret = secured.read_keys["acme"]
    sql = "SELECT DISTINCT TenantId FROM otel_traces"
    headers = {"X-ClickHouse-User": key_id, "X-ClickHouse-Key": secret}
    assert _http(port, sql, headers | {TENANT_HEADER: "globex"})[0] == 403
    assert _http(port, sql, headers | {TENANT_HEADER: "acme"}) == (200, "acme\n")
    other_id, _ = secured.read_keys["globex"]
    assert _http(port, sql, {"X-ClickHouse-User": other_id, "X-ClickHouse-Key": secret})[0] == 401
    _, admin_secret = secured.new_key("acme", "admin")  # a tenant's admin key reads as the tenant
    secured.wait_key_reads(admin_secret)
    _, ingest_secret = secured.new_key("acme", "ingest")
    time.sleep(2.5)  # past a refresh: the key is known, and still refused for reading
    assert _http(port, sql, {"X-ClickHouse-Key": ingest_secret})[0] == 401
    assert _http(port, sql, {"X-ClickHouse-Key": admin_secret}) == (200, "acme\n")
    assert _http(port, sql, {"X-ClickHouse-Key": secured.server.api_keys["acme"]})[0] == 401


def test_a_revoked_read_key_fails_within_seconds(secured: LoggedServer) -> None:
    key_id, secret = secured.new_key("acme", "read")
    port, headers = secured.server.sql_port, {"X-ClickHouse-Key": secret}
    sql = "SELECT count() > 0 FROM otel_traces"
    secured.wait_key_reads(secret)
    store = secured.admin_store()
    try:
        assert revoke_key(store, key_id)
    finally:
        store.close()
    revoked_at = time.monotonic()
    while _http(port, sql, headers)[0] == 200:
        assert time.monotonic() - revoked_at < 5, "a revoked key still reads after 5 s"
        time.sleep(0.1)
    assert _http(port, sql, headers)[0] == 401
