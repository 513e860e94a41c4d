"""ClickHouse's HTTP interface over the embedded chDB session.

chDB locks its data directory to the one process that opens it, so every other process
(dashboards, CLI, notebooks, curl, any ClickHouse client) reaches the embedded data through this
endpoint exactly as it would reach a ClickHouse server. Read-only users are confined by the engine
itself: each statement is parsed by the engine (``formatQuery``, then ``EXPLAIN AST``) and runs
only if its syntax tree is a read that reaches no host resource, and then with ``readonly=1``.

Tenant users see one tenant's rows only. A tenant user is a managed API key with the ``read``
scope (user name = the key id, password = the secret; or the secret alone as ``X-ClickHouse-Key``),
or any user that sends ``X-AgentLedger-Tenant: T`` (the dashboards do, for their logged-in users).
Their queries are confined by the engine, not by rewriting SQL text: the analyzer resolves the
query (``EXPLAIN QUERY TREE``), every table it reads must be a tenant table of this database (a
MergeTree with a ``TenantId`` column) or a system table holding no data, no table function may
re-read the database behind the filter (``merge``, ``view``, ``loop``...) and no dictionary may be
read; then the query runs with ``additional_table_filters`` pinning ``TenantId`` on each tenant
table, which the engine applies to every read of it (joins, subqueries, CTEs, ``IN``) and which
``readonly=1`` forbids changing. (Row policies would be the server's way, but the embedded engine
has no access control storage to hold them.)
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import re
import tempfile
import uuid
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from agentledger.collector.auth import KeyRing
from agentledger.collector.keys import key_id_of
from agentledger.storage._sql_request import (
    BAD_ARGUMENTS,
    NOT_IMPLEMENTED,
    QUERY_IS_TOO_LARGE,
    UNKNOWN_SETTING,
    HttpParams,
    InsertData,
    SqlRequestError,
    decode_body,
    escaped,
    form_fields,
    settings_list,
    split_params,
    split_statement,
    sql_string,
)
from agentledger.storage.chdb_store import ChdbStore, RawResult
from agentledger.storage.http_store import TENANT_HEADER
from agentledger.storage.store import StoreError

__all__ = ["SqlUser", "build_sql_app"]

_READONLY = 164
_UNKNOWN_DATABASE = 81
_ACCESS_DENIED = 497
_AUTHENTICATION_FAILED = 516
_ERROR_NAMES = {
    BAD_ARGUMENTS: "BAD_ARGUMENTS",
    NOT_IMPLEMENTED: "NOT_IMPLEMENTED",
    62: "SYNTAX_ERROR",
    _UNKNOWN_DATABASE: "UNKNOWN_DATABASE",
    89: "UNKNOWN_COMPRESSION_METHOD",
    UNKNOWN_SETTING: "UNKNOWN_SETTING",
    _READONLY: "READONLY",
    _ACCESS_DENIED: "ACCESS_DENIED",
    QUERY_IS_TOO_LARGE: "QUERY_IS_TOO_LARGE",
    271: "CANNOT_DECOMPRESS",
    _AUTHENTICATION_FAILED: "AUTHENTICATION_FAILED",
}
# ClickHouse's exceptionCodeToHTTPStatus; anything else is a 500, READONLY included.
_HTTP_STATUS = {
    **dict.fromkeys((6, 8, 15, 25, 26, 27, 36, 37, 38, 41, 44, 53, 62, 72, 117, 123), 400),
    **dict.fromkeys((167, 168, 223, 321, 376, 427, 441, 675, 676), 400),
    **dict.fromkeys((46, 47, 50, 56, 60, 63, 73, 78, 81, 115, 152, 336, 511), 404),
    **dict.fromkeys((192, 193, 497, 512), 403),
    **dict.fromkeys((194, _AUTHENTICATION_FAILED), 401),
    **{48: 501, 76: 503, 159: 408, 209: 503, 229: 413, 381: 411, 439: 503, 779: 415},
}
# Roots of the statements that only read and produce output (EXPLAIN AST class names).
_READ_ROOTS = frozenset(
    {
        "SelectWithUnionQuery", "Explain", "DescribeQuery", "ShowTables", "ShowColumns",
        "ShowIndexes", "ShowFunctions", "ShowSetting", "ShowEngineQuery", "ExistsTableQuery",
        "ExistsDatabaseQuery", "ExistsViewQuery", "ExistsDictionaryQuery", "ShowCreateTableQuery",
        "ShowCreateViewQuery", "ShowCreateDatabaseQuery", "ShowCreateDictionaryQuery",
    }
)  # fmt: skip
# Table functions that compute or re-read the database; every other one may reach the host.
_PURE_TABLE_FUNCTIONS = frozenset(
    {
        "values", "sqlstandardvalues", "numbers", "numbers_mt", "zeros", "zeros_mt", "primes",
        "generate_series", "generateseries", "generaterandom", "null", "view", "format", "merge",
        "loop",
    }
)  # fmt: skip
# Pinned after the reader's own settings: the engine then refuses any change of them. Readers'
# queries run at the lowest CPU priority (nice 19, where the process may set it: CAP_SYS_NICE),
# so a storm of dashboard queries cannot take the cores of the collector beside them.
_READER_SETTINGS = {
    "allow_python_table_function": "0",
    "readonly": "1",
    "os_thread_priority": "19",
}
# Defaults of read-only users (dashboards), which they may override: half the cores, so a storm
# of dashboard queries leaves the collector (in this same process) the rest and ingest its rate.
_READER_DEFAULTS = {"max_threads": str(max(1, (os.cpu_count() or 2) // 2))}
# clickhouse-connect sends these with every request; DDL neither parses input nor formats output.
_CLIENT_DEFAULTS = frozenset(
    {"cancel_http_readonly_queries_on_client_close", "cast_string_to_dynamic_use_inference"}
)
# What a tenant user may run: reads, and statements that show names and schemas but no rows.
_TENANT_ROOTS = frozenset(
    {
        "SelectWithUnionQuery", "DescribeQuery", "ShowTables", "ShowColumns", "ExistsTableQuery",
        "ShowCreateTableQuery",
    }
)  # fmt: skip
# Table functions that read no table: ``merge``, ``loop`` and ``view`` re-read the database in
# ways the tenant filter does not follow (``merge`` reads its tables unfiltered).
_TENANT_TABLE_FUNCTIONS = frozenset(
    {
        "values", "sqlstandardvalues", "numbers", "numbers_mt", "zeros", "zeros_mt", "primes",
        "generate_series", "generateseries", "generaterandom", "null", "format",
    }
)  # fmt: skip
# System tables that hold settings and catalogues, never rows of anyone (clients read some).
_TENANT_SYSTEM_TABLES = frozenset(
    {
        "system.one", "system.numbers", "system.numbers_mt", "system.zeros", "system.zeros_mt",
        "system.settings", "system.functions", "system.table_functions", "system.formats",
        "system.data_type_families", "system.time_zones", "system.table_engines",
        "system.collations",
    }
)  # fmt: skip
# Tenant-bearing tables a tenant still may not read: key hashes are nobody's business.
_PRIVATE_TABLES = frozenset({"api_keys"})
# Tables of this database without tenant rows that every tenant may read whole: how far each
# analytics job has got (a job name and a time), which pages show as "data as of".
_SHARED_TABLES = frozenset({"job_watermarks"})
# Functions that read a dictionary (whose source may be a file, a URL or a program) or a Join
# table (which no tenant filter reaches).
_TABLE_READING_FUNCTIONS = ("dict", "joinget")
# Every table, whether a tenant table (a MergeTree of this database with a TenantId column), and
# whether its TenantId '' rows are shared by all (model_prices: the shipped price catalog).
_TABLES = (
    "SELECT t.database AS db, t.name AS table,"
    " t.engine LIKE '%MergeTree' AND c.table != '' AS tenant,"
    " c.default_expression = '\\'\\'' AS shared"
    " FROM system.tables AS t LEFT JOIN (SELECT database, table, default_expression"
    " FROM system.columns WHERE name = 'TenantId') AS c"
    " ON t.database = c.database AND t.name = c.table"
)
# A table or table function of the analyzer's tree. The name is the last field but for
# ", final: 1" (a table read with FINAL); greedy, so an alias that spells out another
# ", table_name: ..." cannot stand in for the real one. A line this does not match is refused.
_TREE_TABLE = re.compile(
    r"^ *(TABLE|TABLE_FUNCTION) id: \d+.*, (?:table_name|table_function_name): ([^,]*)"
    r"(?:, final: 1)?$"
)
_TEXT_FORMATS = ("pretty", "vertical", "markdown", "values", "customseparated", "template", "tskv")


@dataclass(frozen=True)
class SqlUser:
    """An account of the endpoint; a ``readonly`` one runs only what the engine parses as reads."""

    password: str
    readonly: bool


@dataclass(frozen=True)
class _Identity:
    """Who sent a request: a user name, and the tenant whose rows alone it may see (if any)."""

    user: str
    tenant: str | None


@dataclass(frozen=True)
class _Job:
    user: str
    readonly: bool
    tenant: str | None
    params: dict[str, str]
    content_type: str
    content_encoding: str
    body: bytes


@dataclass(frozen=True)
class _Outcome:
    result: RawResult
    format: str


def build_sql_app(
    store: ChdbStore,
    users: Mapping[str, SqlUser],
    max_body_bytes: int = 256 << 20,
    keys: KeyRing | None = None,
    key_refresh_seconds: float = 2.0,
) -> Starlette:
    """The ASGI app serving ClickHouse's HTTP interface (``/`` and ``/ping``) over ``store``.

    ``keys`` resolves managed API keys (scope ``read``) to tenant users; without it the app keeps
    its own :class:`KeyRing` over ``store``, refreshed every ``key_refresh_seconds`` while it
    serves, so a revoked key fails within that time.
    """
    engine = _Engine(store, max_body_bytes)
    ring: list[KeyRing] = [keys] if keys is not None else []

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        if keys is not None:
            yield
            return
        own = await run_in_threadpool(KeyRing, None, store, key_refresh_seconds)
        ring.append(own)
        try:
            yield
        finally:
            own.close()

    async def ping(request: Request) -> Response:
        return PlainTextResponse("Ok.\n")

    async def sql(request: Request) -> Response:
        headers = engine.headers(request.query_params.get("query_id") or str(uuid.uuid4()))
        if request.method == "GET" and "query" not in request.query_params:
            return PlainTextResponse("Ok.\n", headers=headers)
        try:
            who = _authenticate(request, users, ring[0] if ring else None)
            user = users.get(who.user)
            job = _Job(
                user=who.user,
                # GET is read-only as in ClickHouse; a tenant only ever reads.
                readonly=user is None
                or user.readonly
                or request.method == "GET"
                or bool(who.tenant),
                tenant=who.tenant,
                params=dict(request.query_params),
                content_type=request.headers.get("content-type", ""),
                content_encoding=request.headers.get("content-encoding", ""),
                body=await _read_body(request, max_body_bytes),
            )
            outcome = await run_in_threadpool(engine.run, job)
        except (SqlRequestError, StoreError) as exc:
            return engine.error(exc, headers)
        return Response(outcome.result.data, headers=engine.success(outcome, headers))

    routes = [Route("/", sql, methods=["GET", "POST"]), Route("/ping", ping, methods=["GET"])]
    return Starlette(routes=routes, lifespan=lifespan)


class _Node(NamedTuple):
    """One row of ``EXPLAIN AST``: depth, class (``Function``, ``SelectQuery``...) and name."""

    depth: int
    kind: str
    name: str


class _Engine:
    """The chDB session with ClickHouse's HTTP semantics; :meth:`run` runs in a worker thread."""

    def __init__(self, store: ChdbStore, max_body_bytes: int) -> None:
        self._store = store
        self._limit = max_body_bytes
        self._version, self._timezone = (
            store.raw("SELECT version(), timezone()", "TSVRaw").decode().split()
        )
        names = store.query_arrow("SELECT lower(name) AS name FROM system.table_functions")
        table_functions = frozenset(names["name"].to_pylist())
        self._host_functions = table_functions - _PURE_TABLE_FUNCTIONS
        self._untenanted_functions = table_functions - _TENANT_TABLE_FUNCTIONS
        defaults = store.query_arrow("SELECT name, value FROM system.settings").to_pydict()
        self._defaults = dict(zip(defaults["name"], defaults["value"], strict=True))

    def run(self, job: _Job) -> _Outcome:
        body = decode_body(job.body, job.content_encoding, self._limit)
        params = dict(job.params)
        if job.content_type.lower().startswith("multipart/form-data"):
            params.update(form_fields(job.content_type, body))
            body = b""
        http = split_params(params)
        if http.database not in ("", self._store.database):
            raise SqlRequestError(
                f"Database {http.database} is not served here: this endpoint serves "
                f"{self._store.database}; qualify other tables with their database",
                _UNKNOWN_DATABASE,
            )
        statement = split_statement(http.query.encode() + b"\n" + body if http.query else body)
        canonical, root = self._parse(statement.query, http.query_params, job)
        fmt = _output_format(canonical) or http.default_format
        if job.readonly:
            if http.settings.get("readonly", "1") != "1":
                raise _refusal(job.user, "a read-only user cannot change readonly")
            pinned = dict(_READER_SETTINGS)
            if job.tenant is not None:
                pinned = self._confine(canonical, root, http, job.tenant, job.user) | pinned
            own = {k: v for k, v in http.settings.items() if k not in pinned}
            sql = f"{statement.query}\nSETTINGS {settings_list(_READER_DEFAULTS | own | pinned)}"
        elif root in ("Set", "UseQuery"):
            raise SqlRequestError(
                "SET and USE would change the session that every client shares: pass settings "
                "as URL parameters and qualify table names",
                NOT_IMPLEMENTED,
            )
        elif statement.insert is not None:
            return _Outcome(self._insert(statement.insert, http), fmt)
        elif root in _READ_ROOTS and http.settings:
            sql = f"{statement.query}\nSETTINGS {settings_list(http.settings)}"
        else:
            self._check_unapplied(http.settings)
            sql = statement.query
        return _Outcome(self._store.raw_result(sql, fmt, http.query_params), fmt)

    def _parse(self, query: str, params: dict[str, str], job: _Job) -> tuple[str, str]:
        """The engine's canonical text of ``query`` and its AST root; refuses what a reader may not.

        ``formatQuery`` gets the text as a parameter, so it cannot run anything; it fails unless
        the text is exactly one statement, and it drops inline INSERT data. Only that canonical
        text goes to ``EXPLAIN AST``, whose tree is then checked for a reader. The canonical text
        also shows the FORMAT clause, on a line of its own.
        """
        canonical = self._store.raw(
            "SELECT formatQuery({q:String})", "TSVRaw", {"q": escaped(query)}
        ).decode(errors="replace")  # literals may hold any bytes; names that matter are ASCII
        tree = self._store.raw(f"EXPLAIN AST {canonical}", "JSONCompactColumns", params)
        rows = json.loads(tree.decode(errors="replace"))
        nodes = [_node(row) for row in rows[0]]
        if job.readonly:
            self._check_read(nodes, job.user)
        if job.tenant is not None:  # before the analyzer evaluates any of it (scalar subqueries)
            for node in nodes:
                if node.kind == "Function" and node.name.lower() in self._untenanted_functions:
                    raise _denied(job.user, f"{node.name}() could read around the tenant filter")
        return canonical, nodes[0].kind

    def _check_read(self, nodes: list[_Node], user: str) -> None:
        """Refuse a tree that is not a read, writes INTO OUTFILE, has a SETTINGS clause or calls a
        function that reaches the host.
        """
        if nodes[0].kind not in _READ_ROOTS:
            raise _refusal(user, f"{nodes[0].kind} is not a read")
        ancestors: list[str] = []
        for node in nodes:
            del ancestors[node.depth :]
            parent = ancestors[-1] if ancestors else ""
            if parent in _READ_ROOTS and node.kind == "Literal":
                raise _refusal(user, "INTO OUTFILE would write a file on the server")
            if parent == "Explain" and node.kind not in _READ_ROOTS | {"Set", "Identifier"}:
                raise _refusal(user, f"EXPLAIN of {node.kind} is not a read")
            if node.kind == "Set" and parent != "Explain":  # the engine lets subqueries set any
                raise _refusal(user, "a read-only user cannot change settings")
            if node.kind == "Function" and node.name.lower() in self._host_functions:
                raise _refusal(user, f"{node.name}() reaches outside the database")
            if node.kind == "Function" and node.name.lower().startswith(_TABLE_READING_FUNCTIONS):
                raise _refusal(user, f"{node.name}() reads a source that may be outside it")
            ancestors.append(node.kind)

    def _confine(
        self, canonical: str, root: str, http: HttpParams, tenant: str, user: str
    ) -> dict[str, str]:
        """Refuse what the tenant filter cannot follow; return the settings that apply it.

        The filter pins ``TenantId`` on each tenant table and empties every other table but the
        harmless system ones, so that even what the analyzer evaluates while resolving the query
        (scalar subqueries, folded constants, their error messages) sees the tenant's rows only.
        """
        if root not in _TENANT_ROOTS:
            raise _denied(user, f"{root} is not available to a tenant user")
        if "additional_table_filters" in http.settings:
            raise _denied(user, "a tenant user cannot set additional_table_filters")
        filters, allowed = {}, set(_TENANT_SYSTEM_TABLES)
        for row in self._store.query_arrow(_TABLES).to_pylist():
            name = f"{row['db']}.{row['table']}"
            mine = row["db"] == self._store.database and row["table"] not in _PRIVATE_TABLES
            if mine and row["tenant"]:
                allowed.add(name)
                shared = "'', " if row["shared"] else ""
                filters[name] = f"TenantId IN ({shared}{sql_string(tenant)})"
            elif mine and row["table"] in _SHARED_TABLES:
                allowed.add(name)
            elif name not in _TENANT_SYSTEM_TABLES:
                filters[name] = "0"
        listed = ", ".join(f"{sql_string(t)}: {sql_string(f)}" for t, f in filters.items())
        confined = {
            "additional_table_filters": "{" + listed + "}",
            "enable_analyzer": "1",
            "use_query_cache": "0",
        }
        if root == "SelectWithUnionQuery":
            self._check_tenant_reads(canonical, http.query_params, confined, allowed, user)
        return confined

    def _check_tenant_reads(
        self,
        canonical: str,
        params: dict[str, str],
        confined: Mapping[str, str],
        allowed: set[str],
        user: str,
    ) -> None:
        """Every table and table function the analyzer resolves must be allowed. It resolves
        under the tenant filter already, read-only."""
        query = "\n".join(line for line in canonical.splitlines() if not line.startswith("FORMAT "))
        settings = settings_list({**confined, **_READER_SETTINGS})
        tree = self._store.raw(
            f"EXPLAIN QUERY TREE {query}\nSETTINGS {settings}", "TSVRaw", params
        ).decode(errors="replace")
        for line in tree.splitlines():
            match = _TREE_TABLE.match(line)
            if match is None:
                if line.lstrip().startswith(("TABLE id:", "TABLE_FUNCTION id:")):  # fail closed
                    raise _denied(user, f"cannot tell what {line.strip()!r} reads")
                continue
            kind, name = match.group(1), match.group(2)
            if kind == "TABLE" and name not in allowed:
                raise _denied(user, f"table {name} has no tenant column a filter could apply to")
            if kind == "TABLE_FUNCTION" and name.lower() not in _TENANT_TABLE_FUNCTIONS:
                raise _denied(user, f"table function {name}() could read around the tenant filter")

    def _insert(self, insert: InsertData, http: HttpParams) -> RawResult:
        """Load inline INSERT data as the engine loads files: FROM INFILE, a private temp file."""
        listed = ", ".join(filter(None, (settings_list(http.settings), insert.settings)))
        with tempfile.TemporaryDirectory(prefix="agentledger-insert-") as tmp:
            path = Path(tmp) / "data"
            path.write_bytes(insert.data)
            clause = f" SETTINGS {listed}" if listed else ""
            sql = (
                f"{insert.head} FROM INFILE {sql_string(str(path))}{clause} FORMAT {insert.format}"
            )
            return self._store.raw_result(sql, "TabSeparated", http.query_params)

    def _check_unapplied(self, settings: Mapping[str, str]) -> None:
        """Other statements take no appended SETTINGS (for DDL they would be table settings)."""
        for name, value in settings.items():
            if name not in self._defaults:
                raise SqlRequestError(f"Unknown setting '{name}'", UNKNOWN_SETTING)
            if name not in _CLIENT_DEFAULTS and self._defaults[name] != value:
                raise SqlRequestError(
                    f"Setting {name} can only be given as a URL parameter for queries and "
                    "INSERT ... FORMAT; put it in the statement's own SETTINGS clause",
                    NOT_IMPLEMENTED,
                )

    def headers(self, query_id: str) -> dict[str, str]:
        """What ClickHouse sends with every answer, errors included."""
        return {
            "X-ClickHouse-Query-Id": query_id,
            "X-ClickHouse-Server-Display-Name": "agentledger",
            "X-ClickHouse-Timezone": self._timezone,
        }

    def success(self, outcome: _Outcome, headers: dict[str, str]) -> dict[str, str]:
        """The headers of a result; clients read written and read counters from the summary."""
        result = outcome.result
        summary = {
            "read_rows": result.rows_read,
            "read_bytes": result.bytes_read,
            "written_rows": result.rows_written,
            "written_bytes": result.bytes_written,
            "total_rows_to_read": result.rows_read,
            "result_rows": 0,  # chDB does not count the rows it formats
            "result_bytes": len(result.data),
            "elapsed_ns": int(result.elapsed_s * 1e9),
        }
        return headers | {
            "Content-Type": _content_type(outcome.format),
            "X-ClickHouse-Format": outcome.format,
            "X-ClickHouse-Summary": json.dumps({k: str(v) for k, v in summary.items()}),
        }

    def error(self, exc: SqlRequestError | StoreError, headers: dict[str, str]) -> Response:
        """ClickHouse's error response, which its clients parse for the code and message."""
        message = str(exc)
        if not message.startswith("Code: "):
            message = f"Code: {exc.code}. DB::Exception: {message}. ({_ERROR_NAMES[exc.code]})"
        if "(version " not in message:
            message += f" (version {self._version})"
        headers = headers | {"X-ClickHouse-Exception-Code": str(exc.code)}
        if exc.code == _AUTHENTICATION_FAILED:
            headers["WWW-Authenticate"] = 'Basic realm="ClickHouse server HTTP API"'
        status = _HTTP_STATUS.get(exc.code, 500)
        return PlainTextResponse(message + "\n", status_code=status, headers=headers)


def _node(row: str) -> _Node:
    label = row.lstrip(" ")
    kind, _, rest = label.partition(" ")
    return _Node(len(row) - len(label), kind, rest.partition(" ")[0])


def _refusal(user: str, why: str) -> SqlRequestError:
    return SqlRequestError(f"{user}: Cannot execute query in readonly mode: {why}", _READONLY)


def _denied(user: str, why: str) -> SqlRequestError:
    return SqlRequestError(f"{user}: Not enough privileges: {why}", _ACCESS_DENIED)


def _authenticate(
    request: Request, users: Mapping[str, SqlUser], keys: KeyRing | None
) -> _Identity:
    """The user named by Basic auth, X-ClickHouse-User/Key or user/password URL parameters, and
    the tenant it is confined to.

    Without any, the user is ``default`` with an empty password, as in ClickHouse. Digests are
    compared in constant time, also for an unknown user, so timing tells nothing. A managed API
    key of scope ``read`` is a tenant user: its key id as the user name (or no name at all) and
    its secret as the password; a revoked key fails as soon as ``keys`` has refreshed.
    """
    name, password = _credentials(request)
    shown = "default" if name is None else name
    user = users.get(shown)
    given = hashlib.sha256(password.encode()).digest()
    expected = hashlib.sha256((user.password if user else "").encode()).digest()
    claimed = request.headers.get(TENANT_HEADER)
    if hmac.compare_digest(given, expected) and user is not None:
        if claimed is not None and not claimed.strip():
            raise _denied(shown, f"{TENANT_HEADER} must name a tenant")
        return _Identity(shown, claimed)
    key_id = key_id_of(password)
    if keys is not None and key_id is not None and name in (None, key_id):
        tenant = keys.tenant_for(f"Bearer {password}", "read")
        if tenant is not None:
            if claimed is not None and claimed != tenant:
                raise _denied(key_id, f"this key reads tenant {tenant} only")
            return _Identity(key_id, tenant)
    raise SqlRequestError(
        f"{shown}: Authentication failed: password is incorrect, or there is no user with"
        " such name",
        _AUTHENTICATION_FAILED,
    )


def _credentials(request: Request) -> tuple[str | None, str]:
    """(user name or None when none was given, password) from wherever the client put them."""
    authorization = request.headers.get("authorization", "")
    if authorization[:6].lower() == "basic ":
        try:
            name, _, password = (
                base64.b64decode(authorization[6:], validate=True).decode().partition(":")
            )
        except (binascii.Error, UnicodeDecodeError):
            return "", ""
        return name, password
    if "x-clickhouse-user" in request.headers or "x-clickhouse-key" in request.headers:
        return request.headers.get("x-clickhouse-user"), request.headers.get("x-clickhouse-key", "")
    return request.query_params.get("user"), request.query_params.get("password", "")


async def _read_body(request: Request, limit: int) -> bytes:
    """The request body (chunked or not), refused as soon as it grows past ``limit`` bytes."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise SqlRequestError(f"Request body exceeds {limit} bytes", QUERY_IS_TOO_LARGE)
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise SqlRequestError(f"Request body exceeds {limit} bytes", QUERY_IS_TOO_LARGE)
    return bytes(body)


def _output_format(canonical: str) -> str:
    """The FORMAT clause of the engine's canonical text, which puts it on a line of its own."""
    for line in reversed(canonical.splitlines()):
        if line.startswith("FORMAT "):
            return line.removeprefix("FORMAT ").strip()
    return ""


def _content_type(fmt: str) -> str:
    name = fmt.lower()
    if name.startswith(("tabseparated", "tsv")):
        return "text/tab-separated-values; charset=UTF-8"
    if name.startswith("csv"):
        return "text/csv; charset=UTF-8"
    if name.startswith("json"):
        return "application/json; charset=UTF-8"
    if name.startswith("xml"):
        return "application/xml; charset=UTF-8"
    if name.startswith(_TEXT_FORMATS):
        return "text/plain; charset=UTF-8"
    return "application/octet-stream"
