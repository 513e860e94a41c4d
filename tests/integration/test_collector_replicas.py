"""Collector replicas on one ClickHouse (server mode): no SQL-endpoint passwords needed, jobs
switched off, and each replica sealing the same tenant's decisions into its own audit chain,
which it continues after a restart. The stand-in ClickHouse is a running embedded ``serve``."""

from __future__ import annotations

import subprocess
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord

from agentledger import semconv
from agentledger.analytics.jobs import Scheduler
from agentledger.audit.chain import CHAIN_ID_FILE
from agentledger.config import ConfigError, Settings
from agentledger.server import build_platform

from ..conftest import Server, free_port, kv, serve_argv, stop, wait_http


def _server_url(server: Server) -> str:
    return f"http://admin:{server.admin_password}@127.0.0.1:{server.sql_port}"


class _Replica:
    """One ``agentledger serve`` writing to the server, without SQL passwords or jobs."""

    def __init__(self, server: Server, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.otlp_url = f"http://127.0.0.1:{free_port()}"
        env = {k: v for k, v in server.env.items() if not k.endswith("_PASSWORD")}
        env |= {"AGENTLEDGER_CLICKHOUSE_URL": _server_url(server), "AGENTLEDGER_RUN_JOBS": "false"}
        port = int(self.otlp_url.rsplit(":", 1)[1])
        self.proc = subprocess.Popen(serve_argv(data_dir, port, free_port()), env=env)
        wait_http(f"{self.otlp_url}/readyz", proc=self.proc)

    @property
    def instance_id(self) -> str:
        return (self.data_dir.parent / "data-spool" / CHAIN_ID_FILE).read_text().strip()

    def send_decisions(self, key: str, ids: list[str]) -> None:
        request = ExportLogsServiceRequest()
        resource = request.resource_logs.add()
        resource.resource.attributes.append(kv("service.name", "support-bot"))
        for decision_id in ids:
            record = LogRecord(
                time_unix_nano=time.time_ns(),
                trace_id=uuid.uuid4().bytes,
                span_id=uuid.uuid4().bytes[:8],
                event_name=semconv.EVENT_DECISION,
            )
            attributes = {semconv.DECISION_ID: decision_id, semconv.DECISION_TYPE: "refund"}
            record.attributes.extend(kv(k, v) for k, v in attributes.items())
            resource.scope_logs.add().log_records.append(record)
        posted = urllib.request.Request(
            f"{self.otlp_url}/v1/logs",
            data=request.SerializeToString(),
            headers={"Content-Type": "application/x-protobuf", "Authorization": f"Bearer {key}"},
        )
        with urllib.request.urlopen(posted, timeout=10) as response:
            assert response.status == 200

    def settle(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with urllib.request.urlopen(f"{self.otlp_url}/metrics", timeout=5) as response:
                if "\nagentledger_spool_bytes 0\n" in response.read().decode():
                    return
            time.sleep(0.05)
        raise TimeoutError("the replica's spool did not drain")


@pytest.fixture()
def replicas(server: Server, tmp_path: Path) -> Iterator[list[_Replica]]:
    started: list[_Replica] = []
    try:
        for name in ("a", "b"):  # one after the other: each migrates the server on start
            started.append(_Replica(server, tmp_path / name / "data"))
        yield started
    finally:
        for replica in started:
            stop(replica.proc)


def test_server_mode_needs_no_sql_passwords_and_jobs_can_be_switched_off(
    server: Server, tmp_path: Path
) -> None:
    base = {"data_dir": tmp_path / "data", "admin_password": "", "reader_password": ""}
    with pytest.raises(ConfigError, match="AGENTLEDGER_ADMIN_PASSWORD"):
        build_platform(Settings(**base))  # the embedded SQL endpoint needs them
    for run_jobs in (False, True):
        settings = Settings(**base, clickhouse_url=_server_url(server), run_jobs=run_jobs)
        platform = build_platform(settings)
        try:
            assert list(platform.apps) == [settings.otlp_http_port]  # no SQL endpoint
            assert isinstance(platform.scheduler, Scheduler) is run_jobs
        finally:
            platform.close()


def test_two_replicas_keep_one_verifiable_chain_each_across_a_restart(
    server: Server, replicas: list[_Replica]
) -> None:
    key = server.api_keys["acme"]
    tenant_ids = [f"replica-{uuid.uuid4().hex[:8]}-{i}" for i in range(12)]
    for i in range(0, 8, 2):  # interleaved: a, b, a, b
        replicas[(i // 2) % 2].send_decisions(key, tenant_ids[i : i + 2])
    first, second = replicas
    chains = {first.instance_id, second.instance_id}
    assert len(chains) == 2 and "" not in chains

    stop(first.proc)  # a restart: same spool directory, so the same id and chains
    restarted = _Replica(server, first.data_dir)
    replicas[0] = restarted
    assert restarted.instance_id == first.instance_id
    restarted.send_decisions(key, tenant_ids[8:10])
    second.send_decisions(key, tenant_ids[10:12])
    for replica in replicas:
        replica.settle()

    with server.client() as client:
        rows = client.query(
            "SELECT ChainId, groupArray(Seq) AS seqs FROM (SELECT ChainId, Seq FROM decisions"
            " WHERE DecisionId IN {ids:Array(String)} ORDER BY Seq) GROUP BY ChainId",
            parameters={"ids": tenant_ids},
        ).named_results()
        heads = {row["ChainId"]: row["seqs"] for row in rows}
    assert set(heads) == chains
    assert list(heads.values()) == [list(range(1, 7))] * 2  # the restart went on from Seq 4
    verified = server.cli("audit", "verify", "--tenant", "acme")
    assert verified.returncode == 0, verified.stderr
    for chain in chains:
        assert f"tenant=acme chain='{chain}':" in verified.stdout
