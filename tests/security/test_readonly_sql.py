"""The read-only SQL users (``reader``, and tenant users) cannot change anything or reach the
host: every DDL and DML kind, multi-statements, settings, SYSTEM, and the table functions and
dictionaries that reach outside the database, against a real server."""

from __future__ import annotations

import uuid
from pathlib import Path

import clickhouse_connect
import pytest
from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import DatabaseError

from .conftest import LoggedServer

TARGET = "sec_target"
PROBE = f"/tmp/agentledger-sec-{uuid.uuid4().hex[:8]}"
ATTACKS = {
    "ddl": [
        "CREATE TABLE {t}_x (id Int32) ENGINE = Memory",
        "CREATE TABLE {t}_x AS {t}",
        "CREATE VIEW {t}_v AS SELECT 1",
        "CREATE MATERIALIZED VIEW {t}_mv ENGINE = Memory AS SELECT * FROM {t}",
        "CREATE DATABASE sec_db",
        "CREATE DICTIONARY {t}_d2 (id UInt64, v String) PRIMARY KEY id"
        " SOURCE(FILE(path '/etc/passwd' format 'TSV')) LAYOUT(FLAT()) LIFETIME(0)",
        "CREATE FUNCTION sec_f AS (x) -> x",
        "CREATE USER sec_user",
        "CREATE ROLE sec_role",
        "CREATE ROW POLICY sec_p ON {t} USING 1 TO ALL",
        "CREATE QUOTA sec_q",
        "CREATE SETTINGS PROFILE sec_sp",
        "DROP TABLE {t}",
        "DROP DATABASE agentledger",
        "DROP DICTIONARY {t}_d",
        "TRUNCATE TABLE {t}",
        "RENAME TABLE {t} TO {t}_renamed",
        "EXCHANGE TABLES {t} AND otel_traces",
        "DETACH TABLE {t}",
        "ATTACH TABLE {t}",
        "UNDROP TABLE {t}",
        "ALTER TABLE {t} ADD COLUMN x Int8",
        "ALTER TABLE {t} DROP COLUMN s",
        "ALTER TABLE {t} MODIFY TTL toDateTime('2000-01-01')",
        "ALTER TABLE {t} FREEZE",
        "ALTER TABLE {t} DETACH PARTITION tuple()",
        "ALTER TABLE {t} MODIFY SETTING merge_with_ttl_timeout = 1",
        "GRANT ALL ON *.* TO default",
        "REVOKE SELECT ON *.* FROM default",
    ],
    "dml": [
        "INSERT INTO {t} VALUES (9, 'nine')",
        "INSERT INTO {t} SELECT 9, 'nine'",
        "INSERT INTO {t} FORMAT TSV\n9\tnine",
        "ALTER TABLE {t} DELETE WHERE 1",
        "ALTER TABLE {t} UPDATE s = 'x' WHERE 1",
        "DELETE FROM {t} WHERE 1",
        "UPDATE {t} SET s = 'x' WHERE 1",
        "OPTIMIZE TABLE {t} FINAL",
        "KILL QUERY WHERE 1",
        "BACKUP TABLE {t} TO File('sec.zip')",
        "RESTORE TABLE {t} FROM File('sec.zip')",
        "CHECK TABLE {t}",
    ],
    "multi_statement": [
        "SELECT 1; DROP TABLE {t}",
        "SELECT 1;DROP TABLE {t};",
        "SELECT 1 /* ; */; INSERT INTO {t} VALUES (9, 'nine')",
        "EXPLAIN AST SELECT 1; DROP TABLE {t}",
    ],
    "settings": [
        "SET readonly = 0",
        "SET allow_ddl = 1",
        "SELECT * FROM {t} SETTINGS readonly = 0",
        "SELECT * FROM {t} SETTINGS readonly = 2",
        "SELECT * FROM (SELECT * FROM {t} SETTINGS readonly = 0)",
        "SELECT * FROM {t} SETTINGS allow_python_table_function = 1",
        "USE system",
    ],
    "system": [
        "SYSTEM FLUSH LOGS",
        "SYSTEM STOP MERGES",
        "SYSTEM DROP MARK CACHE",
        "SYSTEM RELOAD DICTIONARIES",
        "SYSTEM SHUTDOWN",
        "SYSTEM SYNC REPLICA {t}",
    ],
    "insert_into_function": [
        "INSERT INTO FUNCTION file('{probe}.csv', 'CSV') SELECT 1",
        "INSERT INTO FUNCTION url('http://127.0.0.1:9/', 'CSV', 'a Int8') SELECT 1",
        "INSERT INTO FUNCTION s3('http://127.0.0.1:9/x.csv', 'CSV', 'a Int8') SELECT 1",
        "INSERT INTO FUNCTION remote('127.0.0.1', agentledger.{t}) SELECT 9, 'nine'",
    ],
    "table_functions": [
        "SELECT * FROM file('/etc/passwd', 'LineAsString')",
        "SELECT file('/etc/hostname')",
        "SELECT 1 IN file('/etc/passwd', 'LineAsString')",
        "DESCRIBE file('/etc/passwd', 'LineAsString')",
        "SELECT * FROM view(SELECT * FROM file('/etc/passwd', 'LineAsString'))",
        "SELECT * FROM url('http://127.0.0.1:9/', 'CSV', 'a Int8')",
        "SELECT * FROM executable('id', 'TSV', 'x String')",
        "SELECT * FROM executable('touch {probe}', 'TSV', 'x String')",
        "SELECT * FROM remote('127.0.0.1', system.one)",
        "SELECT * FROM remoteSecure('127.0.0.1', system.one)",
        "SELECT * FROM cluster('default', system.one)",
        "SELECT * FROM s3('http://127.0.0.1:9/x.csv')",
        "SELECT * FROM hdfs('hdfs://127.0.0.1:9/x', 'CSV', 'a Int8')",
        "SELECT * FROM mysql('127.0.0.1:9', 'db', 't', 'u', 'p')",
        "SELECT * FROM postgresql('127.0.0.1:9', 'db', 't', 'u', 'p')",
        "SELECT * FROM sqlite('/etc/passwd', 't')",
        "SELECT * FROM jdbc('jdbc:x', 't')",
        "SELECT * FROM odbc('dsn', 't')",
        "SELECT * FROM azureBlobStorage('http://127.0.0.1:9', 'c', 'b')",
        "SELECT * FROM Python(USERS)",
        "SELECT * FROM input('a Int8')",
        "SELECT 1 INTO OUTFILE '{probe}.csv'",
        "SHOW TABLES INTO OUTFILE '{probe}.csv'",
    ],
    "dictionaries": [
        "SELECT dictGet('agentledger.{t}_d', 's', toUInt64(1))",
        "SELECT dictGetOrDefault('agentledger.{t}_d', 's', toUInt64(2), '')",
        "SELECT dictHas('agentledger.{t}_d', toUInt64(2))",
        "SELECT * FROM dictionary('agentledger.{t}_d')",
        "SYSTEM RELOAD DICTIONARY agentledger.{t}_d",
    ],
}
CASES = [(kind, sql) for kind, statements in ATTACKS.items() for sql in statements]


@pytest.fixture(scope="module")
def target(secured: LoggedServer) -> Client:
    """The admin's view, after creating the table every attack aims at (and a dictionary)."""
    admin = secured.server.client()
    admin.command(
        f"CREATE TABLE IF NOT EXISTS {TARGET} (id Int32, s String, TenantId String)"
        " ENGINE = MergeTree ORDER BY id"
    )
    admin.command(f"TRUNCATE TABLE {TARGET}")
    admin.command(f"INSERT INTO {TARGET} VALUES (1, 'one', 'acme'), (2, 'two', 'globex')")
    admin.command(
        f"CREATE DICTIONARY IF NOT EXISTS {TARGET}_d (id UInt64, s String) PRIMARY KEY id"
        f" SOURCE(CLICKHOUSE(TABLE '{TARGET}')) LAYOUT(FLAT()) LIFETIME(0)"
    )
    assert admin.command(f"SELECT dictGet('agentledger.{TARGET}_d', 's', toUInt64(2))") == "two"
    return admin


def _state(admin: Client) -> tuple[object, ...]:
    return (
        admin.command("SHOW TABLES"),
        admin.command(f"SELECT groupArray((id, s)) FROM (SELECT * FROM {TARGET} ORDER BY id)"),
        admin.query(f"DESCRIBE TABLE {TARGET}").result_rows,
        admin.command("SELECT count() FROM system.databases"),
        admin.command("SELECT count() FROM system.functions WHERE origin != 'System'"),
    )


def _as(secured: LoggedServer, who: str) -> Client:
    port = secured.server.sql_port
    if who == "reader":
        user, password = "reader", secured.server.reader_password
    else:
        user, password = secured.read_keys["acme"]
    return clickhouse_connect.get_client(
        host="127.0.0.1", port=port, username=user, password=password, database="agentledger"
    )


@pytest.mark.parametrize("who", ["reader", "tenant"])
@pytest.mark.parametrize(("kind", "sql"), CASES, ids=[f"{k}:{s[:40]}" for k, s in CASES])
def test_read_only_users_change_nothing_and_reach_nothing(
    secured: LoggedServer, target: Client, who: str, kind: str, sql: str
) -> None:
    client = _as(secured, who)
    before = _state(target)
    with pytest.raises(DatabaseError) as refused:
        client.command(sql.format(t=TARGET, probe=PROBE))
    # 164 READONLY, 497 ACCESS_DENIED (a tenant), 62 SYNTAX_ERROR (a second statement)
    assert refused.value.code in (62, 164, 497), str(refused.value)[:300]
    assert _state(target) == before
    assert not list(Path("/tmp").glob(f"{Path(PROBE).name}*"))


def test_the_reader_still_reads(secured: LoggedServer, target: Client) -> None:
    rows = _as(secured, "reader").query(f"SELECT id FROM {TARGET} ORDER BY id").result_rows
    assert rows == [(1,), (2,)]
    assert _as(secured, "tenant").query(f"SELECT id FROM {TARGET}").result_rows == [(1,)]
