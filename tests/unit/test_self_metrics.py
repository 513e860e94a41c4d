from __future__ import annotations

import re

from agentledger.collector.self_metrics import SelfMetrics


def test_prometheus_text_has_counters_gauges_and_a_cumulative_histogram() -> None:
    metrics = SelfMetrics()
    metrics.add("agentledger_received_records_total", 5, signal="traces", tenant='a"b')
    metrics.add("agentledger_received_records_total", 2, signal="traces", tenant='a"b')
    metrics.gauge("agentledger_spool_bytes", "Bytes waiting in the spool.", lambda: 1234)
    metrics.written("otel_traces", 100, 0.003)
    metrics.written("otel_traces", 50, 0.2)
    text = metrics.render()
    assert 'agentledger_received_records_total{signal="traces",tenant="a\\"b"} 7' in text
    assert "# TYPE agentledger_spool_bytes gauge\nagentledger_spool_bytes 1234" in text
    assert 'agentledger_written_rows_total{table="otel_traces"} 150' in text
    buckets = [
        int(v) for v in re.findall(r'agentledger_write_seconds_bucket\{le="[^"]+"\} (\d+)', text)
    ]
    assert buckets == sorted(buckets) and buckets[0] == 1 and buckets[-1] == 2
    assert "agentledger_write_seconds_count 2" in text
    assert metrics.value("agentledger_received_records_total", signal="traces", tenant='a"b') == 7
