"""The engine's own OTLP decoding (the fast path) against the reference decoder, on real chDB:
the same requests give the same rows, whatever the attribute values."""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, ArrayValue, KeyValue, KeyValueList
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from agentledger.collector import engine_spans
from agentledger.collector.spans import spans_to_arrow
from agentledger.collector.spool import RawRequest, Spool
from agentledger.collector.writer import Writer
from agentledger.storage.chdb_store import ChdbStore
from agentledger.storage.store import StoreError, query_rows
from tests.conftest import StoredIngestor

_counter = iter(range(1, 1 << 62))

_text = st.text(st.characters(exclude_categories=("Cs",)), max_size=30)
_scalar = st.one_of(
    _text.map(lambda s: AnyValue(string_value=s)),
    st.booleans().map(lambda b: AnyValue(bool_value=b)),
    st.integers(-(1 << 63), (1 << 63) - 1).map(lambda i: AnyValue(int_value=i)),
    st.floats(allow_nan=True, allow_infinity=True).map(lambda f: AnyValue(double_value=f)),
    st.binary(max_size=12).map(lambda b: AnyValue(bytes_value=b)),
    st.just(AnyValue()),
)
_value = st.one_of(
    _scalar,
    st.lists(_scalar, max_size=4).map(lambda xs: AnyValue(array_value=ArrayValue(values=xs))),
    st.lists(st.tuples(st.sampled_from("abcé/"), _scalar), max_size=4).map(
        lambda kvs: AnyValue(
            kvlist_value=KeyValueList(values=[KeyValue(key=k, value=v) for k, v in kvs])
        )
    ),
)
_attributes = st.lists(st.tuples(st.sampled_from(["k", "x.y", "service.name", "é"]), _value))


def _span(attributes: list[tuple[str, AnyValue]], kind: int, code: int) -> Span:
    now = time.time_ns()
    n = next(_counter)
    span = Span(
        trace_id=n.to_bytes(16, "big"),
        span_id=n.to_bytes(8, "big"),
        parent_span_id=(n + 1).to_bytes(8, "big") if n % 2 else b"",
        name=f"span {n}",
        kind=kind,
        start_time_unix_nano=now,
        end_time_unix_nano=now + n,
        trace_state="k=v" if n % 3 else "",
    )
    span.attributes.extend(KeyValue(key=k, value=v) for k, v in attributes)
    span.status.code = code
    span.status.message = "failed" if code == 2 else ""
    event = span.events.add(time_unix_nano=now + 1, name="event")
    event.attributes.extend(KeyValue(key=k, value=v) for k, v in attributes[:2])
    link = span.links.add(trace_id=(n + 7).to_bytes(16, "big"), span_id=bytes(8))
    link.attributes.extend(KeyValue(key=k, value=v) for k, v in attributes[-2:])
    return span


def _request(resource: list[tuple[str, AnyValue]], spans: list[Span]) -> ExportTraceServiceRequest:
    request = ExportTraceServiceRequest()
    resource_spans = request.resource_spans.add()
    resource_spans.resource.attributes.extend(KeyValue(key=k, value=v) for k, v in resource)
    scope_spans = resource_spans.scope_spans.add()
    scope_spans.scope.name, scope_spans.scope.version = "scope", "1.0"
    scope_spans.spans.extend(spans)
    return request


@pytest.fixture(scope="module")
def tables(store: ChdbStore) -> ChdbStore:
    for name in ("fast_spans", "reference_spans"):
        store.command(f"CREATE TABLE {name} AS otel_traces")
    return store


def _rows(store: ChdbStore, table: str, tenant: str) -> list[dict[str, Any]]:
    rows = query_rows(
        store, f"SELECT * FROM {table} WHERE TenantId = {{t:String}} ORDER BY SpanId", {"t": tenant}
    )
    for row in rows:  # NaN != NaN; the text of every value is what is compared
        row.update({key: str(value) for key, value in row.items() if isinstance(value, float)})
    return rows


def _compare(store: ChdbStore, requests: list[ExportTraceServiceRequest]) -> list[int]:
    tenant = f"tenant-{next(_counter)}"
    raw = [RawRequest(tenant, 0, request.SerializeToString()) for request in requests]
    deep = engine_spans.insert_requests(store, "fast_spans", raw, f"{tenant}:fast")
    for position, request in enumerate(requests):
        if position not in deep:
            store.insert_arrow("reference_spans", spans_to_arrow(request, tenant)[0])
    assert _rows(store, "fast_spans", tenant) == _rows(store, "reference_spans", tenant)
    return deep


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    resource=_attributes,
    spans=st.lists(
        st.tuples(_attributes, st.integers(-1, 7), st.integers(-1, 4)), min_size=1, max_size=3
    ),
)
def test_engine_rows_equal_the_reference_decoder(
    tables: ChdbStore, resource: list[Any], spans: list[Any]
) -> None:
    request = _request(resource, [_span(*span) for span in spans])
    _compare(tables, [request])


def test_spans_keep_their_own_resource_and_scope_across_several_of_each(
    tables: ChdbStore,
) -> None:
    """Spans of every scope of a resource are joined side by side with their scopes and maps:
    uneven and empty scopes, a resource without spans, and a resource attribute per resource
    must all land on the right spans."""
    request = ExportTraceServiceRequest()
    for r, scope_sizes in enumerate([(2, 0, 3), (), (1,)]):
        resource_spans = request.resource_spans.add()
        resource_spans.resource.attributes.extend(
            [KeyValue(key="service.name", value=AnyValue(string_value=f"svc-{r}"))]
            + [KeyValue(key=f"r{i}", value=AnyValue(int_value=r * 10 + i)) for i in range(r + 1)]
        )
        for s, size in enumerate(scope_sizes):
            scope_spans = resource_spans.scope_spans.add()
            scope_spans.scope.name, scope_spans.scope.version = f"scope-{r}-{s}", f"{s}.0"
            scope_spans.spans.extend(
                _span([("n", AnyValue(int_value=n))], 2, 0) for n in range(size)
            )
    assert _compare(tables, [request]) == []


def test_values_nested_deeper_than_the_sql_go_to_the_reference_decoder(tables: ChdbStore) -> None:
    inner = AnyValue(array_value=ArrayValue(values=[AnyValue(int_value=1)]))
    nested = AnyValue(array_value=ArrayValue(values=[inner]))
    repeated_key = AnyValue(
        kvlist_value=KeyValueList(
            values=[KeyValue(key="a", value=inner), KeyValue(key="a", value=inner)]
        )
    )
    plain = [_request([("service.name", AnyValue(string_value="svc"))], [_span([], 1, 0)])]
    plain.append(_request([], [_span([], 1, 0)]))
    deep = _request([], [_span([("nested", nested)], 1, 0)])
    repeated = _request([("r", repeated_key)], [_span([], 1, 0)])
    flat_map = AnyValue(kvlist_value=KeyValueList(values=[KeyValue(key="k", value=inner)]))
    in_link = _span([], 1, 0)
    in_link.links[0].attributes.add(key="m", value=flat_map)
    mapped = _request([], [_span([], 1, 0), in_link])
    assert _compare(tables, [plain[0], deep, plain[1], repeated, mapped]) == [1, 3, 4]


def test_a_replayed_segment_is_stored_once(tables: ChdbStore, tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool", max_bytes=1 << 30)
    writer = Writer(spool, [tables], interval=60)
    request = _request([("service.name", AnyValue(string_value="replay"))], [_span([], 2, 1)])
    deep = _request([("service.name", AnyValue(string_value="replay"))], [_span([], 2, 1)])
    deep.resource_spans[0].scope_spans[0].spans[0].attributes.append(
        KeyValue(
            key="deep",
            value=AnyValue(
                array_value=ArrayValue(values=[AnyValue(array_value=ArrayValue(values=[]))])
            ),
        )
    )
    for message in (request, deep):
        spool.append_raw("otel_traces", RawRequest("replay", 1, message.SerializeToString()))
    spool.rotate()
    (segment,) = spool.ready()
    copy = tmp_path / "copy"
    shutil.copy(segment.path, copy)
    assert writer.drain() == 2
    shutil.copy(copy, segment.path)  # the crash came after the insert, before the delete
    writer.drain()
    count = "SELECT count() AS n FROM otel_traces WHERE TenantId = 'replay'"
    assert query_rows(tables, count)[0]["n"] == 2
    stored = query_rows(
        tables, "SELECT SpanAttributes['deep'] AS v FROM otel_traces WHERE TenantId = 'replay'"
    )
    assert sorted(row["v"] for row in stored) == ["", "[[]]"]


def test_a_segment_stopped_mid_insert_is_stored_once_in_many_blocks(
    tables: ChdbStore, tmp_path: Path
) -> None:
    """Blocks of 8 spans: an insert stopped by a deep value has written the blocks before it;
    the writer's insert without that request, and a replay of it all, store every span once,
    in the spans table and in the lookup its view feeds."""
    tenant = f"blocks-{next(_counter)}"
    requests = [
        _request(
            [("service.name", AnyValue(string_value=tenant))],
            [_span([], 2, 1) for _ in range(3)],
        )
        for _ in range(12)
    ]
    nested = AnyValue(array_value=ArrayValue(values=[AnyValue(array_value=ArrayValue())]))
    requests[7].resource_spans[0].scope_spans[0].spans[1].attributes.add(key="d", value=nested)
    raw = [RawRequest(tenant, 3, request.SerializeToString()) for request in requests]
    counts = (
        "SELECT (SELECT count() FROM otel_traces WHERE TenantId = {t:String}) AS spans, "
        "(SELECT count() FROM otel_traces_trace_id_ts WHERE TenantId = {t:String}) AS lookups"
    )
    path = tmp_path / "segment.otlp"
    with path.open("wb") as out:
        for position, request in enumerate(raw):
            engine_spans._write_delimited(out, request, position)
    with pytest.raises(StoreError, match="nested too deep"):
        tables.command(engine_spans.insert_sql("otel_traces", path, None, tenant, block_spans=8))
    (written,) = query_rows(tables, counts, {"t": tenant})
    assert 0 < written["spans"] < 21, written
    for attempt in range(2):
        deep = engine_spans.insert_requests(tables, "otel_traces", raw, tenant, block_spans=8)
        assert deep == [7]
        assert query_rows(tables, counts, {"t": tenant}) == [{"spans": 33, "lookups": 33}], attempt


def test_the_tenant_is_the_keys_whatever_the_payload_carries(tables: ChdbStore) -> None:
    ingest = StoredIngestor(tables)
    request = _request([("service.name", AnyValue(string_value="spoof"))], [_span([], 1, 0)])
    # An unknown field 15 (where the engine reads the tenant) smuggled into the request.
    smuggled = ExportTraceServiceRequest.FromString(request.SerializeToString() + b"\x7a\x04evil")
    ingest.traces(smuggled, "honest")
    rows = query_rows(
        tables,
        "SELECT TenantId, count() AS n FROM otel_traces WHERE ServiceName = 'spoof'"
        " GROUP BY TenantId",
    )
    assert rows == [{"TenantId": "honest", "n": 1}]


def test_requests_with_secrets_or_bad_spans_take_the_reference_path(tables: ChdbStore) -> None:
    ingest = StoredIngestor(tables)
    secret = _span([("http.header", AnyValue(string_value="Bearer abcdef0123456789"))], 1, 0)
    bad = _span([], 1, 0)
    bad.trace_id = b"short"
    good = _span([("note", AnyValue(string_value="fine"))], 1, 0)
    request = _request([("service.name", AnyValue(string_value="mixed"))], [secret, bad, good])
    rejects = ingest.traces(request, "mixed")
    assert rejects.count == 1
    values = query_rows(
        tables,
        "SELECT SpanAttributes AS a FROM otel_traces WHERE TenantId = 'mixed' ORDER BY SpanId",
    )
    assert [dict(row["a"]) for row in values] == [
        {"http.header": "Bearer [REDACTED:bearer_token]"},
        {"note": "fine"},
    ]
    clean = _request([], [_span([("note", AnyValue(string_value="fine"))], 1, 0)])
    assert ingest.ingestor._raw_traces(clean, "t") is not None
    assert ingest.ingestor._raw_traces(_request([], [secret]), "t") is None


def test_a_full_segment_lands_as_one_compact_part(tables: ChdbStore, tmp_path: Path) -> None:
    """Past ClickHouse's default Wide threshold (10 MiB uncompressed), a segment's part stays
    Compact: one data file instead of a file pair per column stream (migration 0015)."""
    spool = Spool(tmp_path / "spool", max_bytes=1 << 30, segment_bytes=1 << 30)
    value = AnyValue(string_value="x" * 700)
    for _ in range(8):
        spans = [_span([("input.value", value)], 1, 0) for _ in range(1000)]
        request = _request([("service.name", AnyValue(string_value="compact"))], spans)
        spool.append_raw("otel_traces", RawRequest("compact", 1000, request.SerializeToString()))
    spool.rotate()
    assert Writer(spool, [tables], interval=60).drain() == 8000
    (part,) = query_rows(
        tables,
        "SELECT part_type, data_uncompressed_bytes AS size FROM system.parts "
        "WHERE active AND database = currentDatabase() AND table = 'otel_traces' AND name IN "
        "(SELECT DISTINCT _part FROM otel_traces WHERE TenantId = 'compact')",
    )
    assert part["size"] > 10 << 20
    assert part["part_type"] == "Compact"
