"""OTLP wire formats to protobuf messages: binary protobuf, and the OTLP flavour of JSON.

OTLP JSON differs from proto3 JSON in that trace and span ids are hex, not base64; we rewrite
those fields and hand the rest to protobuf's JSON parser, so both encodings meet in one message
type and every later step has a single input shape.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any, TypeVar

from google.protobuf import json_format
from google.protobuf.message import DecodeError, Message
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsServiceRequest,
    ExportLogsServiceResponse,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

__all__ = [
    "ExportLogsServiceRequest",
    "ExportLogsServiceResponse",
    "ExportTraceServiceRequest",
    "ExportTraceServiceResponse",
    "OtlpDecodeError",
    "decode",
    "encode",
]

M = TypeVar("M", bound=Message)

_ID_FIELDS = frozenset(
    {"traceId", "spanId", "parentSpanId", "trace_id", "span_id", "parent_span_id"}
)


class OtlpDecodeError(ValueError):
    """The request body is not a valid OTLP message of the expected type."""


def decode(body: bytes, message_type: type[M], *, json_encoded: bool) -> M:
    message: M = message_type()
    if not json_encoded:
        try:
            message.ParseFromString(body)
        except DecodeError as exc:
            raise OtlpDecodeError(f"invalid protobuf {message_type.__name__}: {exc}") from None
        return message
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise OtlpDecodeError(f"invalid JSON: {exc}") from None
    except RecursionError:  # a hostile body of [[[[...]]]]
        raise OtlpDecodeError("invalid JSON: nested too deeply") from None
    if not isinstance(document, dict):
        raise OtlpDecodeError("invalid OTLP JSON: the top level must be an object")
    try:
        json_format.ParseDict(_hex_ids_to_base64(document), message, ignore_unknown_fields=True)
    except (json_format.ParseError, ValueError, TypeError) as exc:
        raise OtlpDecodeError(f"invalid OTLP JSON {message_type.__name__}: {exc}") from None
    except RecursionError:
        raise OtlpDecodeError(
            f"invalid OTLP JSON {message_type.__name__}: nested too deeply"
        ) from None
    return message


def encode(message: Message, *, json_encoded: bool) -> bytes:
    if not json_encoded:
        data: bytes = message.SerializeToString()
        return data
    return json.dumps(json_format.MessageToDict(message), separators=(",", ":")).encode()


def _hex_ids_to_base64(node: Any) -> Any:
    if isinstance(node, dict):
        return {
            key: _hex_to_base64(key, value) if key in _ID_FIELDS else _hex_ids_to_base64(value)
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [_hex_ids_to_base64(item) for item in node]
    return node


def _hex_to_base64(key: str, value: Any) -> str:
    if not isinstance(value, str):
        raise OtlpDecodeError(f"invalid OTLP JSON: {key} must be a hex string")
    try:
        return base64.b64encode(bytes.fromhex(value)).decode()
    except (ValueError, binascii.Error):
        raise OtlpDecodeError(f"invalid OTLP JSON: {key} {value[:40]!r} is not hex") from None
