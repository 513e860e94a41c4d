"""``agentledger up --demo`` in a real headless Chromium: the Overview page fills with demo data."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ..conftest import ARTIFACTS, free_port, stop, wait_http

pytestmark = pytest.mark.browser

CHROMEDRIVER = shutil.which("chromedriver")


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, object]]:
    ports = {name: free_port() for name in ("otlp", "grpc", "sql", "dashboard")}
    env = dict(os.environ)
    env.pop("AGENTLEDGER_CLICKHOUSE_URL", None)
    env.pop("AGENTLEDGER_API_KEYS", None)
    env.update(
        {
            "AGENTLEDGER_ADMIN_PASSWORD": "admin-pw",
            "AGENTLEDGER_READER_PASSWORD": "reader-pw",
            "AGENTLEDGER_JOB_INTERVAL_SECONDS": "2",
        }
    )
    data_dir: Path = tmp_path_factory.mktemp("up") / "data"
    log = (tmp_path_factory.mktemp("logs") / "up.log").open("w")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "agentledger.cli",
            "up",
            "--demo",
            "--demo-rate",
            "10",
            "--data-dir",
            str(data_dir),
            "--otlp-http-port",
            str(ports["otlp"]),
            "--otlp-grpc-port",
            str(ports["grpc"]),
            "--sql-port",
            str(ports["sql"]),
            "--dashboard-port",
            str(ports["dashboard"]),
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        wait_http(f"http://127.0.0.1:{ports['sql']}/ping", timeout=90, proc=proc)
        wait_http(f"http://127.0.0.1:{ports['dashboard']}/_stcore/health", timeout=90, proc=proc)
        yield {"ports": ports, "proc": proc, "log": Path(log.name)}
    finally:
        stop(proc)
        log.close()
    # SIGTERM to `up` stops what it started: nothing answers on its ports any more.
    for port in (ports["sql"], ports["otlp"], ports["dashboard"]):
        with socket.socket() as probe:
            assert probe.connect_ex(("127.0.0.1", port)) != 0, (
                f"port {port} still served after up stopped"
            )


def _client(port: int):  # type: ignore[no-untyped-def]
    import clickhouse_connect

    return clickhouse_connect.get_client(
        host="127.0.0.1", port=port, username="reader", password="reader-pw", database="agentledger"
    )


def _wait_for_demo_data(sql_port: int, timeout: float = 90) -> None:
    client = _client(sql_port)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        counts = client.query(
            "SELECT (SELECT count() FROM otel_traces), (SELECT count() FROM decisions),"
            " (SELECT count() FROM cost_rollups), (SELECT count() FROM kpi_events)"
        ).result_rows[0]
        if all(counts):
            return
        time.sleep(1)
    raise TimeoutError(f"demo data incomplete after {timeout}s: {counts}")


def _metrics(driver) -> dict[str, str]:  # type: ignore[no-untyped-def]
    from selenium.webdriver.common.by import By

    found = {}
    for metric in driver.find_elements(By.CSS_SELECTOR, '[data-testid="stMetric"]'):
        label = metric.find_element(By.CSS_SELECTOR, '[data-testid="stMetricLabel"]').text.strip()
        found[label] = metric.find_element(
            By.CSS_SELECTOR, '[data-testid="stMetricValue"]'
        ).text.strip()
    return found


@pytest.mark.skipif(
    CHROMEDRIVER is None, reason="chromium-driver is not installed (make test installs it)"
)
def test_overview_shows_real_demo_numbers(platform: dict[str, object]) -> None:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    ports: dict[str, int] = platform["ports"]  # type: ignore[assignment]
    _wait_for_demo_data(ports["sql"])
    client = _client(ports["sql"])
    spans_before = client.query("SELECT count() FROM otel_traces").result_rows[0][0]

    options = webdriver.ChromeOptions()
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-dev-shm-usage",
        "--window-size=1400,2200",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        driver.get(f"http://127.0.0.1:{ports['dashboard']}/?range=1h")
        WebDriverWait(driver, 60).until(lambda d: len(_metrics(d)) >= 3)
        WebDriverWait(driver, 60).until(
            lambda d: (
                not d.find_elements(
                    By.CSS_SELECTOR, '[data-testid="stStatusWidget"], [data-testid="stSkeleton"]'
                )
            )
        )
        time.sleep(1)
        ARTIFACTS.mkdir(exist_ok=True)
        driver.save_screenshot(str(ARTIFACTS / "overview.png"))
        assert not driver.find_elements(By.CSS_SELECTOR, '[data-testid="stException"]')
        # Data grids draw on a canvas; their cells are in the DOM for accessibility, not as text.
        body = driver.execute_script("return document.body.textContent")
        metrics = _metrics(driver)
    finally:
        driver.quit()

    spans_after = client.query("SELECT count() FROM otel_traces").result_rows[0][0]
    spans_shown = int(metrics["Spans"].replace(",", ""))
    assert spans_before <= spans_shown <= spans_after, (metrics, spans_before, spans_after)
    assert metrics["Error rate"].endswith("%")
    assert "support" in body  # the demo agent's name, in the latency panel
    assert "refund" in body  # latest decisions
    assert "csat" in body  # KPI totals
