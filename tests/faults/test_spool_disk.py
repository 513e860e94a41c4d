"""The spool's disk refuses writes: 503 (or 429) with Retry-After, no crash, no torn segment,
and full service once space returns.

A full disk needs a small filesystem, which needs root here (no tmpfs or loop mounts). The test
makes the kernel refuse the writes instead: the collector runs with a small ``RLIMIT_FSIZE``
(``ulimit -f``), so writing a spool segment past it fails with ``EFBIG``, as a full disk fails
with ``ENOSPC``: the same ``OSError`` on the same ``write``. "Space returns" is ``prlimit``
raising the limit of the running process. The spool's own quota (``AGENTLEDGER_SPOOL_MAX_BYTES``)
is exercised by the store-outage test.
"""

from __future__ import annotations

import resource
import subprocess
import time
import urllib.request
from pathlib import Path

from ..conftest import free_port, serve_argv, stop, wait_http
from ..integration.test_durability import _store_process
from .conftest import Traffic, expected, wait_all_stored

FILE_LIMIT = 150_000  # bytes: a segment reaches it within a flush interval under this load


def _limited(limit: int) -> None:
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.RLIM_INFINITY))


def test_disk_write_errors_are_retryable_refusals_then_recover(tmp_path: Path) -> None:
    store, store_proc = _store_process(tmp_path)
    port = free_port()
    env = dict(
        store.env,
        AGENTLEDGER_CLICKHOUSE_URL=f"http://admin:{store.admin_password}@127.0.0.1:{store.sql_port}",
        AGENTLEDGER_FLUSH_INTERVAL_SECONDS="3",  # segments grow for 3 s: past the file limit
    )
    collector = subprocess.Popen(
        serve_argv(tmp_path / "collector", port, free_port()),
        env=env,
        preexec_fn=lambda: _limited(FILE_LIMIT),
    )
    url = f"http://127.0.0.1:{port}"
    traffic = Traffic(url, store.api_keys["acme"])
    try:
        wait_http(f"{url}/healthz", proc=collector)
        with traffic:
            time.sleep(8)
            refused = dict(traffic.statuses)
            with urllib.request.urlopen(f"{url}/healthz", timeout=5) as health:
                assert health.status == 200 and collector.poll() is None
            resource.prlimit(
                collector.pid, resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY,) * 2
            )  # space returns
            time.sleep(1)
            returned_at = time.monotonic()
            time.sleep(5)
            after = traffic.accepted_spans_between(returned_at, returned_at + 5)
        assert refused.get(503, 0) + refused.get(429, 0) > 0, refused
        assert set(traffic.statuses) <= {200, 429, 503}, traffic.statuses  # never a 500
        assert after > 0
        late = [s for at, s, _ in traffic.timeline if at >= returned_at]
        assert late and all(status == 200 for status in late), late[-20:]
        assert wait_all_stored(store, traffic) == expected(traffic)
    finally:
        stop(collector)
        stop(store_proc)
