"""The Collector page's data: the collector's own live metrics and the stored ingest history.

The collector keeps its counters in memory and serves them as Prometheus text at ``/metrics`` on
the OTLP/HTTP port (:mod:`agentledger.collector.self_metrics`); nothing of them is stored, so the
page scrapes that endpoint and computes rates between its own successive scrapes. What *is*
stored is when every row arrived (``InsertedAt``, set by ClickHouse): the ingest rate and the
delay from span start to storage over time come from there, per tenant.
"""

from __future__ import annotations

import math
import re
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime

import pandas as pd

from agentledger.dashboards.filters import Filters
from agentledger.dashboards.queries import FILLED_BUCKETS, STEP, frame
from agentledger.storage.store import Store

__all__ = [
    "Sample",
    "Scrape",
    "histogram_counts",
    "histogram_quantile",
    "ingest_history",
    "parse_prometheus",
    "rates",
    "scrape",
    "visible_samples",
]

_LINE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)$")
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')
_TENANT_FREE = (
    "agentledger_queue_bytes",
    "agentledger_spool_bytes",
    "agentledger_store_healthy",
    "agentledger_write_seconds_bucket",
    "agentledger_write_seconds_sum",
    "agentledger_write_seconds_count",
)
"""Series about the collector itself, not about any tenant's data: shown to every viewer."""


@dataclass(frozen=True)
class Sample:
    """One Prometheus sample: metric name, labels and value."""

    name: str
    labels: tuple[tuple[str, str], ...]
    value: float

    def label(self, key: str) -> str:
        return dict(self.labels).get(key, "")


@dataclass(frozen=True)
class Scrape:
    """Everything ``/metrics`` said at one moment."""

    at: datetime
    samples: tuple[Sample, ...]

    def total(self, name: str, **match: str) -> float:
        """The sum of ``name``'s samples whose labels include ``match``."""
        return sum(
            s.value
            for s in self.samples
            if s.name == name and all(s.label(k) == v for k, v in match.items())
        )

    def frame(self, name: str) -> pd.DataFrame:
        """``name``'s samples as a table: one column per label, then Value."""
        rows = [dict(s.labels) | {"Value": s.value} for s in self.samples if s.name == name]
        return pd.DataFrame(rows)


def parse_prometheus(text: str) -> tuple[Sample, ...]:
    """Samples of a Prometheus text exposition (comments and malformed lines skipped)."""
    samples = []
    for line in text.splitlines():
        match = _LINE.match(line.strip())
        if not match or line.startswith("#"):
            continue
        name, labels, raw = match.groups()
        try:
            value = float(raw)
        except ValueError:
            continue
        pairs = tuple(
            (key, value_.replace('\\"', '"').replace("\\n", "\n").replace("\\\\", "\\"))
            for key, value_ in _LABEL.findall(labels or "")
        )
        samples.append(Sample(name, pairs, value))
    return tuple(samples)


def scrape(url: str, timeout: float = 3.0) -> Scrape:
    """Read ``url`` (the collector's ``/metrics``); OSError when it cannot be reached."""
    with urllib.request.urlopen(url, timeout=timeout) as response:
        text = response.read().decode()
    return Scrape(datetime.now(UTC), parse_prometheus(text))


def visible_samples(found: Scrape, tenant: str | None) -> Scrape:
    """What a viewer confined to ``tenant`` may see: that tenant's series and the collector's
    own (queue, spool, health, write latency). ``None`` (no login) sees everything."""
    if tenant is None:
        return found
    kept = tuple(s for s in found.samples if s.name in _TENANT_FREE or s.label("tenant") == tenant)
    return Scrape(found.at, kept)


def rates(before: Scrape, after: Scrape, name: str, by: str) -> pd.DataFrame:
    """Per value of label ``by``: the per-second increase of counter ``name`` between scrapes
    (a counter that went down means the collector restarted: its new value is the increase)."""
    seconds = (after.at - before.at).total_seconds()
    if seconds <= 0:
        return pd.DataFrame(columns=[by.capitalize(), "PerSecond"])
    keys = sorted({s.label(by) for s in after.samples if s.name == name})
    rows = []
    for key in keys:
        now, then = after.total(name, **{by: key}), before.total(name, **{by: key})
        rows.append(
            {by.capitalize(): key, "PerSecond": (now - then if now >= then else now) / seconds}
        )
    return pd.DataFrame(rows, columns=[by.capitalize(), "PerSecond"])


def histogram_counts(found: Scrape, name: str) -> pd.DataFrame:
    """A cumulative Prometheus histogram as per-bucket counts, in bucket order: columns Bucket
    (its upper bound as text, "+Inf" last) and Count."""
    buckets = sorted(
        (float(s.label("le")), s.label("le"), s.value)
        for s in found.samples
        if s.name == f"{name}_bucket"
    )
    rows, below, previous = [], 0.0, ""
    for _, label, cumulative in buckets:
        bucket = f"> {previous} s" if label == "+Inf" else f"≤ {label} s"
        rows.append({"Bucket": bucket, "Count": cumulative - below})
        below, previous = cumulative, label
    return pd.DataFrame(rows, columns=["Bucket", "Count"])


def histogram_quantile(found: Scrape, name: str, q: float) -> float:
    """Quantile ``q`` of a cumulative Prometheus histogram (linear within the bucket, as
    PromQL's ``histogram_quantile``); NaN when it has no observations."""
    buckets = sorted(
        (float(s.label("le")), s.value) for s in found.samples if s.name == f"{name}_bucket"
    )
    if not buckets or buckets[-1][1] == 0:
        return math.nan
    rank = q * buckets[-1][1]
    lower_bound, lower_count = 0.0, 0.0
    for bound, count in buckets:
        if count >= rank:
            if math.isinf(bound):
                return lower_bound
            share = (rank - lower_count) / (count - lower_count) if count > lower_count else 1.0
            return lower_bound + (bound - lower_bound) * share
        lower_bound, lower_count = bound, count
    return lower_bound


def ingest_history(store: Store, filters: Filters) -> pd.DataFrame:
    """Per chart bucket of the window, by when rows were stored (``InsertedAt``): Spans,
    Decisions and KpiEvents stored, and P50/P95 seconds from span start to storage."""
    stored = (
        "InsertedAt >= {start:DateTime64(3, 'UTC')} AND InsertedAt < {end:DateTime64(3, 'UTC')}"
    )
    bucket = f"toStartOfInterval(toDateTime(InsertedAt, 'UTC'), {STEP})"
    sql = f"""
        SELECT toDateTime64(Bucket, 0, 'UTC') AS Time, Spans, Decisions, KpiEvents,
               P50DelayS, P95DelayS
        FROM (
            SELECT Bucket, sum(Spans) AS Spans, sum(Decisions) AS Decisions,
                   sum(KpiEvents) AS KpiEvents, max(P50DelayS) AS P50DelayS,
                   max(P95DelayS) AS P95DelayS
            FROM (
                SELECT {bucket} AS Bucket, count() AS Spans, 0 AS Decisions, 0 AS KpiEvents,
                       quantiles(0.5, 0.95)(greatest(
                           toUnixTimestamp64Milli(InsertedAt) - toUnixTimestamp64Milli(Timestamp),
                           0) / 1e3) AS q,
                       q[1] AS P50DelayS, q[2] AS P95DelayS
                FROM otel_traces WHERE {stored} AND {filters.where(time=None)}
                GROUP BY Bucket
                UNION ALL
                SELECT {bucket}, 0, count(), 0, [], 0, 0
                FROM decisions WHERE {stored} AND {filters.where(time=None)}
                GROUP BY 1
                UNION ALL
                SELECT {bucket}, 0, 0, count(), [], 0, 0
                FROM kpi_events WHERE {stored} AND {filters.where(time=None, agent=None)}
                GROUP BY 1
            )
            GROUP BY Bucket
            {FILLED_BUCKETS}
        )
        ORDER BY Time
    """
    return frame(store, sql, filters.params() | {"step": filters.window.step_seconds})
