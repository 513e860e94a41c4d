"""AnyValue text must match the Go collector's pdata AsString byte for byte."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, ArrayValue, KeyValue, KeyValueList

from agentledger.collector.anyvalue import as_string, format_double


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (1.0, "1"),
        (0.1, "0.1"),
        (-2.5, "-2.5"),
        (1e-7, "1e-7"),
        (2.5e-8, "2.5e-8"),
        (1e-6, "0.000001"),
        (1e20, "100000000000000000000"),
        (1e21, "1e+21"),
        (123456789012345678.0, "123456789012345680"),
        (float("nan"), "NaN"),
        (float("inf"), "Infinity"),
        (float("-inf"), "-Infinity"),
    ],
)
def test_doubles_are_formatted_like_es6(value: float, text: str) -> None:
    assert format_double(value) == text


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_double_text_round_trips(value: float) -> None:
    text = format_double(value)
    assert float(text) == value
    assert "e" not in text or abs(value) < 1e-6 or abs(value) >= 1e21


def test_every_value_kind() -> None:
    nested = AnyValue(
        kvlist_value=KeyValueList(
            values=[
                KeyValue(key="b", value=AnyValue(double_value=0.5)),
                KeyValue(
                    key="a",
                    value=AnyValue(
                        array_value=ArrayValue(
                            values=[
                                AnyValue(int_value=3),
                                AnyValue(bool_value=True),
                                AnyValue(string_value="x<y"),
                            ]
                        )
                    ),
                ),
            ]
        )
    )
    assert as_string(AnyValue(string_value="hé")) == "hé"
    assert as_string(AnyValue(bool_value=False)) == "false"
    assert as_string(AnyValue(int_value=-9_000_000_000)) == "-9000000000"
    assert as_string(AnyValue(bytes_value=b"\x00\xff")) == "AP8="
    assert as_string(AnyValue()) == ""
    assert as_string(nested) == '{"a":[3,true,"x<y"],"b":0.5}'


def test_nan_inside_json_does_not_crash() -> None:
    value = AnyValue(array_value=ArrayValue(values=[AnyValue(double_value=math.inf)]))
    assert as_string(value) == "[Infinity]"
