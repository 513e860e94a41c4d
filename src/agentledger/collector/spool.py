"""The write-ahead spool: accepted batches on disk until the writer has stored them.

A 2xx to a client means its rows are in a spool segment, so a crash, a ``kill -9`` or a storage
outage loses nothing acknowledged. Segments are append-only files of framed Arrow IPC streams;
the writer stores a whole segment at once (one insert per table, with a deduplication token made
of the segment name, so a replay after a crash never stores a batch twice) and then deletes it.

Frame: ``u32 header length | JSON header {"table": ...} | u64 payload length | Arrow IPC stream``.
A torn frame at the end of a segment (the process died mid-write) is dropped on read: that request
was never acknowledged.
"""

from __future__ import annotations

import json
import os
import struct
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

__all__ = ["Segment", "Spool", "SpoolFull"]

_HEAD = struct.Struct("<I")
_SIZE = struct.Struct("<Q")
_OPEN, _READY = ".open", ".ready"


class SpoolFull(Exception):
    """The spool has reached its size limit; the receiver answers 503 with Retry-After."""


@dataclass(frozen=True)
class Segment:
    """A closed segment, ready to be stored."""

    path: Path

    @property
    def name(self) -> str:
        return self.path.stem

    def batches(self) -> Iterator[tuple[str, pa.Table]]:
        """(table, rows) for every complete frame, in write order."""
        data = self.path.read_bytes()
        offset = 0
        while offset + _HEAD.size <= len(data):
            (head_len,) = _HEAD.unpack_from(data, offset)
            start = offset + _HEAD.size
            if start + head_len + _SIZE.size > len(data):
                return
            header = json.loads(data[start : start + head_len])
            (size,) = _SIZE.unpack_from(data, start + head_len)
            body_start = start + head_len + _SIZE.size
            if body_start + size > len(data):
                return
            with pa.ipc.open_stream(
                pa.BufferReader(data[body_start : body_start + size])
            ) as reader:
                yield header["table"], reader.read_all()
            offset = body_start + size


class Spool:
    """Append batches to the open segment; rotate it into ready segments for the writer."""

    def __init__(self, directory: Path, max_bytes: int) -> None:
        self.directory = directory
        self.directory.mkdir(parents=True, exist_ok=True)
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self._sequence = int(time.time() * 1000) * 1000
        self._bytes = sum(path.stat().st_size for path in self._files())
        self._recover()
        self._open_path = self._new_path(_OPEN)
        self._file = self._open_path.open("ab")

    @property
    def bytes(self) -> int:
        """Bytes on disk not yet stored (open segment included)."""
        return self._bytes

    def append(self, batches: list[tuple[str, pa.Table]]) -> None:
        """Durably queue ``batches`` (table name, rows) as one unit; raise SpoolFull when full."""
        frames = b"".join(_frame(table, rows) for table, rows in batches if rows.num_rows)
        if not frames:
            return
        with self._lock:
            if self._bytes + len(frames) > self.max_bytes:
                raise SpoolFull(
                    f"spool is full ({self._bytes} of {self.max_bytes} bytes); storage is behind"
                )
            self._file.write(frames)
            self._file.flush()  # in the OS page cache: survives the process being killed
            self._bytes += len(frames)

    def rotate(self) -> None:
        """Close the open segment (if it holds anything) so the writer can take it."""
        with self._lock:
            if self._file.tell() == 0:
                return
            self._file.close()
            self._open_path.rename(self._open_path.with_suffix(_READY))
            self._open_path = self._new_path(_OPEN)
            self._file = self._open_path.open("ab")

    def ready(self) -> list[Segment]:
        """Closed segments, oldest first."""
        return [Segment(path) for path in sorted(self.directory.glob(f"*{_READY}"))]

    def done(self, segment: Segment) -> None:
        """The segment is stored: forget it."""
        size = segment.path.stat().st_size
        segment.path.unlink()
        with self._lock:
            self._bytes -= size

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


def _frame(table: str, rows: pa.Table) -> bytes:
    header = json.dumps({"table": table}).encode()
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, rows.schema) as writer:
        writer.write_table(rows)
    body: bytes = sink.getvalue().to_pybytes()
    return _HEAD.pack(len(header)) + header + _SIZE.pack(len(body)) + body
