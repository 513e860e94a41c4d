"""kill -9 of the server during sustained ingest, twice, then restart: every acknowledged span
and decision is stored exactly once, and the decision chain still verifies."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

from ..conftest import start_server, stop, wait_http
from .conftest import Traffic, expected, wait_all_stored


def _restart(
    args: list[str], env: dict[str, str], otlp_url: str, sql_port: int
) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(args, env=env)
    wait_http(f"{otlp_url}/readyz", proc=proc)
    wait_http(f"http://127.0.0.1:{sql_port}/ping", proc=proc)
    return proc


def test_kill_9_twice_during_sustained_ingest_loses_and_duplicates_nothing(
    tmp_path: Path,
) -> None:
    server, proc = start_server(tmp_path, {"AGENTLEDGER_FLUSH_INTERVAL_SECONDS": "0.5"})
    argv = [str(arg) for arg in proc.args]  # type: ignore[union-attr]
    traffic = Traffic(server.otlp_url, server.api_keys["acme"])
    try:
        with traffic:
            for _ in range(2):
                time.sleep(2.5)  # mid-stream: spooled, half-written and stored data all exist
                proc.send_signal(signal.SIGKILL)
                proc.wait()
                proc = _restart(argv, server.env, server.otlp_url, server.sql_port)
            time.sleep(1.5)
        assert len(traffic.acked_spans) > 200 and len(traffic.acked_decisions) > 5
        assert wait_all_stored(server, traffic) == expected(traffic)
        verified = server.cli("audit", "verify")
        assert verified.returncode == 0, verified.stderr
    finally:
        stop(proc)
