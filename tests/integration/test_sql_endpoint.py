"""The embedded SQL endpoint as ClickHouse clients see it: real clickhouse-connect, urllib and curl
over real sockets against uvicorn, chDB underneath; and the pure request parsing, property-tested.
"""

from __future__ import annotations

import base64
import gzip
import json
import shutil
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import clickhouse_connect
import lz4.frame
import pyarrow as pa
import pytest
import zstandard
from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import DatabaseError
from hypothesis import given, settings
from hypothesis import strategies as st

from agentledger.storage._sql_request import (
    SqlRequestError,
    decode_body,
    escaped,
    form_fields,
    split_statement,
    sql_string,
)
from agentledger.storage.chdb_store import ChdbStore
from agentledger.storage.sql_endpoint import SqlUser, build_sql_app

from ..conftest import serve_in_thread

USERS = {
    "admin": SqlUser("admin-pw", readonly=False),
    "reader": SqlUser("reader-pw", readonly=True),
}


# --- servers ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChdbStore]:
    chdb = ChdbStore(tmp_path_factory.mktemp("chdb"))
    yield chdb
    chdb.close()


@pytest.fixture(scope="module")
def port(store: ChdbStore) -> Iterator[int]:
    yield from serve_in_thread(build_sql_app(store, USERS))


@pytest.fixture(scope="module")
def small_port(store: ChdbStore) -> Iterator[int]:
    """The same store behind an endpoint that accepts bodies of at most 1 KiB."""
    yield from serve_in_thread(build_sql_app(store, USERS, max_body_bytes=1024))


def _client(port: int, user: str = "admin", password: str | None = None, **kwargs: Any) -> Client:
    if password is None:
        password = USERS[user].password if user in USERS else "nope"
    return clickhouse_connect.get_client(
        host="127.0.0.1", port=port, username=user, password=password, **kwargs
    )


@pytest.fixture(scope="module")
def admin(port: int) -> Client:
    return _client(port)


@pytest.fixture(scope="module")
def reader(port: int) -> Client:
    return _client(port, "reader")


@pytest.fixture
def table(admin: Client) -> str:
    """A fresh table with two rows."""
    name = f"t_{uuid.uuid4().hex[:8]}"
    admin.command(f"CREATE TABLE {name} (id Int32, s String) ENGINE = MergeTree ORDER BY id")
    admin.command(f"INSERT INTO {name} VALUES (1, 'one'), (2, 'two')")
    return name


def _count(client: Client, table: str) -> int:
    count: int = client.command(f"SELECT count() FROM {table}")
    return count


def _http(
    port: int,
    path: str,
    body: bytes | None = None,
    auth: tuple[str, str] | None = ("admin", "admin-pw"),
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], bytes]:
    """A plain HTTP request (a stand-in for curl): status, headers (lower-case) and body."""
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=body)
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    if auth:
        token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, _lower(response.headers.items()), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, _lower(exc.headers.items()), exc.read()


def _lower(headers: Iterable[tuple[str, str]]) -> dict[str, str]:
    return {name.lower(): value for name, value in headers}


def _q(sql: str) -> str:
    return "/?" + urllib.parse.urlencode({"query": sql})


# --- clickhouse-connect -------------------------------------------------------------------------


def test_connect_command_and_ping(admin: Client, port: int) -> None:
    assert admin.command("SELECT 1") == 1
    assert admin.server_version
    assert admin.ping()
    assert admin.command("SELECT currentDatabase()") == "agentledger"
    assert _http(port, "/ping", auth=None)[2] == b"Ok.\n"


def test_query_parameters(admin: Client) -> None:
    tricky = "it's a \\ back\tslash\nline"
    result = admin.query(
        "SELECT {n:Int64} + 1, {s:String}, {a:Array(String)}, length({a:Array(String)})",
        parameters={"n": 41, "s": tricky, "a": ["x", "y'z", tricky]},
    )
    assert result.result_rows == [(42, tricky, ["x", "y'z", tricky], 3)]


def test_long_parameters_travel_as_a_multipart_form(admin: Client) -> None:
    ids = [f"id-{i:05d}" for i in range(600)]  # past clickhouse-connect's 4 KiB URL budget
    count = admin.command("SELECT length({ids:Array(String)})", parameters={"ids": ids})
    assert count == 600
    rows = admin.query("SELECT {ids:Array(String)}[600]", parameters={"ids": ids}).result_rows
    assert rows == [("id-00599",)]


def test_query_arrow_and_df(admin: Client, table: str) -> None:
    arrow = admin.query_arrow(f"SELECT id, s FROM {table} ORDER BY id")
    assert arrow.to_pydict() == {"id": [1, 2], "s": ["one", "two"]}
    frame = admin.query_df(f"SELECT id, s FROM {table} ORDER BY id")
    assert frame.to_dict("list") == {"id": [1, 2], "s": ["one", "two"]}


@pytest.mark.parametrize("compress", ["lz4", "zstd", "gzip", False])
def test_insert_with_compression(port: int, table: str, compress: str | bool) -> None:
    client = _client(port, compress=compress)
    rows = [[i, f"row {i}"] for i in range(3, 300_003)]  # several blocks, so several frames
    summary = client.insert(table, rows, column_names=["id", "s"])
    assert summary.written_rows == 300_000
    assert _count(client, table) == 300_002
    assert client.command(f"SELECT s FROM {table} WHERE id = 300002") == "row 300002"


@pytest.mark.parametrize("compress", ["lz4", False])
def test_insert_arrow(port: int, table: str, compress: str | bool) -> None:
    client = _client(port, compress=compress)
    data = pa.table({"id": pa.array([7, 8], pa.int32()), "s": ["seven", "it's eight"]})
    client.insert_arrow(table, data)
    rows = client.query(f"SELECT id, s FROM {table} WHERE id > 2 ORDER BY id").result_rows
    assert rows == [(7, "seven"), (8, "it's eight")]


def test_engine_errors_reach_the_client(admin: Client) -> None:
    with pytest.raises(DatabaseError, match="Syntax error") as syntax:
        admin.query("SELEC 1")
    assert syntax.value.code == 62
    with pytest.raises(DatabaseError, match="Unknown table expression identifier") as unknown:
        admin.query("SELECT * FROM no_such_table")
    assert unknown.value.code == 60


def test_wrong_or_missing_credentials(port: int) -> None:
    with pytest.raises(DatabaseError, match="Authentication failed") as wrong:
        _client(port, "reader", password="wrong")
    assert wrong.value.code == 516
    with pytest.raises(DatabaseError):
        _client(port, "nobody")
    for auth in [None, ("admin", "wrong"), ("", "")]:
        status, headers, body = _http(port, _q("SELECT 1"), auth=auth)
        assert status == 401
        assert headers["x-clickhouse-exception-code"] == "516"
        assert body.startswith(b"Code: 516. DB::Exception: ")


def test_other_credential_carriers(port: int) -> None:
    headers = {"X-ClickHouse-User": "reader", "X-ClickHouse-Key": "reader-pw"}
    assert _http(port, _q("SELECT 2"), auth=None, headers=headers)[2] == b"2\n"
    path = _q("SELECT 3") + "&user=reader&password=reader-pw"
    assert _http(port, path, auth=None)[2] == b"3\n"


def test_settings_reach_the_engine(admin: Client, reader: Client, port: int) -> None:
    limited = {"max_result_rows": 1, "result_overflow_mode": "throw"}
    with pytest.raises(DatabaseError, match="Limit for result exceeded"):
        admin.query("SELECT number FROM numbers(10)", settings=limited)
    assert admin.command("SELECT getSetting('max_threads')", settings={"max_threads": 3}) == 3
    path = _q("SELECT number FROM numbers(10)") + "&" + urllib.parse.urlencode(limited)
    status, _, body = _http(port, path, auth=("reader", "reader-pw"))
    assert status == 500
    assert b"Limit for result exceeded" in body
    # The engine runs readers with readonly=1, so clients learn that settings are fixed for them.
    with pytest.raises(DatabaseError, match="readonly"):
        reader.query("SELECT 1", settings=limited)


def test_statement_settings_that_cannot_be_applied_are_refused(admin: Client) -> None:
    name = f"t_{uuid.uuid4().hex[:8]}"
    with pytest.raises(DatabaseError, match="SETTINGS clause") as refused:
        admin.command(f"CREATE TABLE {name} (a Int8) ENGINE = Memory", settings={"max_threads": 3})
    assert refused.value.code == 48
    assert admin.command(f"EXISTS TABLE {name}") == 0
    with pytest.raises(DatabaseError, match="SET and USE"):
        admin.command("SET max_threads = 1")


def test_database_parameter(port: int) -> None:
    assert _client(port, database="agentledger").command("SELECT 1") == 1
    status, headers, _ = _http(port, _q("SELECT 1") + "&database=system")
    assert (status, headers["x-clickhouse-exception-code"]) == (404, "81")


def test_event_loop_is_not_blocked_by_a_slow_query(port: int) -> None:
    slow = threading.Thread(target=lambda: _client(port).command("SELECT sleep(2)"))
    slow.start()
    time.sleep(0.3)
    started = time.monotonic()
    assert _http(port, "/ping", auth=None)[2] == b"Ok.\n"
    assert _http(port, _q("SELECT 1"), auth=("admin", "wrong"))[0] == 401
    assert time.monotonic() - started < 1.0
    slow.join()


# --- read-only users ----------------------------------------------------------------------------


def test_reader_reads_with_the_engines_readonly(reader: Client, port: int, table: str) -> None:
    assert _count(reader, table) == 2
    assert reader.command("SELECT getSetting('readonly')") == 1
    assert reader.command("SELECT getSetting('allow_python_table_function')") == "false"
    assert reader.command("SELECT getSetting('os_thread_priority')") == 19
    assert table in reader.command("SHOW TABLES")
    assert reader.query(f"DESCRIBE TABLE {table}").result_rows[0][:2] == ("id", "Int32")
    assert reader.command(f"EXISTS TABLE {table}") == 1
    assert "MergeTree" in reader.command(f"SHOW CREATE TABLE {table}")
    assert reader.query("EXPLAIN SELECT 1").result_rows
    assert (
        _http(port, "/", b"SELECT '\\xFF' AS not_utf8", auth=("reader", "reader-pw"))[2]
        == b"\xff\n"
    )
    assert reader.query("SELECT sum(number) FROM view(SELECT * FROM numbers(5))").result_rows == [
        (10,)
    ]


@pytest.mark.parametrize(
    "sql",
    [
        "INSERT INTO {t} VALUES (9, 'nine')",
        "INSERT INTO {t} SELECT 9, 'nine'",
        "CREATE TABLE {t}_copy (id Int32) ENGINE = Memory",
        "DROP TABLE {t}",
        "TRUNCATE TABLE {t}",
        "ALTER TABLE {t} DELETE WHERE 1",
        "ALTER TABLE {t} ADD COLUMN x Int8",
        "RENAME TABLE {t} TO {t}_renamed",
        "SET readonly = 0",
        "SYSTEM FLUSH LOGS",
        "OPTIMIZE TABLE {t} FINAL",
        "SELECT * FROM {t} SETTINGS readonly = 0",
        "SELECT * FROM (SELECT * FROM {t} SETTINGS readonly = 0)",
        "SELECT * FROM (SELECT * FROM {t} SETTINGS max_threads = 1)",
        "SELECT 1; DROP TABLE {t}",
        "INSERT INTO {t} VALUES (9, 'nine'); DROP TABLE {t}",
        "EXPLAIN AST INSERT INTO {t} VALUES (9, 'nine'); DROP TABLE {t}",
        "INSERT INTO FUNCTION file('/tmp/agentledger-{t}.csv', 'CSV') SELECT 1",
        "SELECT * FROM file('/etc/passwd', 'LineAsString')",
        "SELECT file('/etc/hostname')",
        "SELECT 1 IN file('/etc/passwd', 'LineAsString')",
        "SELECT * FROM url('http://127.0.0.1:9/', 'CSV', 'a Int8')",
        "SELECT * FROM s3('http://127.0.0.1:9/x.csv')",
        "SELECT * FROM Python(USERS)",
        "SELECT * FROM view(SELECT * FROM file('/etc/passwd', 'LineAsString'))",
        "DESCRIBE file('/etc/passwd', 'LineAsString')",
        "EXPLAIN SELECT * FROM file('/etc/passwd', 'LineAsString')",
        "SELECT 1 INTO OUTFILE '/tmp/agentledger-{t}.csv'",
        "SHOW TABLES INTO OUTFILE '/tmp/agentledger-{t}.csv'",
        "SHOW PROCESSLIST",
    ],
)
def test_reader_cannot_write_or_reach_the_host(
    reader: Client, admin: Client, table: str, sql: str
) -> None:
    tables_before = admin.command("SHOW TABLES")
    with pytest.raises(DatabaseError) as refused:
        reader.command(sql.format(t=table))
    assert refused.value.code in (62, 164)
    assert _count(admin, table) == 2
    assert admin.command("SHOW TABLES") == tables_before
    assert admin.query(f"DESCRIBE TABLE {table}").row_count == 2
    assert not Path(f"/tmp/agentledger-{table}.csv").exists()


def test_reader_cannot_insert_nor_lift_readonly_by_url(
    reader: Client, port: int, table: str
) -> None:
    with pytest.raises(DatabaseError, match="readonly") as refused:
        reader.insert(table, [[9, "nine"]], column_names=["id", "s"])
    assert refused.value.code == 164
    for value in ("0", "2"):
        auth = ("reader", "reader-pw")
        status, headers, _ = _http(port, _q("SELECT 1") + f"&readonly={value}", auth=auth)
        assert (status, headers["x-clickhouse-exception-code"]) == (500, "164")
    assert _count(reader, table) == 2


def test_get_is_read_only_even_for_admin(port: int, admin: Client, table: str) -> None:
    status, headers, body = _http(port, _q(f"INSERT INTO {table} VALUES (9, 'nine')"))
    assert (status, headers["x-clickhouse-exception-code"]) == (500, "164")
    assert b"(READONLY)" in body
    assert _count(admin, table) == 2


# --- plain HTTP ---------------------------------------------------------------------------------


def test_plain_get_answers_tab_separated(port: int) -> None:
    status, headers, body = _http(port, "/?query=SELECT+1&query_id=my-query")
    assert (status, body) == (200, b"1\n")
    assert headers["content-type"] == "text/tab-separated-values; charset=UTF-8"
    assert headers["x-clickhouse-format"] == "TabSeparated"
    assert headers["x-clickhouse-query-id"] == "my-query"
    assert headers["x-clickhouse-timezone"]
    assert headers["x-clickhouse-server-display-name"]
    assert "content-encoding" not in headers
    summary = json.loads(headers["x-clickhouse-summary"])
    assert set(summary) >= {"read_rows", "written_rows", "result_bytes", "elapsed_ns"}
    assert all(isinstance(value, str) for value in summary.values())
    assert _http(port, "/", auth=None)[2] == b"Ok.\n"


def test_formats_from_the_query_or_default_format(port: int) -> None:
    status, headers, body = _http(port, "/", b"SELECT 1 AS x FORMAT JSONEachRow")
    assert (status, body) == (200, b'{"x":1}\n')
    assert headers["content-type"] == "application/json; charset=UTF-8"
    assert headers["x-clickhouse-format"] == "JSONEachRow"
    _, headers, body = _http(port, _q("SELECT 1 AS x") + "&default_format=CSVWithNames")
    assert (headers["x-clickhouse-format"], body) == ("CSVWithNames", b'"x"\n1\n')
    _, headers, body = _http(port, "/?default_format=CSV", b"SELECT 2 FORMAT Native")
    assert headers["content-type"] == "application/octet-stream"
    stream = pa.ipc.open_stream(_http(port, "/", b"SELECT 3 AS y FORMAT ArrowStream")[2])
    assert stream.read_all().to_pydict() == {"y": [3]}


def test_inline_insert_data_from_body_or_after_the_query_parameter(
    port: int, admin: Client, table: str
) -> None:
    assert _http(port, "/", f"INSERT INTO {table} FORMAT CSV\n3,three\n4,four\n".encode())[0] == 200
    path = _q(f"INSERT INTO {table} (id, s) FORMAT TabSeparated")
    assert _http(port, path, b"5\tfive\n")[0] == 200
    body = gzip.compress(f"INSERT INTO {table} FORMAT JSONEachRow\n".encode() + b'{"id":6}')
    assert _http(port, "/", body, headers={"Content-Encoding": "gzip"})[0] == 200
    body = zlib.compress(f"INSERT INTO {table} VALUES (7, 'seven');".encode())
    assert _http(port, "/", body, headers={"Content-Encoding": "deflate"})[0] == 200
    own_settings = _q(f"INSERT INTO {table} SETTINGS max_insert_threads = 1 FORMAT CSV")
    assert _http(port, own_settings + "&input_format_csv_empty_as_default=1", b"8,\n")[0] == 200
    rows = admin.query(f"SELECT id, s FROM {table} ORDER BY id").result_rows
    assert [id_ for id_, _ in rows] == [1, 2, 3, 4, 5, 6, 7, 8]
    assert [s for _, s in rows[2:]] == ["three", "four", "five", "", "seven", ""]


def test_body_limit_also_bounds_decompression(small_port: int) -> None:
    status, headers, _ = _http(small_port, "/", b"SELECT '" + b"x" * 2000 + b"'")
    assert (status, headers["x-clickhouse-exception-code"]) == (413, "229")
    bomb = zstandard.compress(b"SELECT '" + b"x" * (10 << 20) + b"'")
    assert len(bomb) < 1024
    status, headers, _ = _http(small_port, "/", bomb, headers={"Content-Encoding": "zstd"})
    assert (status, headers["x-clickhouse-exception-code"]) == (413, "229")
    status, _, body = _http(small_port, "/", b"SELECT 4")
    assert (status, body) == (200, b"4\n")


@pytest.mark.skipif(shutil.which("curl") is None, reason="no curl binary")
def test_curl(port: int) -> None:
    url = f"http://127.0.0.1:{port}"
    get = ["curl", "-sS", "-u", "reader:reader-pw", f"{url}/?query=SELECT+1"]
    assert subprocess.run(get, capture_output=True, check=True, timeout=30).stdout == b"1\n"
    post = ["curl", "-sS", "-u", "reader:reader-pw", "--data-binary", "@-", f"{url}/"]
    done = subprocess.run(post, input=b"SELECT 2", capture_output=True, check=True, timeout=30)
    assert done.stdout == b"2\n"
    anonymous = ["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", f"{url}/?query=SELECT+1"]
    assert subprocess.run(anonymous, capture_output=True, check=True, timeout=30).stdout == b"401"


# --- the engine round-trips what the pure helpers quote -----------------------------------------


@settings(max_examples=60, deadline=None)
@given(value=st.text())
def test_quoted_and_escaped_text_round_trips_through_the_engine(
    store: ChdbStore, value: str
) -> None:
    literal = store.query_arrow(f"SELECT {sql_string(value)} AS v").column("v").to_pylist()
    wire = store.raw("SELECT {v:String} AS v", "JSONEachRow", {"v": escaped(value)})
    assert literal == [json.loads(wire)["v"]] == [value]


# --- pure parsing, property-tested -------------------------------------------------------------


@given(st.binary(max_size=300))
def test_split_statement_only_raises_its_own_error(text: bytes) -> None:
    try:
        statement = split_statement(text)
    except SqlRequestError as exc:
        assert exc.code in (36, 62)
    else:
        assert statement.query


_INSERT_HEADS = st.sampled_from(
    [
        ("INSERT INTO t", ""),
        ('insert into db.format (a, `b c`, "d")', ""),
        ("INSERT INTO TABLE t", "async_insert = 1, x = 'FORMAT ;'"),
        ("INSERT INTO FUNCTION null('a Int8') /* FORMAT CSV; */", ""),
        ("INSERT INTO t -- FORMAT TSV\n (format)", ""),
    ]
)


@given(
    head=_INSERT_HEADS,
    fmt=st.from_regex(r"[A-Za-z][A-Za-z0-9_]{0,20}", fullmatch=True),
    gap=st.sampled_from(["\n", " \n", "\t\r\n", "  \t\n"]),
    data=st.binary(),
)
def test_insert_data_is_split_off_exactly(
    head: tuple[str, str], fmt: str, gap: str, data: bytes
) -> None:
    sql = f"{head[0]} SETTINGS {head[1]} FORMAT {fmt}" if head[1] else f"{head[0]} FORMAT {fmt}"
    statement = split_statement(f"{sql}{gap}".encode() + data)
    assert statement.query == sql
    assert statement.insert is not None
    assert (statement.insert.head, statement.insert.settings) == head
    assert (statement.insert.format, statement.insert.data) == (fmt, data)


@given(
    query=st.sampled_from(
        ["SELECT 1", "SELECT ';' AS `;`", "SELECT $$;$$", "SELECT 1 /* ; /* ; */ */ + 1"]
    ),
    tail=st.lists(st.sampled_from([";", " ", "\n", "-- c;\n", "/* ; */", "# x;\n"]), max_size=6),
)
def test_trailing_semicolons_and_comments_are_dropped(query: str, tail: list[str]) -> None:
    assert split_statement((query + "".join(tail)).encode()).query == query


@given(first=st.sampled_from(["SELECT 1", "INSERT INTO t VALUES (1)"]), second=st.just("DROP t"))
def test_a_second_statement_is_refused(first: str, second: str) -> None:
    with pytest.raises(SqlRequestError, match="Multi-statements"):
        split_statement(f"{first}; {second}".encode())


_COMPRESS = {
    "lz4": lz4.frame.compress,
    "zstd": zstandard.compress,
    "gzip": gzip.compress,
    "deflate": zlib.compress,
    "identity": bytes,
}


@given(
    encoding=st.sampled_from(sorted(_COMPRESS)),
    data=st.binary(max_size=2000),
    frames=st.integers(1, 3),
    limit=st.integers(0, 5000),
)
def test_decode_body_round_trips_within_the_limit(
    encoding: str, data: bytes, frames: int, limit: int
) -> None:
    body = b"".join(
        _COMPRESS[encoding](data) for _ in range(frames if encoding != "deflate" else 1)
    )
    expected = data * (frames if encoding != "deflate" else 1)
    try:
        assert decode_body(body, encoding, limit) == expected
    except SqlRequestError as exc:
        assert exc.code == 229 and len(expected) > limit


@given(encoding=st.sampled_from([*sorted(_COMPRESS), "br", "x"]), body=st.binary(max_size=500))
def test_decode_body_only_raises_its_own_error(encoding: str, body: bytes) -> None:
    try:
        assert len(decode_body(body, encoding, 1000)) <= 1000
    except SqlRequestError as exc:
        assert exc.code in (89, 229, 271)


@given(body=st.binary(max_size=500), boundary=st.sampled_from(["b", "xyz", ""]))
def test_form_fields_only_raise_their_own_error(body: bytes, boundary: str) -> None:
    try:
        fields = form_fields(f"multipart/form-data; boundary={boundary}", body)
    except SqlRequestError as exc:
        assert exc.code in (36, 48)
    else:
        assert all(isinstance(v, str) for v in fields.values())
