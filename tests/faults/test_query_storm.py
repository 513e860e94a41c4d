"""A dashboard query storm while ingesting: ingest keeps its rate within 20 %."""

from __future__ import annotations

import time
from pathlib import Path

from ..conftest import start_server, stop
from .conftest import QueryStorm, Traffic, expected, wait_all_stored

WINDOW = 4.0
# Quiet and stormy windows alternate: the store grows and its merges get busier as the test runs,
# which would otherwise count against whichever window always comes second.
ROUNDS = 3


def test_ingest_keeps_its_rate_under_a_dashboard_query_storm(tmp_path: Path) -> None:
    server, proc = start_server(tmp_path)
    traffic = Traffic(server.otlp_url, server.api_keys["acme"], decisions=False)
    quiet_spans = stormy_spans = 0
    queries = 0
    try:
        with traffic:
            time.sleep(2)  # warm-up: the first rows exist for the dashboards to read
            for _ in range(ROUNDS):
                quiet_from = time.monotonic()
                time.sleep(WINDOW)
                quiet_spans += traffic.accepted_spans_between(quiet_from, quiet_from + WINDOW)
                with QueryStorm(server.sql_port, server.reader_password) as storm:
                    stormy_from = time.monotonic()
                    time.sleep(WINDOW)
                stormy_spans += traffic.accepted_spans_between(stormy_from, stormy_from + WINDOW)
                assert not storm.errors, storm.errors[:3]
                queries += len(storm.latencies)
        quiet = quiet_spans / (ROUNDS * WINDOW)
        stormy = stormy_spans / (ROUNDS * WINDOW)
        print(f"ingest: {quiet:.0f} spans/s quiet, {stormy:.0f} spans/s during {queries} queries")
        assert queries > 20
        assert stormy >= 0.8 * quiet, (quiet, stormy)
        assert wait_all_stored(server, traffic) == expected(traffic)
    finally:
        stop(proc)
