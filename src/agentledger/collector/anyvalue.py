"""OTLP AnyValue to text, exactly as the OpenTelemetry Collector's pdata ``AsString`` does.

Attribute maps are stored as ``Map(String, String)``; matching the Go exporter's text byte for
byte means Grafana, ClickStack and queries written for the standard exporter read our rows.
"""

from __future__ import annotations

import base64
import json
import math
from decimal import Decimal
from typing import Any

__all__ = ["as_raw", "as_string", "format_double"]


def as_string(value: Any) -> str:
    """Text of an ``AnyValue`` message: ints decimal, doubles ES6-style, bytes base64,
    arrays and maps compact JSON with sorted keys, an empty value ``""``."""
    kind = value.WhichOneof("value")
    if kind == "string_value":
        text: str = value.string_value
        return text
    if kind == "bool_value":
        return "true" if value.bool_value else "false"
    if kind == "int_value":
        return str(value.int_value)
    if kind == "double_value":
        return format_double(value.double_value)
    if kind == "bytes_value":
        return base64.b64encode(value.bytes_value).decode()
    if kind in ("array_value", "kvlist_value"):
        return _json(as_raw(value))
    return ""


def as_raw(value: Any) -> Any:
    """The plain Python value of an ``AnyValue`` (lists and dicts for arrays and maps)."""
    kind = value.WhichOneof("value")
    if kind == "array_value":
        return [as_raw(item) for item in value.array_value.values]
    if kind == "kvlist_value":
        return {kv.key: as_raw(kv.value) for kv in value.kvlist_value.values}
    if kind == "bytes_value":
        return base64.b64encode(value.bytes_value).decode()
    if kind is None:
        return None
    return getattr(value, kind)


def format_double(x: float) -> str:
    """Shortest round-trip text, exponent form only below 1e-6 or from 1e21 (ES6 / Go)."""
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    magnitude = abs(x)
    if magnitude != 0 and (magnitude < 1e-6 or magnitude >= 1e21):
        mantissa, _, exponent = f"{Decimal(repr(x)):E}".partition("E")
        mantissa = mantissa.rstrip("0").rstrip(".") if "." in mantissa else mantissa
        return f"{mantissa}e{int(exponent):+d}"
    text = format(Decimal(repr(x)), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "-0" if text == "-0" else text


def _json(raw: Any) -> str:
    """Compact JSON with sorted keys and ES6 doubles, as Go's encoding/json writes it."""
    if isinstance(raw, bool) or raw is None:
        return json.dumps(raw)
    if isinstance(raw, float):
        return format_double(raw)
    if isinstance(raw, int):
        return str(raw)
    if isinstance(raw, str):
        return json.dumps(raw, ensure_ascii=False)
    if isinstance(raw, list):
        return "[" + ",".join(_json(item) for item in raw) + "]"
    items = sorted(raw.items())
    return "{" + ",".join(f"{json.dumps(k, ensure_ascii=False)}:{_json(v)}" for k, v in items) + "}"
