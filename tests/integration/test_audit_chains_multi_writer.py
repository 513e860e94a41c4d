"""Several collectors writing one tenant's decisions: one chain per writer, verifiable, with
tampering and shared ids (forks) named; a writer's id survives its restart."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from agentledger.audit.chain import CHAIN_ID_FILE, AuditChain, persistent_chain_id, record_hash
from agentledger.audit.verify import verify_chain
from agentledger.config import Settings
from agentledger.server import chain_id
from agentledger.storage.chdb_store import ChdbStore
from agentledger.storage.store import query_rows

from .deployment_data import decisions

ROOT = Path(__file__).parents[2]


def _interleaved(store: ChdbStore, tenant: str, writers: list[AuditChain], rounds: int) -> None:
    """Each round, every writer seals two of the tenant's decisions, in turn."""
    for round_ in range(rounds):
        for number, writer in enumerate(writers):
            start = (round_ * len(writers) + number) * 2
            writer.append(decisions(tenant, 2, start=start))


def test_two_writers_interleaved_keep_two_verifiable_chains(store: ChdbStore) -> None:
    writers = [AuditChain(store, "collector-a"), AuditChain(store, "collector-b")]
    _interleaved(store, "multi", writers, rounds=5)
    rows = query_rows(
        store,
        "SELECT ChainId, groupArray(Seq) AS seqs FROM"
        " (SELECT ChainId, Seq FROM decisions WHERE TenantId = 'multi' ORDER BY Seq)"
        " GROUP BY ChainId ORDER BY ChainId",
    )
    assert [(r["ChainId"], r["seqs"]) for r in rows] == [
        ("collector-a", list(range(1, 11))),
        ("collector-b", list(range(1, 11))),
    ]
    result = verify_chain(store, "multi")
    assert result.ok and result.checked == 20
    assert [(c.chain, c.checked, c.last_seq, c.ok) for c in result.chains] == [
        ("collector-a", 10, 10, True),
        ("collector-b", 10, 10, True),
    ]
    assert verify_chain(store, "multi", chain="collector-b").checked == 10


def test_a_restarted_writer_continues_its_own_chain(store: ChdbStore) -> None:
    AuditChain(store, "restart-a").append(decisions("resume", 3))
    AuditChain(store, "restart-b").append(decisions("resume", 5, start=3))
    AuditChain(store, "restart-a").append(decisions("resume", 1, start=8))  # new process, same id
    heads = query_rows(
        store,
        "SELECT ChainId, max(Seq) AS head FROM decisions WHERE TenantId = 'resume'"
        " GROUP BY ChainId ORDER BY ChainId",
    )
    assert [(r["ChainId"], r["head"]) for r in heads] == [("restart-a", 4), ("restart-b", 5)]
    assert verify_chain(store, "resume").ok


def test_an_edit_in_one_chain_is_named_and_the_other_chain_stays_ok(store: ChdbStore) -> None:
    _interleaved(store, "tamper", [AuditChain(store, "w1"), AuditChain(store, "w2")], rounds=3)
    (victim,) = query_rows(
        store, "SELECT DecisionId FROM decisions WHERE ChainId = 'w2' AND Seq = 3"
    )
    store.command(
        "ALTER TABLE decisions UPDATE Chosen = 'deny' WHERE DecisionId = {d:String}"
        " SETTINGS mutations_sync = 1",
        {"d": victim["DecisionId"]},
    )
    result = verify_chain(store, "tamper")
    (chain_break,) = result.breaks
    assert (chain_break.chain, chain_break.seq, chain_break.decision_id) == (
        "w2",
        3,
        victim["DecisionId"],
    )
    assert "edited" in chain_break.reason
    assert {c.chain: (c.ok, c.last_seq) for c in result.chains} == {
        "w1": (True, 6),
        "w2": (False, 2),
    }


def test_a_record_moved_to_another_chain_is_detected(store: ChdbStore) -> None:
    _interleaved(store, "moved", [AuditChain(store, "m1"), AuditChain(store, "m2")], rounds=3)
    store.command(
        "ALTER TABLE decisions UPDATE ChainId = 'm2' WHERE TenantId = 'moved'"
        " AND ChainId = 'm1' AND Seq = 4 SETTINGS mutations_sync = 1"
    )
    breaks = {b.chain: b for b in verify_chain(store, "moved").breaks}
    assert set(breaks) == {"m1", "m2"}
    assert "removed" in breaks["m1"].reason and breaks["m1"].seq == 5
    assert "fork" in breaks["m2"].reason and breaks["m2"].seq == 4


def test_two_processes_sharing_an_id_are_reported_as_a_fork(store: ChdbStore) -> None:
    first, second = AuditChain(store, "shared"), AuditChain(store, "shared")
    first.append(decisions("forked", 2))
    second.append(decisions("forked", 1, start=2))  # reads head Seq 2, seals Seq 3
    first.append(decisions("forked", 1, start=3))  # its head is still Seq 2: seals Seq 3 again
    (chain_break,) = verify_chain(store, "forked").breaks
    ids = {"forked-2", "forked-3"}
    assert chain_break.seq == 3 and chain_break.decision_id in ids
    assert "fork" in chain_break.reason and (ids - {chain_break.decision_id}).pop() in (
        chain_break.reason
    )


def test_forks_are_seen_across_page_boundaries(store: ChdbStore) -> None:
    first, second = AuditChain(store, "paged"), AuditChain(store, "paged")
    first.append(decisions("pages", 4))
    second.append(decisions("pages", 1, start=4))
    first.append(decisions("pages", 1, start=5))  # Seq 5 twice
    for batch_rows in (1, 2, 3, 4, 5, 100):
        (chain_break,) = verify_chain(store, "pages", batch_rows).breaks
        assert chain_break.seq == 5 and "fork" in chain_break.reason


def test_records_without_a_chain_id_hash_as_before() -> None:
    (record,) = decisions("legacy", 1)
    row = dict(record, Seq=1, PrevHash="0" * 64, Attributes=list(record["Attributes"].items()))
    assert record_hash(row) == record_hash(dict(row, ChainId=""))
    assert record_hash(row) != record_hash(dict(row, ChainId="c1"))


def test_the_instance_id_is_generated_once_and_kept(tmp_path: Path) -> None:
    made = persistent_chain_id(tmp_path / "spool")
    assert made == persistent_chain_id(tmp_path / "spool")
    assert (tmp_path / "spool" / CHAIN_ID_FILE).read_text().strip() == made
    assert persistent_chain_id(tmp_path / "other") != made
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / CHAIN_ID_FILE).write_text("no spaces allowed\n")
    with pytest.raises(ValueError, match="AGENTLEDGER_INSTANCE_ID"):
        persistent_chain_id(tmp_path / "bad")
    with pytest.raises(ValueError, match="not valid"):
        AuditChain(None, "bad id")  # type: ignore[arg-type]


def test_serve_picks_the_chain_id_by_mode(tmp_path: Path) -> None:
    embedded = Settings(data_dir=tmp_path / "data")
    server = Settings(data_dir=tmp_path / "data", clickhouse_url="http://ch:8123")
    assert chain_id(embedded) == ""  # one process owns the embedded store
    generated = chain_id(server)
    assert generated and (tmp_path / "data-spool" / CHAIN_ID_FILE).is_file()
    assert chain_id(server) == generated  # a restart continues the same chains
    assert chain_id(Settings(data_dir=tmp_path / "data", instance_id="eu-1")) == "eu-1"


_SEAL_SCRIPT = """
import sys
from agentledger.audit.chain import AuditChain
from agentledger.storage.chdb_store import ChdbStore
from agentledger.storage.migrate import migrate
from tests.integration.deployment_data import decisions
store = ChdbStore(sys.argv[1])
migrate(store)
AuditChain(store).append(decisions("solo", 4))
for tenant in ("acme", "globex"):
    AuditChain(store, "c1").append(decisions(tenant, 3))
    AuditChain(store, "c2").append(decisions(tenant, 2, start=3))
store.command(
    "ALTER TABLE decisions UPDATE Rationale = 'x' WHERE TenantId = 'globex' AND ChainId = 'c2'"
    " AND Seq = 2 SETTINGS mutations_sync = 1"
)
store.close()
"""


@pytest.fixture(scope="module")
def sealed_elsewhere(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store sealed by another process (one chDB per process): tenant ``solo`` in chain
    ``''``, ``acme`` in chains c1 and c2, ``globex`` likewise with c2's Seq 2 edited."""
    data = tmp_path_factory.mktemp("cli") / "data"
    subprocess.run([sys.executable, "-c", _SEAL_SCRIPT, str(data)], cwd=ROOT, check=True)
    return data


def _verify(data: Path, tenant: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "agentledger.cli", "audit", "verify", "--tenant", tenant],
        cwd=ROOT,
        env={"AGENTLEDGER_DATA_DIR": str(data), "PATH": ""},
        capture_output=True,
        text=True,
    )


def test_audit_verify_cli_keeps_its_output_for_one_unnamed_chain(sealed_elsewhere: Path) -> None:
    run = _verify(sealed_elsewhere, "solo")
    assert (run.returncode, run.stdout, run.stderr) == (0, "ok: 4 decisions verified\n", "")


def test_audit_verify_cli_reports_each_chain(sealed_elsewhere: Path) -> None:
    run = _verify(sealed_elsewhere, "acme")
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines() == [
        "tenant=acme chain='c1': 3 decisions, verified up to Seq 3: ok",
        "tenant=acme chain='c2': 2 decisions, verified up to Seq 2: ok",
        "ok: 5 decisions verified in 2 chains",
    ]


def test_audit_verify_cli_names_the_first_bad_record_of_a_chain(sealed_elsewhere: Path) -> None:
    run = _verify(sealed_elsewhere, "globex")
    assert run.returncode == 1
    assert "tenant=globex chain='c1': 3 decisions, verified up to Seq 3: ok" in run.stdout
    assert "tenant=globex chain='c2': 2 decisions, verified up to Seq 1: BROKEN" in run.stdout
    assert run.stderr.startswith(
        "BROKEN tenant=globex chain='c2' seq=2 decision=globex-4: Hash does not match"
    )
