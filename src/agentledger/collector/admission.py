"""Admission control: a bound on request bytes being processed at once.

Past the bound the receiver answers 429 with Retry-After instead of queueing without limit, so
memory stays bounded whatever the offered load and OTLP exporters back off and retry.
"""

from __future__ import annotations

import threading

__all__ = ["Admission"]


class Admission:
    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._inflight = 0
        self._lock = threading.Lock()

    @property
    def inflight(self) -> int:
        return self._inflight

    def try_acquire(self, size: int) -> bool:
        with self._lock:
            # One request larger than the whole budget is still admitted when nothing else runs.
            if self._inflight and self._inflight + size > self.max_bytes:
                return False
            self._inflight += size
            return True

    def release(self, size: int) -> None:
        with self._lock:
            self._inflight -= size
