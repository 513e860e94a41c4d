"""Property-based fuzzing of the SQL endpoint's request handling: the pure parsing of parameters,
and whole hostile HTTP requests against a real server, which answers each with a result or a
ClickHouse error (code header, 4xx/5xx status, message) and keeps serving."""

from __future__ import annotations

import base64
import gzip
import http.client
import urllib.parse

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agentledger.storage._sql_request import (
    TRANSPORT_PARAMS,
    SqlRequestError,
    split_params,
)

from ..conftest import Server

TOKENS = [
    "SELECT", "INSERT", "INTO", "FORMAT", "SETTINGS", "readonly", "=", "0", "1", "(", ")", ",",
    ";", "'", '"', "`", "/*", "*/", "--", "\n", "FROM", "otel_traces", "system.tables", "file",
    "url", "numbers(3)", "{x:String}", "{", "}", "$$", "$tag$", "\\", "UNION", "ALL", "EXPLAIN",
    "AST", "DROP", "TABLE", "WITH", "AS", "JSON", "Native", "TSV", "\xff", "\x00", "*", "count()",
]  # fmt: skip
FUZZ = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# ClickHouse answers errors with these statuses (exceptionCodeToHTTPStatus).
ERROR_STATUSES = {400, 401, 403, 404, 408, 411, 413, 415, 500, 501, 503}

sql_texts = st.one_of(
    st.lists(st.sampled_from(TOKENS), max_size=12).map(" ".join),
    st.text(max_size=60),
)
names = st.one_of(
    st.sampled_from(
        ["query", "database", "default_format", "param_x", "readonly", "max_threads",
         "additional_table_filters", "compress", "decompress", "user", "password",
         "allow_python_table_function", "enable_analyzer", "max_result_rows", "session_id"]
    ),
    st.text(min_size=1, max_size=20),
)  # fmt: skip
values = st.one_of(st.sampled_from(["0", "1", "2", "", "{}", "JSON", "-1"]), st.text(max_size=20))


@FUZZ
@given(st.dictionaries(names, values, max_size=8))
def test_split_params_sorts_every_parameter_or_refuses_clearly(params: dict[str, str]) -> None:
    try:
        http = split_params(params)
    except SqlRequestError as exc:
        assert exc.code in (48, 115) and str(exc)
        return
    for name, value in params.items():
        if name.startswith("param_"):
            assert http.query_params[name.removeprefix("param_")] == value
        elif name not in TRANSPORT_PARAMS:
            assert http.settings[name] == value
    assert not set(http.settings) & TRANSPORT_PARAMS
    assert http.default_format


def _sql(
    server: Server, method: str, params: dict[str, str], body: bytes, headers: dict[str, str]
) -> tuple[int, dict[str, str], bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", server.sql_port, timeout=60)
    path = "/?" + urllib.parse.urlencode(params)
    connection.request(method, path, body if method == "POST" else None, headers)
    response = connection.getresponse()
    answer = response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    connection.close()
    return answer


auth = st.sampled_from(["reader", "reader+tenant", "tenant-key-like", "garbage", "none"])


@FUZZ
@given(
    st.sampled_from(["GET", "POST"]),
    sql_texts,
    st.dictionaries(names, values, max_size=4),
    st.one_of(st.binary(max_size=80), sql_texts.map(str.encode)),
    st.sampled_from(["", "gzip", "deflate", "zstd", "lz4", "br", "identity"]),
    st.booleans(),
    auth,
)
def test_hostile_sql_requests_get_a_result_or_a_clickhouse_error(
    server: Server,
    method: str,
    query: str,
    params: dict[str, str],
    body: bytes,
    encoding: str,
    compress: bool,
    who: str,
) -> None:
    headers: dict[str, str] = {}
    if encoding:
        headers["Content-Encoding"] = encoding
        if compress and encoding == "gzip":
            body = gzip.compress(body)
    token = base64.b64encode(f"reader:{server.reader_password}".encode()).decode()
    if who.startswith("reader"):
        headers["Authorization"] = f"Basic {token}"
    if who == "reader+tenant":
        headers["X-AgentLedger-Tenant"] = "acme"
    elif who == "tenant-key-like":
        headers["X-ClickHouse-Key"] = "al_000000000000_" + "x" * 32
    elif who == "garbage":
        headers["Authorization"] = "Basic !!!notbase64"
    params = {k: v for k, v in params.items() if k not in ("user", "password")}
    params.setdefault("query", query)
    status, answer_headers, answer = _sql(server, method, params, body, headers)
    if status != 200:
        assert status in ERROR_STATUSES, (status, answer[:200])
        assert answer_headers["x-clickhouse-exception-code"].isdigit()
        assert answer.startswith(b"Code: "), answer[:200]
    assert _sql(server, "GET", {}, b"", {})[0] == 200  # still serving
