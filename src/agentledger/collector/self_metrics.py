"""The collector's own metrics, served as Prometheus text at ``/metrics``.

An SRE must see what the collector accepted, rejected, redacted, queued, spooled and wrote, per
signal and tenant, and how long writes take, without reading logs. Plain counters behind one lock
are enough at request granularity; no client library is needed for the text format.
"""

from __future__ import annotations

import bisect
import threading
from collections import defaultdict
from collections.abc import Callable, Mapping

__all__ = ["SelfMetrics"]

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

_HELP = {
    "agentledger_received_records_total": "Records received, by signal and tenant.",
    "agentledger_accepted_records_total": "Records accepted into the spool, by signal and tenant.",
    "agentledger_rejected_records_total": "Records rejected, by signal, tenant and reason.",
    "agentledger_redacted_values_total": "Matches redacted before storage, by rule.",
    "agentledger_refused_requests_total": "Requests refused whole, by HTTP status.",
    "agentledger_written_rows_total": "Rows written to the store, by table.",
    "agentledger_written_batches_total": "Batches written to the store, by table.",
}


class SelfMetrics:
    """Thread-safe counters, gauges read on demand, and a write-latency histogram."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counters: dict[str, dict[tuple[tuple[str, str], ...], float]] = defaultdict(
            lambda: defaultdict(float)
        )
        self._gauges: dict[str, tuple[str, Callable[[], float]]] = {}
        self._sources: dict[str, tuple[str, Callable[[], Mapping[str, float]]]] = {}
        self._latency_counts = [0] * (len(_LATENCY_BUCKETS) + 1)
        self._latency_sum = 0.0

    def add(self, name: str, value: float = 1, **labels: str) -> None:
        key = tuple(sorted(labels.items()))
        with self._lock:
            self._counters[name][key] += value

    def gauge(self, name: str, help_text: str, read: Callable[[], float]) -> None:
        """Register a value read at scrape time (queue bytes, spool bytes, store health)."""
        self._gauges[name] = (help_text, read)

    def labelled(self, name: str, label: str, read: Callable[[], Mapping[str, float]]) -> None:
        """Register a counter kept elsewhere (e.g. the redactor's per-rule counts), one series
        per key of what ``read`` returns, read at scrape time."""
        self._sources[name] = (label, read)

    def written(self, table: str, rows: int, seconds: float) -> None:
        """Record one batch the writer stored (the writer's ``on_stored`` callback)."""
        self.add("agentledger_written_rows_total", rows, table=table)
        self.add("agentledger_written_batches_total", 1, table=table)
        with self._lock:
            self._latency_counts[bisect.bisect_left(_LATENCY_BUCKETS, seconds)] += 1
            self._latency_sum += seconds

    def value(self, name: str, **labels: str) -> float:
        with self._lock:
            return self._counters[name].get(tuple(sorted(labels.items())), 0.0)

    def render(self) -> str:
        """Prometheus text exposition format 0.0.4."""
        lines: list[str] = []
        with self._lock:
            for name in sorted(self._counters):
                lines += [f"# HELP {name} {_HELP.get(name, name)}", f"# TYPE {name} counter"]
                for labels, value in sorted(self._counters[name].items()):
                    lines.append(f"{name}{_labels(labels)} {value:g}")
            lines += [
                "# HELP agentledger_write_seconds Time to store one batch.",
                "# TYPE agentledger_write_seconds histogram",
            ]
            cumulative = 0
            for bound, count in zip(
                (*_LATENCY_BUCKETS, float("inf")), self._latency_counts, strict=True
            ):
                cumulative += count
                le = "+Inf" if bound == float("inf") else f"{bound:g}"
                lines.append(f'agentledger_write_seconds_bucket{{le="{le}"}} {cumulative}')
            lines.append(f"agentledger_write_seconds_sum {self._latency_sum:g}")
            lines.append(f"agentledger_write_seconds_count {cumulative}")
        for name, (label, read_counts) in sorted(self._sources.items()):
            lines += [f"# HELP {name} {_HELP.get(name, name)}", f"# TYPE {name} counter"]
            for key, value in sorted(read_counts().items()):
                lines.append(f"{name}{_labels(((label, key),))} {value:g}")
        for name, (help_text, read) in sorted(self._gauges.items()):
            lines += [f"# HELP {name} {help_text}", f"# TYPE {name} gauge", f"{name} {read():g}"]
        return "\n".join(lines) + "\n"


def _labels(labels: tuple[tuple[str, str], ...]) -> str:
    if not labels:
        return ""
    inner = ",".join(f'{key}="{_escape(value)}"' for key, value in labels)
    return "{" + inner + "}"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
