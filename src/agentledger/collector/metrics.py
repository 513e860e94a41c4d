"""OTLP metrics to Arrow tables with the columns of the five ``otel_metrics_*`` tables.

One row per data point, valued as the OpenTelemetry Collector's ``clickhouseexporter`` writes it:
integer points as Float64, an absent histogram sum/min/max as 0, the point's flags as UInt32, the
aggregation temporality as its enum number, exemplar ids as fixed-width hex. GenAI metrics
(``gen_ai.client.token.usage``, ``gen_ai.client.operation.duration``, ...) are ordinary metrics.
Invalid data points are rejected one by one (partial success); the rest of the request is kept.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from itertools import pairwise
from typing import Any

import pyarrow as pa

from agentledger.collector.columns import ATTR_MAP, NS, RejectLog, attributes, service_name

__all__ = ["METRIC_SCHEMAS", "metrics_to_arrow"]

_HEAD = [
    ("ResourceAttributes", ATTR_MAP),
    ("ResourceSchemaUrl", pa.string()),
    ("ScopeName", pa.string()),
    ("ScopeVersion", pa.string()),
    ("ScopeAttributes", ATTR_MAP),
    ("ScopeDroppedAttrCount", pa.uint32()),
    ("ScopeSchemaUrl", pa.string()),
    ("ServiceName", pa.string()),
    ("MetricName", pa.string()),
    ("MetricDescription", pa.string()),
    ("MetricUnit", pa.string()),
    ("Attributes", ATTR_MAP),
    ("StartTimeUnix", NS),
    ("TimeUnix", NS),
]
_EXEMPLARS = [
    ("Exemplars.FilteredAttributes", pa.list_(ATTR_MAP)),
    ("Exemplars.TimeUnix", pa.list_(NS)),
    ("Exemplars.Value", pa.list_(pa.float64())),
    ("Exemplars.SpanId", pa.list_(pa.string())),
    ("Exemplars.TraceId", pa.list_(pa.string())),
]
_TENANT = [("TenantId", pa.string())]
_MIN_MAX_TEMPORALITY = [
    ("Flags", pa.uint32()),
    ("Min", pa.float64()),
    ("Max", pa.float64()),
    ("AggregationTemporality", pa.int32()),
]

METRIC_SCHEMAS: dict[str, pa.Schema] = {
    "otel_metrics_gauge": pa.schema(
        [*_HEAD, ("Value", pa.float64()), ("Flags", pa.uint32()), *_EXEMPLARS, *_TENANT]
    ),
    "otel_metrics_sum": pa.schema(
        [
            *_HEAD,
            ("Value", pa.float64()),
            ("Flags", pa.uint32()),
            *_EXEMPLARS,
            ("AggregationTemporality", pa.int32()),
            ("IsMonotonic", pa.bool_()),
            *_TENANT,
        ]
    ),
    "otel_metrics_histogram": pa.schema(
        [
            *_HEAD,
            ("Count", pa.uint64()),
            ("Sum", pa.float64()),
            ("BucketCounts", pa.list_(pa.uint64())),
            ("ExplicitBounds", pa.list_(pa.float64())),
            *_EXEMPLARS,
            *_MIN_MAX_TEMPORALITY,
            *_TENANT,
        ]
    ),
    "otel_metrics_exponential_histogram": pa.schema(
        [
            *_HEAD,
            ("Count", pa.uint64()),
            ("Sum", pa.float64()),
            ("Scale", pa.int32()),
            ("ZeroCount", pa.uint64()),
            ("PositiveOffset", pa.int32()),
            ("PositiveBucketCounts", pa.list_(pa.uint64())),
            ("NegativeOffset", pa.int32()),
            ("NegativeBucketCounts", pa.list_(pa.uint64())),
            *_EXEMPLARS,
            *_MIN_MAX_TEMPORALITY,
            *_TENANT,
        ]
    ),
    "otel_metrics_summary": pa.schema(
        [
            *_HEAD,
            ("Count", pa.uint64()),
            ("Sum", pa.float64()),
            ("ValueAtQuantiles.Quantile", pa.list_(pa.float64())),
            ("ValueAtQuantiles.Value", pa.list_(pa.float64())),
            ("Flags", pa.uint32()),
            *_TENANT,
        ]
    ),
}

_SCHEMA_ITEMS = list(METRIC_SCHEMAS.items())
# The proto's ``data`` oneof field name -> the table its points go to.
_TABLE_OF = {
    "gauge": "otel_metrics_gauge",
    "sum": "otel_metrics_sum",
    "histogram": "otel_metrics_histogram",
    "exponential_histogram": "otel_metrics_exponential_histogram",
    "summary": "otel_metrics_summary",
}
_MAX_NANOS = 2**63 - 1  # DateTime64(9) / Arrow timestamp[ns] range
_NO_RECORDED_VALUE = 1  # DataPointFlags.DATA_POINT_FLAGS_NO_RECORDED_VALUE_MASK
_EXP_SCALES = range(-10, 21)


def metrics_to_arrow(request: Any, tenant: str) -> tuple[dict[str, pa.Table], RejectLog]:
    """Rows of every valid data point in an ``ExportMetricsServiceRequest``, per table name
    (only tables that get rows), and what was rejected."""
    cols: dict[str, dict[str, list[Any]]] = {
        name: {column: [] for column in schema.names} for name, schema in _SCHEMA_ITEMS
    }
    rejects = RejectLog("data points")
    for resource_metrics in request.resource_metrics:
        resource_attrs = attributes(resource_metrics.resource.attributes)
        resource = (resource_attrs, resource_metrics.schema_url, service_name(resource_attrs))
        for scope_metrics in resource_metrics.scope_metrics:
            scope = scope_metrics.scope
            scope_head = (
                scope.name,
                scope.version,
                attributes(scope.attributes),
                scope.dropped_attributes_count,
                scope_metrics.schema_url,
            )
            for metric in scope_metrics.metrics:
                kind = metric.WhichOneof("data")
                if kind is None:
                    continue  # no data field: nothing to store and no point to reject
                table = _TABLE_OF[kind]
                data = getattr(metric, kind)
                append, check = _KINDS[kind]
                for point in data.data_points:
                    problem = _invalid_common(point) or check(point)
                    if problem:
                        rejects.reject(f"{kind} {metric.name or '?'}: {problem}")
                        continue
                    target = cols[table]
                    _append_head(target, resource, scope_head, metric, point, tenant)
                    append(target, data, point)
    tables = {
        name: pa.table(cols[name], schema=schema)
        for name, schema in _SCHEMA_ITEMS
        if cols[name]["TenantId"]
    }
    return tables, rejects


# --- validation ----------------------------------------------------------------------------


def _invalid_common(point: Any) -> str:
    if point.time_unix_nano == 0:
        return "time_unix_nano is missing"
    if point.time_unix_nano > _MAX_NANOS or point.start_time_unix_nano > _MAX_NANOS:
        return "timestamp is out of range"
    for exemplar in getattr(point, "exemplars", ()):
        if len(exemplar.trace_id) not in (0, 16):
            return f"exemplar trace_id must be empty or 16 bytes, got {len(exemplar.trace_id)}"
        if len(exemplar.span_id) not in (0, 8):
            return f"exemplar span_id must be empty or 8 bytes, got {len(exemplar.span_id)}"
        if exemplar.time_unix_nano > _MAX_NANOS:
            return "exemplar timestamp is out of range"
    return ""


def _invalid_number(point: Any) -> str:
    if point.WhichOneof("value") is None and not point.flags & _NO_RECORDED_VALUE:
        return "value is missing (neither as_int nor as_double)"
    return ""


def _invalid_histogram(point: Any) -> str:
    counts, bounds = point.bucket_counts, point.explicit_bounds
    if not counts:
        return ""
    if len(counts) != len(bounds) + 1:
        return (
            f"bucket_counts has {len(counts)} buckets, explicit_bounds {len(bounds)} bounds"
            " (must be one more bucket than bounds)"
        )
    if any(not math.isfinite(bound) for bound in bounds):
        return "explicit_bounds must be finite"
    if any(lower >= upper for lower, upper in pairwise(bounds)):
        return "explicit_bounds must be strictly increasing"
    if sum(counts) != point.count:
        return f"count {point.count} is not the sum of bucket_counts ({sum(counts)})"
    return ""


def _invalid_exponential(point: Any) -> str:
    if point.scale not in _EXP_SCALES:
        return f"scale {point.scale} is outside -10..20"
    buckets = sum(point.positive.bucket_counts) + sum(point.negative.bucket_counts)
    if point.zero_count + buckets != point.count:
        return (
            f"count {point.count} is not zero_count plus the bucket counts"
            f" ({point.zero_count + buckets})"
        )
    return ""


def _invalid_summary(point: Any) -> str:
    for quantile in point.quantile_values:
        if not 0.0 <= quantile.quantile <= 1.0:
            return f"quantile {quantile.quantile} is outside [0, 1]"
    return ""


# --- rows ----------------------------------------------------------------------------------


def _append_head(
    cols: dict[str, list[Any]],
    resource: tuple[list[tuple[str, str]], str, str],
    scope: tuple[str, str, list[tuple[str, str]], int, str],
    metric: Any,
    point: Any,
    tenant: str,
) -> None:
    resource_attrs, resource_schema_url, service = resource
    scope_name, scope_version, scope_attrs, scope_dropped, scope_schema_url = scope
    cols["ResourceAttributes"].append(resource_attrs)
    cols["ResourceSchemaUrl"].append(resource_schema_url)
    cols["ScopeName"].append(scope_name)
    cols["ScopeVersion"].append(scope_version)
    cols["ScopeAttributes"].append(scope_attrs)
    cols["ScopeDroppedAttrCount"].append(scope_dropped)
    cols["ScopeSchemaUrl"].append(scope_schema_url)
    cols["ServiceName"].append(service)
    cols["MetricName"].append(metric.name)
    cols["MetricDescription"].append(metric.description)
    cols["MetricUnit"].append(metric.unit)
    cols["Attributes"].append(attributes(point.attributes))
    cols["StartTimeUnix"].append(point.start_time_unix_nano)
    cols["TimeUnix"].append(point.time_unix_nano)
    cols["TenantId"].append(tenant)


def _value(holder: Any) -> float:
    """A NumberDataPoint's or Exemplar's value as Float64 (0 when unset, as the exporter)."""
    kind = holder.WhichOneof("value")
    if kind == "as_int":
        return float(holder.as_int)
    if kind == "as_double":
        return float(holder.as_double)
    return 0.0


def _append_exemplars(cols: dict[str, list[Any]], point: Any) -> None:
    exemplars = point.exemplars
    cols["Exemplars.FilteredAttributes"].append(
        [attributes(exemplar.filtered_attributes) for exemplar in exemplars]
    )
    cols["Exemplars.TimeUnix"].append([exemplar.time_unix_nano for exemplar in exemplars])
    cols["Exemplars.Value"].append([_value(exemplar) for exemplar in exemplars])
    # Go's hex.EncodeToString of the fixed-size id: an absent id is all zeros, not ''.
    cols["Exemplars.SpanId"].append([_fixed_hex(exemplar.span_id, 8) for exemplar in exemplars])
    cols["Exemplars.TraceId"].append([_fixed_hex(exemplar.trace_id, 16) for exemplar in exemplars])


def _fixed_hex(raw: bytes, size: int) -> str:
    return (raw or bytes(size)).hex()


def _optional(point: Any, field: str) -> float:
    return float(getattr(point, field)) if point.HasField(field) else 0.0


def _append_gauge(cols: dict[str, list[Any]], _: Any, point: Any) -> None:
    cols["Value"].append(_value(point))
    cols["Flags"].append(point.flags)
    _append_exemplars(cols, point)


def _append_sum(cols: dict[str, list[Any]], data: Any, point: Any) -> None:
    _append_gauge(cols, data, point)
    cols["AggregationTemporality"].append(data.aggregation_temporality)
    cols["IsMonotonic"].append(data.is_monotonic)


def _append_min_max_temporality(cols: dict[str, list[Any]], data: Any, point: Any) -> None:
    cols["Flags"].append(point.flags)
    cols["Min"].append(_optional(point, "min"))
    cols["Max"].append(_optional(point, "max"))
    cols["AggregationTemporality"].append(data.aggregation_temporality)


def _append_histogram(cols: dict[str, list[Any]], data: Any, point: Any) -> None:
    cols["Count"].append(point.count)
    cols["Sum"].append(_optional(point, "sum"))
    cols["BucketCounts"].append(list(point.bucket_counts))
    cols["ExplicitBounds"].append(list(point.explicit_bounds))
    _append_exemplars(cols, point)
    _append_min_max_temporality(cols, data, point)


def _append_exponential(cols: dict[str, list[Any]], data: Any, point: Any) -> None:
    cols["Count"].append(point.count)
    cols["Sum"].append(_optional(point, "sum"))
    cols["Scale"].append(point.scale)
    cols["ZeroCount"].append(point.zero_count)
    cols["PositiveOffset"].append(point.positive.offset)
    cols["PositiveBucketCounts"].append(list(point.positive.bucket_counts))
    cols["NegativeOffset"].append(point.negative.offset)
    cols["NegativeBucketCounts"].append(list(point.negative.bucket_counts))
    _append_exemplars(cols, point)
    _append_min_max_temporality(cols, data, point)


def _append_summary(cols: dict[str, list[Any]], _: Any, point: Any) -> None:
    cols["Count"].append(point.count)
    cols["Sum"].append(point.sum)
    cols["ValueAtQuantiles.Quantile"].append([q.quantile for q in point.quantile_values])
    cols["ValueAtQuantiles.Value"].append([q.value for q in point.quantile_values])
    cols["Flags"].append(point.flags)


_Append = Callable[[dict[str, list[Any]], Any, Any], None]
_Check = Callable[[Any], str]
_KINDS: dict[str, tuple[_Append, _Check]] = {
    "gauge": (_append_gauge, _invalid_number),
    "sum": (_append_sum, _invalid_number),
    "histogram": (_append_histogram, _invalid_histogram),
    "exponential_histogram": (_append_exponential, _invalid_exponential),
    "summary": (_append_summary, _invalid_summary),
}
