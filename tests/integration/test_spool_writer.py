"""The write-ahead spool and the writer against real chDB: nothing acknowledged is lost, nothing
is stored twice, and a store that cannot take data leaves the data spooled."""

from __future__ import annotations

import shutil
from pathlib import Path

import pyarrow as pa
import pytest

from agentledger.collector.spool import Spool, SpoolFull
from agentledger.collector.writer import Writer
from agentledger.storage.chdb_store import ChdbStore
from agentledger.storage.store import StoreError, query_rows


def _rows(start: int, n: int) -> pa.Table:
    return pa.table(
        {"id": pa.array(range(start, start + n), pa.int64()), "name": [f"r{i}" for i in range(n)]}
    )


def test_frames_round_trip_and_a_torn_tail_is_dropped(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool", max_bytes=10_000_000)
    spool.append([("t1", _rows(0, 3)), ("t2", _rows(10, 2))])
    spool.append([("t1", _rows(3, 1))])
    spool.rotate()
    (segment,) = spool.ready()
    with segment.path.open("ab") as handle:  # a frame cut short by a crash mid-write
        handle.write(b'\x10\x00\x00\x00{"table": "t1"')
    batches = list(segment.frames())
    assert [(table, rows.num_rows) for table, rows in batches] == [("t1", 3), ("t2", 2), ("t1", 1)]
    assert batches[0][1].equals(_rows(0, 3))


def test_open_segments_survive_a_restart_and_the_limit_holds(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool", max_bytes=4_000)
    spool.append([("t", _rows(0, 5))])
    used = spool.bytes
    assert used > 0
    with pytest.raises(SpoolFull, match="spool is full"):
        spool.append([("t", _rows(0, 2000))])
    # No close(): the process "dies" with its segment open. A new spool takes it over.
    reopened = Spool(tmp_path / "spool", max_bytes=4_000)
    assert reopened.bytes == used
    (segment,) = reopened.ready()
    assert [rows.num_rows for _, rows in segment.frames()] == [5]
    reopened.done(segment)
    assert reopened.bytes == 0


def test_writer_stores_segments_once_even_when_replayed(store: ChdbStore, tmp_path: Path) -> None:
    store.command(
        "CREATE TABLE spooled (id Int64, name String) ENGINE = MergeTree ORDER BY id"
        " SETTINGS non_replicated_deduplication_window = 100"
    )
    spool = Spool(tmp_path / "spool", max_bytes=10_000_000)
    writer = Writer(spool, [store], interval=0.05)
    spool.append([("spooled", _rows(0, 100))])
    spool.append([("spooled", _rows(100, 50))])
    spool.rotate()
    (segment,) = spool.ready()
    kept = tmp_path / "copy"
    shutil.copy(segment.path, kept)
    assert writer.drain() == 150
    assert spool.ready() == [] and spool.bytes == 0
    # A crash between the insert and the segment's deletion: the segment is replayed.
    shutil.copy(kept, segment.path)
    replayed = Spool(tmp_path / "spool", max_bytes=10_000_000)
    Writer(replayed, [store], interval=0.05).drain()
    assert query_rows(store, "SELECT count() AS n, uniqExact(id) AS ids FROM spooled") == [
        {"n": 150, "ids": 150}
    ]


def test_a_store_that_refuses_keeps_the_data_spooled(store: ChdbStore, tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool", max_bytes=10_000_000)
    writer = Writer(spool, [store], interval=0.05)
    spool.append([("not_yet_created", _rows(0, 10))])
    spool.rotate()
    with pytest.raises(StoreError):
        writer.drain()
    assert len(spool.ready()) == 1 and spool.bytes > 0
    store.command(
        "CREATE TABLE not_yet_created (id Int64, name String) ENGINE = MergeTree ORDER BY id"
    )
    assert writer.drain() == 10
    assert spool.bytes == 0


def test_a_full_spool_tells_a_slow_store_from_a_failing_one(
    store: ChdbStore, tmp_path: Path
) -> None:
    """Overloaded (429) while the store has not failed; unavailable (503) once it refuses, until
    it takes a segment again. A fresh collector's first insert may still be under way when the
    spool fills: that store is slow, not down."""
    spool = Spool(tmp_path / "spool", max_bytes=2_000)
    writer = Writer(spool, [store], interval=0.05)

    def refusal() -> SpoolFull:
        with pytest.raises(SpoolFull) as caught:
            spool.append([("refusing", _rows(0, 1000))])
        return caught.value

    spool.append([("refusing", _rows(0, 5))])
    assert refusal().draining
    spool.rotate()
    with pytest.raises(StoreError):
        writer.drain()
    assert not refusal().draining
    store.command("CREATE TABLE refusing (id Int64, name String) ENGINE = MergeTree ORDER BY id")
    assert writer.drain() == 5
    assert refusal().draining


def test_the_background_writer_drains_and_stops_cleanly(store: ChdbStore, tmp_path: Path) -> None:
    store.command("CREATE TABLE background (id Int64, name String) ENGINE = MergeTree ORDER BY id")
    spool = Spool(tmp_path / "spool", max_bytes=10_000_000)
    writer = Writer(spool, [store], interval=0.02)
    writer.start()
    for i in range(20):
        spool.append([("background", _rows(i * 10, 10))])
    writer.stop()
    assert query_rows(store, "SELECT count() AS n FROM background") == [{"n": 200}]
    assert spool.bytes == 0


def test_each_ready_segment_is_claimed_by_one_writer_at_a_time(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool", max_bytes=10_000_000)
    for i in range(3):
        spool.append([("t", _rows(i, 1))])
        spool.rotate()
    first, second, third = spool.ready()
    assert spool.claim() == first  # oldest first
    assert spool.claim() == second  # not the one another writer holds
    spool.release(first)  # that writer could not store it: the next takes it
    assert spool.claim() == first
    spool.done(second)
    assert spool.claim() == third
    assert spool.claim() is None
    spool.done(first)
    spool.done(third)
    assert spool.ready() == [] and spool.bytes == 0


def test_two_sessions_store_every_segment_exactly_once(store: ChdbStore, tmp_path: Path) -> None:
    """Two writer threads, each with its own session on the same data directory, take
    segments side by side; what one session refuses stays spooled for either to store later."""
    second = ChdbStore(store.data_dir, store.database)
    try:
        spool = Spool(tmp_path / "spool", max_bytes=10_000_000)
        writer = Writer(spool, [store, second], interval=0.02)
        for i in range(40):
            spool.append([("parallel", _rows(i * 10, 10))])
            spool.rotate()
        with pytest.raises(StoreError):  # the table does not exist yet: nothing is lost
            writer.drain()
        assert len(spool.ready()) == 40
        store.command(
            "CREATE TABLE parallel (id Int64, name String) ENGINE = MergeTree ORDER BY id"
            " SETTINGS non_replicated_deduplication_window = 1000"
        )
        assert writer.drain() == 400
        writer.start()
        for i in range(40, 80):
            spool.append([("parallel", _rows(i * 10, 10))])
        writer.stop()
        assert query_rows(
            store, "SELECT count() AS n, uniqExact(id) AS ids, max(id) AS top FROM parallel"
        ) == [{"n": 800, "ids": 800, "top": 799}]
        assert spool.ready() == [] and spool.bytes == 0
    finally:
        second.close()
