"""The fast path for spans: the engine decodes the OTLP protobuf of a spool segment itself.

Turning spans into Python objects and then Arrow columns costs about 10 µs a span on top of
the insert; ClickHouse reads the same protobuf and builds the attribute maps in about 3 µs a
span, without the GIL. So the receiver spools the raw request and the writer runs one
``INSERT ... SELECT ... FROM file(segment, 'Protobuf')`` per segment. The SQL reproduces the
reference decoder (:mod:`agentledger.collector.spans`) byte for byte; a test holds the two to
the same rows.

What the SQL does not attempt: an attribute holding a map (``kvlist_value``; rare in agent
telemetry, where attributes are flat), or an array holding an array or a map. The insert stops
at the first attribute list with one; a probe then finds those requests, the insert runs again
without them and the writer decodes them in Python.

A segment is inserted in blocks of a fixed size, cut the same way on every run (one thread,
fixed block sizes), and ClickHouse deduplicates each block by the insert's token and its index.
So the engine works a block at a time, not a segment at a time, and a replay stores nothing
twice: after a crash in the middle of an insert, and after an insert stopped by a deep value (the
blocks written before it are the same in the insert that skips the deep requests).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO, Protocol

from agentledger.collector.spans import SPAN_KINDS, STATUS_CODES
from agentledger.collector.spool import RawRequest
from agentledger.storage.store import LocalEngine, Store, StoreError

__all__ = [
    "MESSAGE",
    "SCHEMA",
    "EngineStore",
    "deep_requests_sql",
    "insert_requests",
    "insert_sql",
    "only_resource_spans",
]

MESSAGE = "TenantRequest"
SCHEMA = Path(__file__).with_name("otlp_traces.proto")

_PRESENCE = (
    "value Enum8('none' = 0, 'string_value' = 1, 'bool_value' = 2, 'int_value' = 3, "
    "'double_value' = 4, 'array_value' = 5, 'kvlist_value' = 6, 'bytes_value' = 7)"
)
_SCALARS = (
    "string_value String, bool_value Bool, int_value Int64, double_value Float64, "
    "bytes_value String"
)
# Values inside arrays: scalars, and the presence that tells a nested container.
_INNER = f"Tuple({_SCALARS}, {_PRESENCE})"
_VALUE = f"Tuple({_SCALARS}, array_value Tuple(values Array({_INNER})), {_PRESENCE})"
_KVS = f"Array(Tuple(key String, value {_VALUE}))"
_SPAN = (
    "Tuple(trace_id String, span_id String, trace_state String, parent_span_id String, "
    "name String, kind Int32, start_time_unix_nano UInt64, end_time_unix_nano UInt64, "
    f"attributes {_KVS}, events Array(Tuple(time_unix_nano UInt64, name String, "
    f"attributes {_KVS})), links Array(Tuple(trace_id String, span_id String, "
    f"trace_state String, attributes {_KVS})), status Tuple(message String, code Int32))"
)
STRUCTURE = (
    f"resource_spans Array(Tuple(resource Tuple(attributes {_KVS}), scope_spans Array(Tuple("
    f"scope Tuple(name String, version String), spans Array({_SPAN}))))), "
    "position UInt64, tenant String"
)

_RESOURCE_SPANS_TAG = 0x0A  # field 1, length-delimited
_POSITION_TAG = b"\x70"  # field 14, varint
_TENANT_TAG = b"\x7a"  # field 15, length-delimited
_DEEP = "agentledger: values nested too deep for the engine"
_THROW_IF_CODE = 395
_SETTINGS = {
    # The packaged file, by absolute path: an inline ("string") schema would be cached by the
    # engine in a folder under the working directory.
    "format_schema": f"{SCHEMA}:{MESSAGE}",
    "input_format_protobuf_oneof_presence": "1",
}
# Blocks cut the same way on every run (see the module doc): one thread reads the file (and
# renders its requests' attributes) and writes the table, spans are joined in chunks of at most
# ``_CHUNK_SPANS`` and written in blocks of at least ``BLOCK_SPANS``. A full spool segment
# (~47,000 spans at 16 MiB) is one block, so one part: with 32,768-span blocks it was two or
# three, and the merges that combine them cost 3.5-3.8 instead of 2.1-2.2 µs a span in
# benchmarks/ingest.py (interleaved runs; the same peak memory, as the engine parses a segment's
# requests at once either way).
BLOCK_SPANS = 131072
_CHUNK_SPANS = 8192
_INSERT_SETTINGS = {
    # A byte bound on the engine's blocks besides the row bounds: without it, peak RSS in
    # benchmarks/ingest.py rose from ~900 to ~1,140 MiB at 24 MiB segments. (It does not cut the
    # parse of a segment's requests: the engine counts ~8 bytes a request for this schema.)
    "input_format_max_block_size_bytes": str(4 << 20),
    "max_threads": "1",
    "max_insert_threads": "1",
    "min_insert_block_size_bytes": "0",
}


class EngineStore(Store, LocalEngine, Protocol):
    """A store that can decode OTLP files itself."""


def insert_requests(
    store: EngineStore,
    table: str,
    requests: list[RawRequest],
    dedup_token: str,
    block_spans: int = BLOCK_SPANS,
) -> list[int]:
    """Insert the spans of ``requests`` into ``table``; return the positions of the requests
    left to the reference decoder (values nested deeper than the SQL renders)."""
    with store.scratch_file(".otlp") as path:
        with path.open("wb") as out:
            for position, request in enumerate(requests):
                _write_delimited(out, request, position)
        try:
            store.command(insert_sql(table, path, None, dedup_token, block_spans))
            return []
        except StoreError as exc:
            if exc.code != _THROW_IF_CODE or _DEEP not in str(exc):
                raise
        rows = store.query_arrow(deep_requests_sql(path)).to_pylist()
        deep = [row["position"] for row in rows]
        if len(deep) < len(requests):
            store.command(insert_sql(table, path, deep, dedup_token, block_spans))
    return deep


def only_resource_spans(payload: bytes) -> bool:
    """Whether the top level of a serialized ``ExportTraceServiceRequest`` holds nothing but
    ``resource_spans`` (field 1), so no field of its own can stand in for the position and
    tenant appended after it. Nested unknown fields are harmless: the engine's schema is a subset
    of OTLP's and skips them. Reads one tag and length per ``ResourceSpans``, not the spans."""
    at, end = 0, len(payload)
    while at < end:
        if payload[at] != _RESOURCE_SPANS_TAG:
            return False
        at, length, shift = at + 1, 0, 0
        while True:
            if at == end or shift > 63:
                return False
            byte = payload[at]
            at += 1
            length |= (byte & 0x7F) << shift
            if byte < 0x80:
                break
            shift += 7
        at += length
    return at == end


def _write_delimited(out: BinaryIO, request: RawRequest, position: int) -> None:
    """``request`` as one varint-delimited ``TenantRequest``, written in pieces (the payload is
    a view of the spool segment: it is not copied)."""
    tenant = request.tenant.encode()
    trailer = b"".join(
        (_POSITION_TAG, _varint(position), _TENANT_TAG, _varint(len(tenant)), tenant)
    )
    out.write(_varint(len(request.payload) + len(trailer)))
    out.write(request.payload)
    out.write(trailer)


def _varint(value: int) -> bytes:
    out = bytearray()
    while value > 0x7F:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _quote(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _source(path: Path) -> str:
    """The table function reading a file of varint-delimited ``TenantRequest`` messages."""
    return f"file({_quote(str(path))}, 'Protobuf', {_quote(STRUCTURE)})"


def _settings(dedup_token: str | None = None, block_spans: int = BLOCK_SPANS) -> str:
    values = dict(_SETTINGS)
    if dedup_token:
        values.update(
            _INSERT_SETTINGS,
            max_block_size=str(min(block_spans, _CHUNK_SPANS)),
            min_insert_block_size_rows=str(block_spans),
            insert_deduplication_token=dedup_token,
        )
    return "SETTINGS " + ", ".join(f"{key} = {_quote(value)}" for key, value in values.items())


def _double(x: str) -> str:
    """format_double in SQL: ClickHouse already prints the shortest round-trip digits with the
    same switch to exponent form; only the '+' of a positive exponent and NaN/Infinity differ."""
    text = f"toString({x})"
    return (
        f"multiIf(isNaN({x}), 'NaN', isInfinite({x}), if({x} > 0, 'Infinity', '-Infinity'), "
        f"position({text}, 'e') > 0 AND position({text}, 'e-') = 0, "
        f"replaceOne({text}, 'e', 'e+'), {text})"
    )


_SHORT_ESCAPES = {
    92: "char(92)",
    34: "char(34)",
    8: "'b'",
    12: "'f'",
    10: "'n'",
    13: "'r'",
    9: "'t'",
}


def _json_string(x: str) -> str:
    """A JSON string as Python's json.dumps(ensure_ascii=False) writes it (ClickHouse's
    toJSONString differs in details: upper-case hex in its escapes, '/' escaped)."""
    escapes = ", ".join(
        f"ascii(c) = {code}, concat(char(92), {text})" for code, text in _SHORT_ESCAPES.items()
    )
    escaped = (
        f"arrayStringConcat(arrayMap(c -> multiIf({escapes}, ascii(c) < 32, "
        f"concat(char(92), 'u00', lower(hex(c))), c), splitByString('', {x})))"
    )
    return (
        f"concat(char(34), if(match({x}, '[[:cntrl:]\"]') OR position({x}, char(92)) > 0, "
        f"{escaped}, {x}), char(34))"
    )


def _scalar(v: str, json: bool) -> str:
    """Text of a scalar AnyValue ``v``; as a JSON value inside arrays and maps."""
    string = _json_string(f"{v}.string_value") if json else f"{v}.string_value"
    raw_bytes = f"base64Encode({v}.bytes_value)"
    return (
        f"multiIf({v}.value = 'string_value', {string}, "
        f"{v}.value = 'bool_value', if({v}.bool_value, 'true', 'false'), "
        f"{v}.value = 'int_value', toString({v}.int_value), "
        f"{v}.value = 'double_value', {_double(f'{v}.double_value')}, "
        f"{v}.value = 'bytes_value', {_json_string(raw_bytes) if json else raw_bytes}, "
        f"{_quote('null') if json else _quote('')})"
    )


def _text(v: str) -> str:
    """``anyvalue.as_string`` in SQL, for scalars and arrays of scalars."""
    array = (
        f"concat('[', arrayStringConcat(arrayMap(x -> {_scalar('x', True)}, "
        f"{v}.array_value.values), ','), ']')"
    )
    return f"if({v}.value = 'array_value', {array}, {_scalar(v, False)})"


def _map(kvs: str) -> str:
    return (
        f"CAST((arrayMap(a -> a.key, {kvs}), arrayMap(a -> {_text('a.value')}, {kvs})), "
        "'Map(String, String)')"
    )


def _deep(kvs: str) -> str:
    """True when an attribute list holds what the SQL does not render (see module doc). Tuple
    elements of whole arrays, not lambdas: the check runs over every attribute of every span."""
    value = f"tupleElement({kvs}, 'value')"
    inner = (
        f"arrayFlatten(tupleElement(tupleElement(tupleElement({value}, 'array_value'), "
        "'values'), 'value'))"
    )
    return (
        f"has(tupleElement({value}, 'value'), 'kvlist_value') "
        f"OR has({inner}, 'array_value') OR has({inner}, 'kvlist_value')"
    )


def _checked_map(kvs: str) -> str:
    """The map of ``kvs``, or a stop at the first list the SQL cannot render: checked list by
    list inside the rendering lambda, an expression far cheaper for the engine to analyse than
    one over all of a request's lists."""
    return f"if(throwIf({_deep(kvs)}, {_quote(_DEEP)}) = 0, {_map(kvs)}, map())"


_SPANS_OF_REQUEST = (
    "arrayFlatten(tupleElement(arrayFlatten(tupleElement(resource_spans, 'scope_spans')), 'spans'))"
)
# Every attribute list of a request (resources, spans, events, links), from whole columns.
_REQUEST_LISTS = (
    "arrayConcat(tupleElement(tupleElement(resource_spans, 'resource'), 'attributes'), "
    f"tupleElement({_SPANS_OF_REQUEST}, 'attributes'), "
    f"tupleElement(arrayFlatten(tupleElement({_SPANS_OF_REQUEST}, 'events')), 'attributes'), "
    f"tupleElement(arrayFlatten(tupleElement({_SPANS_OF_REQUEST}, 'links')), 'attributes'))"
)


def _hex_id(raw: str) -> str:
    """columns.hex_id: lowercase hex, '' for an absent or all-zero id."""
    return f"if(replaceAll({raw}, '\\0', '') = '', '', lower(hex({raw})))"


def _named(values: tuple[str, ...], code: str) -> str:
    """``values[code]``, or the first value for a code out of range (as the reference does);
    ``transform`` costs the engine's analysis less than indexing an array literal."""
    codes = ", ".join(map(str, range(len(values))))
    names = ", ".join(_quote(value) for value in values)
    return f"transform({code}, [{codes}], [{names}], {_quote(values[0])})"


_COLUMNS = {
    "Timestamp": "fromUnixTimestamp64Nano(toInt64(span.start_time_unix_nano))",
    "TraceId": "lower(hex(span.trace_id))",
    "SpanId": "lower(hex(span.span_id))",
    "ParentSpanId": _hex_id("span.parent_span_id"),
    "TraceState": "span.trace_state",
    "SpanName": "span.name",
    "SpanKind": _named(SPAN_KINDS, "span.kind"),
    "ServiceName": "maps[1]['service.name']",
    "ResourceAttributes": "maps[1]",
    "ScopeName": "scope_name",
    "ScopeVersion": "scope_version",
    "SpanAttributes": "maps[2]",
    "Duration": (
        "if(span.end_time_unix_nano > span.start_time_unix_nano, "
        "span.end_time_unix_nano - span.start_time_unix_nano, 0)"
    ),
    "StatusCode": _named(STATUS_CODES, "span.status.code"),
    "StatusMessage": "span.status.message",
    "Events.Timestamp": "arrayMap(e -> fromUnixTimestamp64Nano(toInt64(e.time_unix_nano)), "
    "span.events)",
    "Events.Name": "arrayMap(e -> e.name, span.events)",
    "Events.Attributes": "arraySlice(maps, 3, length(span.events))",
    "Links.TraceId": f"arrayMap(l -> {_hex_id('l.trace_id')}, span.links)",
    "Links.SpanId": f"arrayMap(l -> {_hex_id('l.span_id')}, span.links)",
    "Links.TraceState": "arrayMap(l -> l.trace_state, span.links)",
    "Links.Attributes": "arraySlice(maps, 3 + length(span.events))",
    "TenantId": "tenant",
}


def deep_requests_sql(path: Path) -> str:
    """The positions of the requests the insert must leave to the reference decoder."""
    return (
        f"SELECT position FROM {_source(path)} WHERE {_deep(f'arrayFlatten({_REQUEST_LISTS})')} "
        f"ORDER BY position {_settings()}"
    )


def insert_sql(
    table: str,
    path: Path,
    skip: list[int] | None,
    dedup_token: str | None,
    block_spans: int = BLOCK_SPANS,
) -> str:
    """INSERT of every span in ``path`` but those of the requests at positions ``skip``; with
    ``skip`` None, the insert stops at the first attribute list it cannot render."""
    columns = ", ".join(f"`{name}`" for name in _COLUMNS)
    values = ",\n    ".join(_COLUMNS.values())
    where = f"position NOT IN ({', '.join(map(str, skip or [-1]))})"
    requests = f"SELECT tenant, resource_spans FROM {_source(path)} WHERE {where}"
    render = _checked_map if skip is None else _map
    return (
        f"INSERT INTO {table} ({columns})\n"
        f"SELECT\n    {values}\n"
        f"FROM ({_spans(requests, render)})\n"
        f"{_settings(dedup_token, block_spans)}"
    )


def _spans(requests: str, render: Callable[[str], str]) -> str:
    """One row per span of ``requests``: tenant, scope, the span, and ``maps``: the rendered
    attribute maps of its resource, itself, each event and each link, in that order.

    Every attribute list of a resource, its own and its spans', is rendered by one lambda before
    the spans are joined: the engine's analysis of a map expression costs more than rendering
    thousands of spans and is paid once per insert, and a resource's attributes (ten to twenty
    from an SDK: sdk, host, process, k8s) are rendered once, not once per span. Against rendering
    after the join, ``benchmarks/writer.py --segment-mib 16 --seconds 30`` stored 147,700 against
    132,900 spans/s, and with ``--sdk-resource`` (15 resource attributes) ~87,000 against ~74,000
    (15.6 against 17.8 µs CPU a span, merges included), at the same peak memory. The spans of a
    resource's scopes are joined side by side with their scopes and maps (whole resource-level
    arrays are never carried through the join: it would copy them per span).
    """
    lists = (
        "arrayConcat([[resource_kvs]], arrayMap(span -> arrayConcat([span.attributes], "
        "arrayMap(e -> e.attributes, span.events), arrayMap(l -> l.attributes, span.links)), "
        "spans))"
    )
    resources = (
        "SELECT tenant, resource_spans.resource.attributes AS resource_kvs, "
        "arrayFlatten(arrayMap(s -> s.spans, resource_spans.scope_spans)) AS spans, "
        "arrayFlatten(arrayMap(s -> arrayWithConstant(length(s.spans), s.scope), "
        f"resource_spans.scope_spans)) AS scopes FROM ({requests}) ARRAY JOIN resource_spans"
    )
    rendered = (
        f"SELECT tenant, spans, scopes, arrayMap(lists -> arrayMap(kvs -> {render('kvs')}, "
        f"lists), {lists}) AS all_maps, all_maps[1][1] AS resource_map, "
        f"arraySlice(all_maps, 2) AS span_maps FROM ({resources})"
    )
    return (
        "SELECT tenant, scope.name AS scope_name, scope.version AS scope_version, span, "
        "arrayConcat([resource_map], span_maps) AS maps "
        f"FROM ({rendered}) ARRAY JOIN spans AS span, scopes AS scope, span_maps"
    )
