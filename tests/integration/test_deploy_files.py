"""Deployment files: compose stacks, ClickHouse users and cluster, standard OTel Collector
configurations, and the clickhouseexporter's INSERT landing in our otel_traces."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from agentledger.analytics.cost import cost_totals
from agentledger.config import Settings
from agentledger.storage.chdb_store import ChdbStore
from agentledger.storage.migrate import available_migrations
from agentledger.storage.store import query_rows

yaml = pytest.importorskip("yaml")

ROOT = Path(__file__).parents[2]
DEPLOYMENT_DOC = (ROOT / "docs" / "deployment.md").read_text()
CLUSTER = "agentledger_cluster"
SECRETS = {
    "AGENTLEDGER_ADMIN_PASSWORD": "admin-pw",
    "AGENTLEDGER_WRITER_PASSWORD": "writer-pw",
    "AGENTLEDGER_READER_PASSWORD": "reader-pw",
    "AGENTLEDGER_CLUSTER_SECRET": "cluster-secret",
    "AGENTLEDGER_API_KEYS": "acme:key-acme",
}
# The column list of the clickhouseexporter's traces INSERT (internal/sqltemplates/
# traces_insert.sql), the same in every version since ScopeName/ScopeVersion were added.
EXPORTER_TRACE_COLUMNS = [
    "Timestamp", "TraceId", "SpanId", "ParentSpanId", "TraceState", "SpanName", "SpanKind",
    "ServiceName", "ResourceAttributes", "ScopeName", "ScopeVersion", "SpanAttributes", "Duration",
    "StatusCode", "StatusMessage", "Events.Timestamp", "Events.Name", "Events.Attributes",
    "Links.TraceId", "Links.SpanId", "Links.TraceState", "Links.Attributes",
]  # fmt: skip


def _load(name: str) -> Any:
    return yaml.safe_load((ROOT / name).read_text())


def _migration_tables() -> set[str]:
    pattern = re.compile(r"^CREATE TABLE IF NOT EXISTS (\w+) \(", re.M)
    return {name for m in available_migrations() for name in pattern.findall(m.sql)}


def _published(service: dict[str, Any]) -> list[str]:
    return [str(port).split(":")[-2] for port in service.get("ports", [])]


def test_compose_runs_every_role_with_health_checks_and_named_volumes() -> None:
    compose = _load("docker-compose.yml")
    services = compose["services"]
    assert {"clickhouse", "migrate", "collector", "gateway", "scheduler", "dashboards"} <= set(
        services
    )
    assert services["collector"]["deploy"]["replicas"] == 2
    assert "HEALTHCHECK" in (ROOT / "Dockerfile").read_text()  # the collector's: /healthz
    for name in ("clickhouse", "gateway", "scheduler", "dashboards"):
        assert services[name]["healthcheck"]["test"], name
    assert services["collector"]["command"][0] == "serve"
    assert services["migrate"]["command"] == ["db", "migrate"]
    assert {"clickhouse-data", "clickhouse-backups"} <= set(compose["volumes"])
    mounts = services["clickhouse"]["volumes"]
    assert "clickhouse-data:/var/lib/clickhouse" in mounts
    urls = {name: services[name]["environment"]["AGENTLEDGER_CLICKHOUSE_URL"] for name in services
            if "AGENTLEDGER_CLICKHOUSE_URL" in services[name].get("environment", {})}  # fmt: skip
    assert urls["collector"].startswith("http://writer:") and urls["scheduler"] == urls["collector"]
    assert urls["dashboards"].startswith("http://reader:")
    assert urls["migrate"].startswith("http://admin:")


@pytest.mark.parametrize("name", ["docker-compose.yml", "docker-compose.cluster.yml"])
def test_every_published_port_is_documented(name: str) -> None:
    for service in _load(name)["services"].values():
        for port in _published(service):
            assert f"`{port}`" in DEPLOYMENT_DOC, f"port {port} of {name}"


def test_users_file_has_writer_and_read_only_reader() -> None:
    root = ET.parse(ROOT / "deploy" / "clickhouse" / "users.xml").getroot()
    users = root.find("users")
    assert users is not None
    assert users.find("default") is not None and users.find("default").get("remove") == "remove"  # type: ignore[union-attr]
    profiles = {user.tag: user.findtext("profile") for user in users if user.tag != "default"}
    assert profiles == {
        "admin": "agentledger_write",
        "writer": "agentledger_write",
        "reader": "agentledger_read",
    }
    assert root.findtext("profiles/agentledger_read/readonly") == "1"
    clickhouse_env = _load("docker-compose.yml")["services"]["clickhouse"]["environment"]
    for user in users:
        password = user.find("password")
        if password is not None:
            assert password.get("from_env") in clickhouse_env
    writer_grants = " ".join(q.text or "" for q in users.iterfind("writer/grants/query"))
    assert "INSERT" in writer_grants and "DROP" not in writer_grants
    reader_grants = " ".join(q.text or "" for q in users.iterfind("reader/grants/query"))
    assert "INSERT" not in reader_grants


def test_cluster_compose_is_two_shards_of_two_replicas_with_keeper() -> None:
    services = _load("docker-compose.cluster.yml")["services"]
    nodes = {name: s["environment"] for name, s in services.items() if name.startswith("ch-")}
    layout = sorted((env["CH_SHARD"], env["CH_REPLICA"]) for env in nodes.values())
    assert layout == [("01", "ch-s1r1"), ("01", "ch-s1r2"), ("02", "ch-s2r1"), ("02", "ch-s2r2")]
    assert "keeper" in services
    assert services["migrate"]["command"] == ["db", "migrate", "--cluster", CLUSTER]
    assert services["collector"]["environment"]["AGENTLEDGER_CLUSTER"] == CLUSTER
    assert services["collector"]["deploy"]["replicas"] == 2
    Settings.from_env({"AGENTLEDGER_CLUSTER": CLUSTER})  # a valid cluster name

    root = ET.parse(ROOT / "deploy" / "clickhouse" / "cluster.xml").getroot()
    cluster = root.find(f"remote_servers/{CLUSTER}")
    assert cluster is not None
    shards = [[r.findtext("host") for r in shard.iterfind("replica")] for shard in cluster]
    shards = [hosts for hosts in shards if hosts]
    assert shards == [["ch-s1r1", "ch-s1r2"], ["ch-s2r1", "ch-s2r2"]]
    assert root.findtext("zookeeper/node/host") == "keeper"
    macros = root.find("macros")
    assert macros is not None
    assert {el.get("from_env") for el in macros} >= {"CH_SHARD", "CH_REPLICA"}


def _compose_command() -> list[str] | None:
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    if shutil.which("docker"):
        probe = subprocess.run(["docker", "compose", "version"], capture_output=True)
        if probe.returncode == 0:
            return ["docker", "compose"]
    return None


@pytest.mark.parametrize("name", ["docker-compose.yml", "docker-compose.cluster.yml"])
def test_compose_config_validates(name: str) -> None:
    command = _compose_command()
    if command is None:
        pytest.skip("no docker compose / docker-compose client here")
    env = {**os.environ, **SECRETS}
    result = subprocess.run(
        [*command, "-f", name, "config", "-q"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr


def test_standard_collector_forwards_to_our_otlp_endpoint() -> None:
    config = _load("deploy/otelcol/forward.yaml")
    exporter = config["exporters"]["otlphttp/agentledger"]
    assert exporter["headers"]["Authorization"] == "Bearer ${env:AGENTLEDGER_API_KEY}"
    for pipeline in ("traces", "logs", "metrics"):
        assert config["service"]["pipelines"][pipeline]["exporters"] == ["otlphttp/agentledger"]
    otelcol = _load("docker-compose.yml")["services"]["otelcol"]
    endpoint = otelcol["environment"]["AGENTLEDGER_OTLP_ENDPOINT"]
    assert endpoint == f"http://gateway:{Settings().otlp_http_port}"
    gateway = (ROOT / "deploy" / "gateway" / "nginx.conf").read_text()
    assert f"listen {Settings().otlp_http_port};" in gateway
    assert f"server collector:{Settings().otlp_http_port};" in gateway
    assert f"server collector:{Settings().otlp_grpc_port};" in gateway


def test_clickhouse_exporter_config_names_our_database_and_tables() -> None:
    config = _load("deploy/otelcol/clickhouse.yaml")
    exporter = config["exporters"]["clickhouse"]
    tables = _migration_tables()
    assert exporter["database"] == Settings().database
    assert exporter["create_schema"] is False
    assert exporter["traces_table_name"] == "otel_traces" and "otel_traces" in tables
    assert {t["name"] for t in exporter["metrics_tables"].values()} <= tables
    assert config["service"]["pipelines"]["traces"]["exporters"] == ["clickhouse"]
    # decisions must reach our collector, which seals them into the audit chain
    assert config["service"]["pipelines"]["logs"]["exporters"] == ["otlphttp/agentledger"]


def test_clickhouse_exporter_rows_get_our_derived_columns_and_analytics(
    store: ChdbStore,
) -> None:
    trace_id = "5b8efff798038103d269b633813fc60c"
    start = (time.time_ns() // 1_000_000_000 - 7200) * 1_000_000_000
    attributes = (
        "map('gen_ai.operation.name', 'chat', 'gen_ai.provider.name', 'openai',"
        " 'gen_ai.request.model', 'gpt-4o-mini', 'gen_ai.agent.name', 'refunds',"
        " 'gen_ai.usage.input_tokens', '1000000', 'gen_ai.usage.output_tokens', '200')"
    )
    store.command(
        f"INSERT INTO otel_traces ({', '.join(EXPORTER_TRACE_COLUMNS)}) VALUES ("
        f"fromUnixTimestamp64Nano({start}), '{trace_id}', 'eee19b7ec3c1b174', '', '',"
        " 'chat gpt-4o-mini', 'Client', 'exporter-svc', map('service.name', 'exporter-svc'),"
        f" 'openai-instrumentor', '1.0', {attributes}, 1500000000, 'Ok', '',"
        " [], [], [], [], [], [], [])"
    )
    (span,) = query_rows(
        store,
        "SELECT TenantId, AgentName, GenAiOperation, GenAiProvider, RequestModel, InputTokens,"
        " OutputTokens, TotalTokens FROM otel_traces WHERE TraceId = {t:String}",
        {"t": trace_id},
    )
    assert span == {
        "TenantId": "default",
        "AgentName": "refunds",
        "GenAiOperation": "chat",
        "GenAiProvider": "openai",
        "RequestModel": "gpt-4o-mini",
        "InputTokens": 1_000_000,
        "OutputTokens": 200,
        "TotalTokens": 1_000_200,
    }
    observations = query_rows(
        store,
        "SELECT Feature, Value FROM model_observations WHERE TraceId = {t:String} ORDER BY Feature",
        {"t": trace_id},
    )
    assert observations == [
        {"Feature": "duration_ms", "Value": 1500.0},
        {"Feature": "input_tokens", "Value": 1_000_000.0},
        {"Feature": "output_tokens", "Value": 200.0},
    ]
    (lookup,) = query_rows(
        store, "SELECT count() AS n FROM otel_traces_trace_id_ts WHERE TraceId = {t:String}",
        {"t": trace_id},
    )  # fmt: skip
    assert lookup["n"] == 1
    now = datetime.now(UTC)
    rows = cost_totals(store, "trace", since=now - timedelta(days=1), as_of=now)
    (priced,) = [row for row in rows if row["trace"] == trace_id]
    assert priced["cost_usd"] == pytest.approx(0.15 + 200 * 0.6 / 1e6)


@pytest.mark.parametrize("path", sorted((ROOT / "deploy" / "clickhouse").glob("*.xml")))
def test_clickhouse_config_files_are_well_formed(path: Path) -> None:
    assert ET.parse(path).getroot().tag == "clickhouse"
