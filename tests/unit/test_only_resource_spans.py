"""The receiver's check that a trace request's top level carries no field the engine would read
as the position or tenant appended after it (``engine_spans.only_resource_spans``)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans

from agentledger.collector.engine_spans import _varint, only_resource_spans


def _field(number: int, wire_type: int, body: bytes) -> bytes:
    tag = _varint(number << 3 | wire_type)
    if wire_type == 2:  # length-delimited
        return tag + _varint(len(body)) + body
    if wire_type == 0:  # varint
        return tag + _varint(int.from_bytes(body[:8], "little"))
    size = 8 if wire_type == 1 else 4  # fixed64, fixed32
    return tag + body[:size].ljust(size, b"\0")


_FIELDS = st.lists(
    st.tuples(st.integers(1, 20), st.sampled_from([0, 1, 2, 5]), st.binary(max_size=300)),
    max_size=6,
)


@given(_FIELDS)
def test_true_exactly_when_every_top_level_field_is_resource_spans(
    fields: list[tuple[int, int, bytes]],
) -> None:
    payload = b"".join(_field(number, wire, body) for number, wire, body in fields)
    expected = all(number == 1 and wire == 2 for number, wire, _ in fields)
    assert only_resource_spans(payload) is expected


@given(st.binary(max_size=64))
def test_any_bytes_get_an_answer_not_an_error(payload: bytes) -> None:
    assert only_resource_spans(payload) in (True, False)


def test_a_request_as_the_sdk_sends_it() -> None:
    request = ExportTraceServiceRequest(resource_spans=[ResourceSpans(), ResourceSpans()])
    request.resource_spans[0].scope_spans.add().spans.add(name="x" * 200, trace_id=bytes(16))
    payload = request.SerializeToString()
    assert only_resource_spans(payload)
    assert only_resource_spans(b"")  # an empty request: nothing at the top level
    assert not only_resource_spans(payload + b"\x7a\x04evil")  # the tenant's field, smuggled
    assert not only_resource_spans(payload + b"\x70\x05")  # the position's
    assert not only_resource_spans(payload[:-1])  # a length running past the end
    assert not only_resource_spans(b"\x0a\xff\xff")  # a length varint cut short
