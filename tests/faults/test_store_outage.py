"""The store is unavailable for 30 s under load: the spool grows, readiness drops once it is
full (clients get 503 + Retry-After), then everything recovers and nothing acknowledged is lost."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

from ..conftest import stop, wait_http
from ..integration.test_durability import _collector, _store_process
from .conftest import Traffic, expected, metric, ready, wait_all_stored

OUTAGE_SECONDS = 30
SPOOL_LIMIT = 3_000_000


def test_a_30_second_store_outage_under_load(tmp_path: Path) -> None:
    store, store_proc = _store_process(tmp_path)
    url, collector = _collector(store, tmp_path, AGENTLEDGER_SPOOL_MAX_BYTES=str(SPOOL_LIMIT))
    traffic = Traffic(url, store.api_keys["acme"])
    samples: list[tuple[float, float, bool]] = []  # (spool bytes, store healthy, ready)
    try:
        with traffic:
            time.sleep(2)
            assert ready(url)
            stop(store_proc)  # the ClickHouse server goes away
            down_at = time.monotonic()
            while time.monotonic() - down_at < OUTAGE_SECONDS:
                samples.append(
                    (
                        metric(url, "agentledger_spool_bytes"),
                        metric(url, "agentledger_store_healthy"),
                        ready(url),
                    )
                )
                time.sleep(1)
            refused_during = dict(traffic.statuses)
            store_proc = subprocess.Popen(store_proc.args, env=store.env)
            wait_http(f"http://127.0.0.1:{store.sql_port}/ping", proc=store_proc)
            deadline = time.monotonic() + 60
            while not ready(url) or metric(url, "agentledger_store_healthy") != 1:
                assert time.monotonic() < deadline, "the collector did not recover"
                time.sleep(0.5)
            recovered_at = time.monotonic()
            time.sleep(2)
        spool = [bytes_ for bytes_, _, _ in samples]
        assert spool[0] < spool[len(spool) // 2] <= spool[-1], spool  # it grew, and kept it all
        assert max(spool) >= SPOOL_LIMIT * 0.9, spool  # it took the load until full
        assert 0.0 in {healthy for _, healthy, _ in samples}
        # 429 while the store had stored something within seconds, 503 once it takes nothing
        assert refused_during.get(503, 0) > 0 and set(traffic.statuses) <= {200, 429, 503}
        assert traffic.accepted_spans_between(recovered_at, recovered_at + 2) > 0
        assert wait_all_stored(store, traffic) == expected(traffic)
        assert not samples[-1][2], "readiness did not drop while the store was down and full"
    finally:
        stop(collector)
        stop(store_proc)
