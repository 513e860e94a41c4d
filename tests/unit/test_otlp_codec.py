"""OTLP JSON and protobuf decode to the same message; bad bodies fail with a clear error only."""

from __future__ import annotations

import contextlib
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agentledger.collector.otlp_codec import (
    ExportLogsServiceRequest,
    ExportTraceServiceRequest,
    OtlpDecodeError,
    decode,
    encode,
)

SPEC_EXAMPLE = {
    "resourceSpans": [
        {
            "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "svc"}}]},
            "scopeSpans": [
                {
                    "scope": {"name": "lib", "version": "1"},
                    "spans": [
                        {
                            "traceId": "5B8EFFF798038103D269B633813FC60C",
                            "spanId": "EEE19B7EC3C1B174",
                            "parentSpanId": "EEE19B7EC3C1B173",
                            "name": "op",
                            "kind": 2,
                            "startTimeUnixNano": "1544712660000000000",
                            "endTimeUnixNano": 1544712661000000000,
                            "attributes": [{"key": "n", "value": {"intValue": "42"}}],
                            "links": [
                                {
                                    "traceId": "5b8efff798038103d269b633813fc60c",
                                    "spanId": "eee19b7ec3c1b174",
                                }
                            ],
                            "unknownField": {"ignored": True},
                        }
                    ],
                }
            ],
        }
    ]
}


def test_json_hex_ids_ints_as_strings_and_enums_as_ints() -> None:
    message = decode(
        json.dumps(SPEC_EXAMPLE).encode(), ExportTraceServiceRequest, json_encoded=True
    )
    span = message.resource_spans[0].scope_spans[0].spans[0]
    assert span.trace_id.hex() == "5b8efff798038103d269b633813fc60c"
    assert span.parent_span_id.hex() == "eee19b7ec3c1b173"
    assert span.kind == 2 and span.start_time_unix_nano == 1544712660000000000
    assert span.attributes[0].value.int_value == 42
    assert span.links[0].span_id.hex() == "eee19b7ec3c1b174"
    again = decode(
        encode(message, json_encoded=False), ExportTraceServiceRequest, json_encoded=False
    )
    assert again == message


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"{not json", "invalid JSON"),
        (b"[1, 2]", "top level must be an object"),
        (b'{"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": "zz"}]}]}]}', "not hex"),
        (
            b'{"resourceSpans": [{"scopeSpans": [{"spans": [{"startTimeUnixNano": "soon"}]}]}]}',
            "invalid OTLP JSON",
        ),
        (b"\xff\xfe", "invalid JSON"),
    ],
)
def test_bad_json_is_a_clear_error(body: bytes, reason: str) -> None:
    with pytest.raises(OtlpDecodeError, match=reason):
        decode(body, ExportTraceServiceRequest, json_encoded=True)


def test_garbage_protobuf_is_a_clear_error() -> None:
    with pytest.raises(OtlpDecodeError, match="invalid protobuf"):
        decode(b"\x0a\xff\xff\xff\xff\x0f", ExportTraceServiceRequest, json_encoded=False)


@given(st.binary(max_size=512))
def test_protobuf_decoder_never_fails_unclearly(body: bytes) -> None:
    for message_type in (ExportTraceServiceRequest, ExportLogsServiceRequest):
        with contextlib.suppress(OtlpDecodeError):
            decode(body, message_type, json_encoded=False)


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [
                    "resourceSpans",
                    "scopeSpans",
                    "spans",
                    "traceId",
                    "spanId",
                    "name",
                    "attributes",
                    "key",
                    "value",
                    "kind",
                    "x",
                ]
            ),
            children,
            max_size=4,
        )
    ),
    max_leaves=20,
)


@given(_json_values)
def test_json_decoder_never_fails_unclearly(document: object) -> None:
    with contextlib.suppress(OtlpDecodeError):
        decode(json.dumps(document).encode(), ExportTraceServiceRequest, json_encoded=True)
