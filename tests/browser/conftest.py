"""Browser fixtures for every dashboard page: the seeded two-tenant store behind the real SQL
endpoint, ``streamlit run`` of the real app against it, and a headless Chromium.

A page test is then: ``text = page.open("/traces", trace_id=...)``, assert on ``text`` (the
rendered document's text; data grids keep their cells in the DOM for accessibility), and the
screenshot lands in ``tests/artifacts/<name>.png``. Module-scoped, because chDB allows one data
directory per process and each module gets the shared ``store`` fixture's own.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from agentledger.dashboards import APP_PATH

from ..conftest import ARTIFACTS, free_port, stop, wait_http
from .dashboard_fixtures import dashboard_store, reader_url

__all__ = ["BrowserPage", "dashboard_store", "reader_url"]

CHROMEDRIVER = shutil.which("chromedriver")
CHROME_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-dev-shm-usage",
    "--window-size=1400,2400",
)
_BUSY = '[data-testid="stStatusWidget"], [data-testid="stSkeleton"], [data-testid="stSpinner"]'
_ERRORS = '[data-testid="stException"], [data-testid="stAlertContentError"]'


@pytest.fixture(scope="module")
def collector_port() -> int:
    """Where the app looks for the collector's ``/metrics``: nothing listens here unless a
    module overrides this fixture with a port it serves."""
    return free_port()


@pytest.fixture(scope="module")
def dashboard_url(
    reader_url: str, collector_port: int, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """``streamlit run`` of the whole app (navigation included) reading ``reader_url``."""
    port = free_port()
    env = dict(os.environ, AGENTLEDGER_CLICKHOUSE_URL=reader_url, AGENTLEDGER_HOST="127.0.0.1")
    env["AGENTLEDGER_OTLP_HTTP_PORT"] = str(collector_port)
    log = (tmp_path_factory.mktemp("streamlit") / "streamlit.log").open("w")
    argv = [sys.executable, "-m", "streamlit", "run", str(APP_PATH), "--server.port", str(port)]
    argv += ["--server.headless", "true", "--browser.gatherUsageStats", "false"]
    proc = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_http(f"http://127.0.0.1:{port}/_stcore/health", timeout=60, proc=proc)  # type: ignore[arg-type]
        yield f"http://127.0.0.1:{port}"
    finally:
        stop(proc)  # type: ignore[arg-type]
        log.close()


@pytest.fixture(scope="module")
def driver() -> Iterator[Any]:
    if CHROMEDRIVER is None:
        pytest.skip("chromium-driver is not installed (make test installs it)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    for flag in CHROME_FLAGS:
        options.add_argument(flag)
    chrome = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    yield chrome
    chrome.quit()


@dataclass
class BrowserPage:
    """Opens dashboard pages in the shared Chromium and waits until Streamlit is done."""

    driver: Any
    base_url: str

    def open(self, path: str, screenshot: str, expect: str, **query: str) -> str:
        """Load ``path?query``, wait until the page shows ``expect`` and nothing is running,
        save ``tests/artifacts/<screenshot>.png``, check there is no error element, and return
        the document's text."""
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support.ui import WebDriverWait

        url = f"{self.base_url}{path}" + (f"?{urlencode(query)}" if query else "")
        self.driver.get(url)
        WebDriverWait(self.driver, 60).until(lambda d: expect in _text(d) and not _busy(d))
        time.sleep(0.5)  # charts draw after the last delta arrives
        WebDriverWait(self.driver, 30).until(lambda d: not _busy(d))
        ARTIFACTS.mkdir(exist_ok=True)
        self.driver.save_screenshot(str(ARTIFACTS / f"{screenshot}.png"))
        errors = self.driver.find_elements(By.CSS_SELECTOR, _ERRORS)
        assert not errors, [e.text for e in errors]
        return _text(self.driver)


def _text(driver: Any) -> str:
    text: str = driver.execute_script("return document.body.textContent")
    return text


def _busy(driver: Any) -> bool:
    from selenium.webdriver.common.by import By

    return bool(driver.find_elements(By.CSS_SELECTOR, _BUSY))


@pytest.fixture(scope="module")
def page(driver: Any, dashboard_url: str) -> BrowserPage:
    return BrowserPage(driver, dashboard_url)


def artifact(name: str) -> Path:
    return ARTIFACTS / f"{name}.png"
