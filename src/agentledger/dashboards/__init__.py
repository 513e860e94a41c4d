"""The Streamlit dashboards, and how to launch them as their own process.

Streamlit apps run under ``streamlit run``, not as an importable server, so the CLI starts a child
process with the argv built here; the child reads the same ``AGENTLEDGER_*`` environment.
"""

from __future__ import annotations

import sys
from pathlib import Path

from agentledger.config import Settings

__all__ = ["APP_PATH", "dashboard_command"]

APP_PATH = Path(__file__).parent / "app.py"


def dashboard_command(settings: Settings) -> list[str]:
    """The argv that serves the dashboards on ``settings.host:settings.dashboard_port``."""
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(APP_PATH),
        "--server.port",
        str(settings.dashboard_port),
        "--server.address",
        settings.host,
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
    ]
