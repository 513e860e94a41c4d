"""Whether any of a set of regular expressions may occur in raw bytes, at memory speed.

The receiver asks this of every trace request before it spools the request's bytes for the
engine to decode (see ``Redactor.may_redact``). RE2 through Arrow scanned a 141 KB request of
``benchmarks/ingest.py`` in ~400 µs with the default rules and ~960 µs with all of them, a
fifth of the receiver's time a request; Hyperscan, with every pattern in one database, takes
~20 and ~270 µs (``benchmarks/redaction.py`` prints both).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

import hyperscan

__all__ = ["ByteScan", "ByteScanError"]

# Prefilter mode: a pattern Hyperscan cannot run exactly (a bounded repeat too large for it, say)
# is widened until it can, so a scan finds at least every match, never fewer.
_FLAGS = hyperscan.HS_FLAG_PREFILTER | hyperscan.HS_FLAG_SINGLEMATCH


class ByteScanError(ValueError):
    """A pattern Hyperscan cannot compile, even widened."""


class ByteScan:
    """Patterns compiled once; :meth:`found` is safe to call from any number of threads."""

    def __init__(self, patterns: Sequence[str]) -> None:
        if not patterns:
            raise ByteScanError("no patterns to scan for")
        self._database = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
        try:
            self._database.compile(
                expressions=[pattern.encode() for pattern in patterns],
                ids=list(range(len(patterns))),
                elements=len(patterns),
                flags=[_FLAGS] * len(patterns),
            )
        except hyperscan.error as exc:
            raise ByteScanError(f"cannot compile for Hyperscan: {exc}") from None
        # A scan runs without the GIL and needs scratch space no other scan is using.
        self._scratch = threading.local()

    def found(self, data: bytes) -> bool:
        """Whether any pattern may match somewhere in ``data`` (bytes taken one by one)."""
        scratch = getattr(self._scratch, "space", None)
        if scratch is None:
            scratch = self._scratch.space = hyperscan.Scratch(self._database)
        try:
            self._database.scan(data, match_event_handler=_stop, scratch=scratch)
        except hyperscan.ScanTerminated:  # the first match stops the scan
            return True
        return False


def _stop(pattern: int, start: int, end: int, flags: int, context: object) -> bool:
    return True
