"""What a job run produced, recorded in ``job_runs``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

__all__ = ["JobResult"]


@dataclass(frozen=True)
class JobResult:
    """The window a job covered and the rows it wrote."""

    window_start: datetime
    window_end: datetime
    rows: int
