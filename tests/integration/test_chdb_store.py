"""The embedded store under concurrent use, as the collector's threads use it."""

from __future__ import annotations

import threading
import time

import pyarrow as pa

from agentledger.storage.chdb_store import ChdbStore
from agentledger.storage.store import StoreError, query_rows


def test_concurrent_arrow_inserts_into_different_tables_never_mix(store: ChdbStore) -> None:
    store.command("CREATE TABLE mix_a (a Int64) ENGINE = MergeTree ORDER BY a")
    store.command("CREATE TABLE mix_b (b String, c Float64) ENGINE = MergeTree ORDER BY b")
    errors: list[Exception] = []

    def insert(table: str, batch: pa.Table) -> None:
        for _ in range(40):
            try:
                store.insert_arrow(table, batch)
            except StoreError as exc:
                errors.append(exc)

    threads = [
        threading.Thread(target=insert, args=("mix_a", pa.table({"a": list(range(50))}))),
        threading.Thread(
            target=insert, args=("mix_b", pa.table({"b": ["x"] * 30, "c": [1.5] * 30}))
        ),
    ]
    threads += [threading.Thread(target=insert, args=("mix_a", pa.table({"a": [7] * 10})))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    counts = query_rows(
        store, "SELECT (SELECT count() FROM mix_a) AS a, (SELECT count() FROM mix_b) AS b"
    )
    assert counts == [{"a": 40 * 60, "b": 40 * 30}]


def test_engine_errors_carry_the_clickhouse_code(store: ChdbStore) -> None:
    try:
        store.command("SELECT * FROM no_such_table")
    except StoreError as exc:
        assert exc.code == 60 and "no_such_table" in str(exc)
    else:
        raise AssertionError("expected a StoreError")


def test_string_parameters_round_trip_exactly(store: ChdbStore) -> None:
    tricky = "a\\tb\tc\nd'e\\"
    rows = query_rows(
        store, "SELECT {s:String} AS s, {a:Array(String)} AS a", {"s": tricky, "a": [tricky]}
    )
    assert rows == [{"s": tricky, "a": [tricky]}]


def test_concurrent_parameterised_queries_keep_their_own_parameters(store: ChdbStore) -> None:
    errors: list[Exception] = []
    wrong: list[tuple[int, int]] = []

    def ask(n: int) -> None:
        for _ in range(50):
            try:
                (row,) = query_rows(
                    store, "SELECT {n:UInt32} AS n FROM numbers(20000) LIMIT 1", {"n": n}
                )
            except StoreError as exc:
                errors.append(exc)
                continue
            if row["n"] != n:
                wrong.append((n, row["n"]))

    threads = [threading.Thread(target=ask, args=(n,)) for n in range(6)]
    threads.append(threading.Thread(target=lambda: [store.command("SELECT 1") for _ in range(100)]))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert (errors, wrong) == ([], [])


def test_a_second_session_on_the_directory_runs_beside_the_first(store: ChdbStore) -> None:
    """The writer's sessions: each sees the others' tables and rows, and a statement in one does
    not wait for a statement in another (one session runs one statement at a time)."""
    second = ChdbStore(store.data_dir, store.database)
    try:
        second.command("CREATE TABLE sessions (x Int64) ENGINE = MergeTree ORDER BY x")
        store.command("INSERT INTO sessions VALUES (1), (2)")
        assert query_rows(second, "SELECT sum(x) AS s FROM sessions") == [{"s": 3}]
        finished: dict[str, float] = {}

        def slow() -> None:
            store.command("SELECT sleep(2) FORMAT Null")
            finished["slow"] = time.monotonic()

        thread = threading.Thread(target=slow)
        thread.start()
        time.sleep(0.3)  # the slow statement is running
        second.command("INSERT INTO sessions VALUES (3)")
        finished["quick"] = time.monotonic()
        thread.join()
        assert finished["quick"] < finished["slow"] - 1
        assert query_rows(store, "SELECT sum(x) AS s FROM sessions") == [{"s": 6}]
    finally:
        second.close()
