"""``valid_span_count``, the receiver's fast check, agrees with the decoder's reasons."""

from __future__ import annotations

from typing import Any

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from agentledger.collector.spans import spans_to_arrow, valid_span_count

MAX = (1 << 63) - 1
GOOD: dict[str, Any] = {
    "trace_id": bytes(range(1, 17)),
    "span_id": bytes(range(1, 9)),
    "start_time_unix_nano": 10,
    "end_time_unix_nano": 20,
}


def _request(events: tuple[int, ...] = (), **span: Any) -> ExportTraceServiceRequest:
    request = ExportTraceServiceRequest()
    spans = request.resource_spans.add().scope_spans.add().spans
    spans.add(**GOOD)
    added = spans.add(**(GOOD | span))
    for at in events:
        added.events.add(time_unix_nano=at, name="e")
    return request


@pytest.mark.parametrize(
    "span",
    [
        {"trace_id": bytes(16)},
        {"trace_id": b"\x01" * 15},
        {"span_id": bytes(8)},
        {"span_id": b"\x01" * 9},
        {"parent_span_id": b"\x01" * 4},
        {"start_time_unix_nano": 0},
        {"end_time_unix_nano": 5},
        {"start_time_unix_nano": MAX + 1, "end_time_unix_nano": 0},
        {"end_time_unix_nano": MAX + 1},
        {"events": (MAX + 1,)},
    ],
)
def test_each_invalid_span_fails_the_fast_check_and_is_rejected_by_the_decoder(
    span: dict[str, Any],
) -> None:
    request = _request(**span)
    assert valid_span_count(request) is None
    assert spans_to_arrow(request, "t")[1].count == 1


@pytest.mark.parametrize(
    "span",
    [{}, {"end_time_unix_nano": 0}, {"parent_span_id": b"\x02" * 8}, {"events": (MAX,)}],
)
def test_valid_spans_are_counted(span: dict[str, Any]) -> None:
    request = _request(**span)
    assert valid_span_count(request) == 2
    assert spans_to_arrow(request, "t")[1].count == 0
