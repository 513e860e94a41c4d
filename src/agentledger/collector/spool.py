"""The write-ahead spool: accepted batches on disk until the writer has stored them.

A 2xx to a client means its rows are in a spool segment, so a crash, a ``kill -9`` or a storage
outage loses nothing acknowledged. Segments are append-only files of frames; the writer stores a
whole segment at once (one insert per table, with a deduplication token made of the segment name,
so a replay after a crash never stores a batch twice) and then deletes it.

Frame: ``u32 header length | JSON header | u64 payload length | payload``. The payload is an Arrow
IPC stream of decoded rows (header ``{"table": ...}``), or a raw OTLP trace request that the
engine decodes itself (header ``{"table": ..., "otlp": <tenant>, "records": <spans>}``). A torn
frame at the end of a segment (the process died mid-write) is dropped on read: that request was
never acknowledged.
"""

from __future__ import annotations

import contextlib
import json
import os
import struct
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from agentledger.config import Settings

__all__ = ["RawRequest", "Segment", "Spool", "SpoolFull"]

_Frames = bytes  # (Spool.bytes is a property)
_HEAD = struct.Struct("<I")
_SIZE = struct.Struct("<Q")
_OPEN, _READY = ".open", ".ready"
# A store that took a segment this recently (or, just after start, has not failed yet) is behind,
# not down.
_DRAINING_SECONDS = 10.0


class SpoolFull(Exception):
    """The spool cannot take a request: over its size limit, or the disk refused the write.

    ``draining`` tells a slow store (its last write did not fail and it took a segment within the
    last few seconds, or the spool is that new: the receiver answers 429, overloaded) from a store
    that takes nothing (503, unavailable).
    """

    def __init__(self, message: str, draining: bool) -> None:
        super().__init__(message)
        self.draining = draining


@dataclass(frozen=True)
class RawRequest:
    """An OTLP trace request spooled as received, for the engine to decode."""

    tenant: str
    records: int
    payload: bytes | memoryview


@dataclass(frozen=True)
class Segment:
    """A closed segment, ready to be stored."""

    path: Path

    @property
    def name(self) -> str:
        return self.path.stem

    def frames(self) -> Iterator[tuple[str, pa.Table | RawRequest]]:
        """(table, rows or raw request) for every complete frame, in write order."""
        data = memoryview(self.path.read_bytes())  # frames are views of it, not copies
        offset = 0
        while offset + _HEAD.size <= len(data):
            (head_len,) = _HEAD.unpack_from(data, offset)
            start = offset + _HEAD.size
            if start + head_len + _SIZE.size > len(data):
                return
            header = json.loads(bytes(data[start : start + head_len]))
            (size,) = _SIZE.unpack_from(data, start + head_len)
            body_start = start + head_len + _SIZE.size
            if body_start + size > len(data):
                return
            body = data[body_start : body_start + size]
            if "otlp" in header:
                yield header["table"], RawRequest(header["otlp"], header["records"], body)
            else:
                with pa.ipc.open_stream(pa.BufferReader(body)) as reader:
                    yield header["table"], reader.read_all()
            offset = body_start + size


class Spool:
    """Append batches to the open segment; rotate it into ready segments for the writer."""

    def __init__(
        self,
        directory: Path,
        max_bytes: int,
        segment_bytes: int = Settings.spool_segment_bytes,
    ) -> None:
        self.directory = directory
        self.directory.mkdir(parents=True, exist_ok=True)
        self.max_bytes = max_bytes
        # A segment is one insert: the bigger, the less each span pays of the insert's fixed cost.
        self.segment_bytes = segment_bytes
        self._lock = threading.Lock()
        self._sequence = int(time.time() * 1000) * 1000
        self._bytes = sum(path.stat().st_size for path in self._files())
        self._full = False
        self._failing = False
        self._last_done = time.monotonic()
        self._claimed: set[Path] = set()
        self._recover()
        self._open_path = self._new_path(_OPEN)
        self._file = self._open_path.open("ab")

    @property
    def bytes(self) -> int:
        """Bytes on disk not yet stored (open segment included)."""
        return self._bytes

    @property
    def full(self) -> bool:
        """An append was refused and the writer has stored nothing since: not ready for data."""
        return self._full

    def append(self, batches: list[tuple[str, pa.Table]]) -> None:
        """Durably queue ``batches`` (table name, rows) as one unit; raise SpoolFull when full."""
        self._write(b"".join(_arrow_frame(table, rows) for table, rows in batches if rows.num_rows))

    def append_raw(self, table: str, request: RawRequest) -> None:
        """Durably queue a raw OTLP request for ``table``; raise SpoolFull when full."""
        header: dict[str, str | int] = {
            "table": table,
            "otlp": request.tenant,
            "records": request.records,
        }
        self._write(_frame(header, request.payload))

    def _write(self, frames: _Frames) -> None:
        if not frames:
            return
        with self._lock:
            if self._bytes + len(frames) > self.max_bytes:
                raise self._refuse(
                    f"spool is full ({self._bytes} of {self.max_bytes} bytes); storage is behind"
                )
            start = self._file.tell()
            try:
                self._file.write(frames)
                self._file.flush()  # in the OS page cache: survives the process being killed
            except OSError as exc:
                self._cut(start)
                raise self._refuse(f"spool cannot write to disk ({exc.strerror})") from None
            self._bytes += len(frames)
            if self._file.tell() >= self.segment_bytes:
                self._rotate()

    def _refuse(self, message: str) -> SpoolFull:
        self._full = True
        draining = not self._failing and time.monotonic() - self._last_done < _DRAINING_SECONDS
        return SpoolFull(message, draining)

    def _cut(self, size: int) -> None:
        """Drop a frame the disk took only part of, so the segment stays a sequence of frames
        (a torn frame mid-segment would hide every frame after it), and reopen the segment."""
        with contextlib.suppress(OSError):  # closing flushes what is buffered: it may fail again
            self._file.close()
        os.truncate(self._open_path, size)
        self._file = self._open_path.open("ab")

    def rotate(self) -> None:
        """Close the open segment (if it holds anything) so the writer can take it."""
        with self._lock:
            self._rotate()

    def _rotate(self) -> None:
        if self._file.tell() == 0:
            return
        self._file.close()
        self._open_path.rename(self._open_path.with_suffix(_READY))
        self._open_path = self._new_path(_OPEN)
        self._file = self._open_path.open("ab")

    def ready(self) -> list[Segment]:
        """Closed segments, oldest first."""
        return [Segment(path) for path in sorted(self.directory.glob(f"*{_READY}"))]

    def claim(self) -> Segment | None:
        """The oldest closed segment no other writer holds, now held by the caller until
        :meth:`done` or :meth:`release`; None when there is none."""
        with self._lock:
            for segment in self.ready():
                if segment.path not in self._claimed:
                    self._claimed.add(segment.path)
                    return segment
        return None

    def release(self, segment: Segment) -> None:
        """The caller could not store ``segment``: another writer may take it."""
        with self._lock:
            self._claimed.discard(segment.path)

    def done(self, segment: Segment) -> None:
        """The segment is stored: forget it."""
        size = segment.path.stat().st_size
        segment.path.unlink()
        with self._lock:
            self._claimed.discard(segment.path)
            self._bytes -= size
            self._full = False
            self._failing = False
            self._last_done = time.monotonic()

    def failed(self) -> None:
        """The store refused a segment: a full spool now means unavailable, not overloaded."""
        with self._lock:
            self._failing = True

    def close(self) -> None:
        with self._lock:
            self._file.close()
            if self._open_path.stat().st_size == 0:
                self._open_path.unlink()

    def _recover(self) -> None:
        """Segments left open by a crash become ready: their complete frames were acknowledged."""
        for path in self.directory.glob(f"*{_OPEN}"):
            if path.stat().st_size:
                path.rename(path.with_suffix(_READY))
            else:
                path.unlink()

    def _files(self) -> list[Path]:
        return [*self.directory.glob(f"*{_OPEN}"), *self.directory.glob(f"*{_READY}")]

    def _new_path(self, suffix: str) -> Path:
        self._sequence += 1
        return self.directory / f"{self._sequence:020d}-{os.getpid()}{suffix}"


def _arrow_frame(table: str, rows: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, rows.schema) as writer:
        writer.write_table(rows)
    body: bytes = sink.getvalue().to_pybytes()
    return _frame({"table": table}, body)


def _frame(header: dict[str, str | int], body: bytes | memoryview) -> bytes:
    head = json.dumps(header).encode()
    return _HEAD.pack(len(head)) + head + _SIZE.pack(len(body)) + body
