"""Lineage on a hand-built set of traces in real chDB: the edges the job derives, walks up and
down, paths, the incremental watermark (late data, reruns, a crash between insert and watermark),
and every export format read back by its own reader."""

from __future__ import annotations

import csv
import itertools
import json
import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jsonschema
import networkx as nx
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.serde import Serde

from agentledger.analytics.job_result import JobResult
from agentledger.analytics.lineage import (
    LineageGraph,
    downstream,
    graph_for,
    path,
    run_lineage_job,
    upstream,
)
from agentledger.analytics.lineage_export import export_lineage
from agentledger.collector.spans import SCHEMA
from agentledger.storage.chdb_store import ChdbStore
from agentledger.storage.store import query_rows
from tests.unit.test_lineage_export import RUN_EVENT_SCHEMA

NOW = datetime.now(UTC)
T1 = "4bf92f3577b34da6a3ce929d0e0e4736"
T2 = "0af7651916cd43dd8448eb211c80319c"
T3 = "5b8efff798038103d269b633813fc60c"
SETTLED = timedelta(0)  # tests query what they just stored


def _span(
    trace: str,
    span: str,
    parent: str,
    name: str,
    attributes: dict[str, str],
    *,
    tenant: str = "acme",
    minutes_ago: float = 20,
    status: str = "Unset",
    links: tuple[tuple[str, str], ...] = (),
) -> dict[str, Any]:
    return {
        "Timestamp": NOW - timedelta(minutes=minutes_ago),
        "TraceId": trace,
        "SpanId": span,
        "ParentSpanId": parent,
        "SpanName": name,
        "SpanKind": "Internal",
        "ServiceName": "support-bot",
        "SpanAttributes": list(attributes.items()),
        "Duration": 5_000_000,
        "StatusCode": status,
        "TenantId": tenant,
        "Links.TraceId": [t for t, _ in links],
        "Links.SpanId": [s for _, s in links],
        "Links.TraceState": ["" for _ in links],
        "Links.Attributes": [[] for _ in links],
    }


def _insert_spans(store: ChdbStore, spans: list[dict[str, Any]]) -> None:
    columns: dict[str, list[Any]] = {name: [] for name in SCHEMA.names}
    for values in spans:
        for field in SCHEMA:
            nested = pa.types.is_list(field.type) or pa.types.is_map(field.type)
            columns[field.name].append(values.get(field.name, [] if nested else ""))
    store.insert_arrow("otel_traces", pa.table(columns, schema=SCHEMA))


def _insert_decision(
    store: ChdbStore,
    decision: str,
    trace: str,
    span: str,
    chosen: str,
    inputs: list[str],
    *,
    tenant: str = "acme",
    minutes_ago: float = 19,
) -> None:
    store.insert_arrow(
        "decisions",
        pa.table(
            {
                "Timestamp": pa.array([NOW - timedelta(minutes=minutes_ago)], pa.timestamp("ns")),
                "TenantId": [tenant],
                "Seq": pa.array([1], pa.uint64()),
                "DecisionId": [decision],
                "TraceId": [trace],
                "SpanId": [span],
                "AgentName": ["support"],
                "DecisionType": ["refund"],
                "Options": [["approve", "deny", "escalate"]],
                "Chosen": [chosen],
                "Confidence": pa.array([0.87], pa.float64()),
                "Inputs": pa.array([inputs], pa.list_(pa.string())),
                "ModelName": ["gpt-4o"],
            }
        ),
    )


def _insert_kpi(
    store: ChdbStore,
    name: str,
    value: float,
    *,
    decision: str = "",
    trace: str = "",
    entity: str = "",
    tenant: str = "acme",
    minutes_ago: float = 2,
) -> None:
    store.insert_arrow(
        "kpi_events",
        pa.table(
            {
                "Timestamp": pa.array([NOW - timedelta(minutes=minutes_ago)], pa.timestamp("ns")),
                "TenantId": [tenant],
                "KpiName": [name],
                "Value": pa.array([value], pa.float64()),
                "Unit": ["usd" if name == "refund_amount" else ""],
                "EntityId": [entity],
                "DecisionId": [decision],
                "TraceId": [trace],
            }
        ),
    )


def _ticket(store: ChdbStore) -> None:
    """Trace T1 (tenant acme): retrieval, a prompted model call, a tool call that returns and one
    that fails, a refund action, the decision, and its outcomes (one known only by trace)."""
    docs = '["document:refund-policy@v3","document:faq@v2"]'
    _insert_spans(
        store,
        [
            _span(T1, "00000000000000a1", "", "invoke_agent support",
                  {"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "support"}),
            _span(T1, "00000000000000b1", "00000000000000a1", "retrieval kb",
                  {"gen_ai.operation.name": "retrieval", "gen_ai.data_source.id": "kb",
                   "agentledger.lineage.inputs": docs,
                   "retrieval.documents.0.document.id": "refund-policy",
                   "retrieval.documents.0.document.score": "0.92",
                   "retrieval.documents.1.document.id": "faq"}),
            _span(T1, "00000000000000c1", "00000000000000a1", "chat gpt-4o",
                  {"gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o",
                   "gen_ai.response.model": "gpt-4o", "agentledger.prompt.name": "refund-reply",
                   "agentledger.prompt.version": "2"}),
            _span(T1, "00000000000000d1", "00000000000000a1", "execute_tool order_lookup",
                  {"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "order_lookup"},
                  status="Ok"),
            _span(T1, "00000000000000d2", "00000000000000a1", "execute_tool order_lookup",
                  {"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "order_lookup"},
                  status="Error"),
            _span(T1, "00000000000000e1", "00000000000000a1", "action issue_refund",
                  {"agentledger.action.name": "issue_refund",
                   "agentledger.lineage.inputs": '["document:refund-policy@v3",'
                   '"span:00000000000000c1","tool:order_lookup:00000000000000d1"]',
                   "agentledger.lineage.outputs": '["action:issue_refund:order-17"]'}),
        ],
    )  # fmt: skip
    _insert_decision(
        store,
        "d-1",
        T1,
        "00000000000000a1",
        "approve",
        [
            "document:refund-policy@v3",
            "document:faq@v2",
            "span:00000000000000c1",
            "tool:order_lookup:00000000000000d1",
        ],
    )
    _insert_kpi(store, "csat", 5, decision="d-1", trace=T1, entity="ticket-17")
    _insert_kpi(store, "refund_amount", 42.5, decision="d-1", trace=T1, entity="ticket-17")
    _insert_kpi(store, "ticket_resolved", 1, trace=T1)


def _second_ticket_and_tenant(store: ChdbStore) -> None:
    """T2 (acme): an OpenInference retriever (document ids only) and a span linking to T1's model
    call; T3 (tenant globex) uses a document with the same id as acme's."""
    _insert_spans(
        store,
        [
            _span(T2, "00000000000000a2", "", "retriever",
                  {"openinference.span.kind": "RETRIEVER",
                   "retrieval.documents.1.document.id": "returns",
                   "retrieval.documents.0.document.id": "faq@v2"}),
            _span(T2, "00000000000000b2", "00000000000000a2", "follow up", {},
                  links=((T1, "00000000000000c1"),)),
            _span(T3, "00000000000000a3", "", "retrieval kb",
                  {"gen_ai.operation.name": "retrieval", "gen_ai.data_source.id": "kb",
                   "agentledger.lineage.inputs": '["document:faq@v2"]'}, tenant="globex"),
        ],
    )  # fmt: skip
    _insert_decision(store, "d-2", T2, "00000000000000a2", "deny", ["document:faq@v2"])
    _insert_decision(
        store, "d-3", T3, "00000000000000a3", "approve", ["document:faq@v2"], tenant="globex"
    )


@pytest.fixture(scope="module")
def first_run(store: ChdbStore) -> Iterator[JobResult]:
    _ticket(store)
    _second_ticket_and_tenant(store)
    yield run_lineage_job(store, settle=SETTLED)


def _ids(graph: LineageGraph) -> set[str]:
    return {node.id for node in graph.nodes}


def _edges(graph: LineageGraph) -> set[tuple[str, str, str]]:
    return {(e.src, e.dst, e.relation) for e in graph.edges}


# --- the edges ------------------------------------------------------------------------------


def test_the_job_derives_edges_from_spans_decisions_and_kpis(
    store: ChdbStore, first_run: JobResult
) -> None:
    assert first_run.rows > 0
    edges = {
        (row["SrcNode"], row["DstNode"], row["Relation"]): row
        for row in query_rows(
            store,
            "SELECT SrcNode, DstNode, Relation, SrcType, DstType, TraceId, Attributes"
            " FROM lineage_edges FINAL WHERE TenantId = 'acme'",
        )
    }
    expected = {
        ("span:00000000000000a1", "span:00000000000000c1", "parent_of"),
        ("dataset:kb", "span:00000000000000b1", "queried_by"),
        ("dataset:kb", "document:refund-policy@v3", "contains"),
        ("document:refund-policy@v3", "span:00000000000000b1", "input_to"),
        ("model:gpt-4o", "span:00000000000000c1", "served"),
        ("prompt:refund-reply@2", "span:00000000000000c1", "prompted"),
        ("tool:order_lookup", "span:00000000000000d1", "invoked"),
        ("span:00000000000000d1", "tool:order_lookup:00000000000000d1", "produced"),
        ("span:00000000000000c1", "span:00000000000000e1", "input_to"),
        ("span:00000000000000e1", "action:issue_refund:order-17", "produced"),
        ("document:faq@v2", "decision:d-1", "input_to"),
        ("tool:order_lookup:00000000000000d1", "decision:d-1", "input_to"),
        ("span:00000000000000a1", "decision:d-1", "decided"),
        ("model:gpt-4o", "decision:d-1", "served"),
        ("decision:d-1", "action:approve", "chose"),
        ("decision:d-1", "kpi:csat:ticket-17", "outcome"),
        ("span:00000000000000c1", "span:00000000000000b2", "links_to"),
        ("document:faq@v2", "span:00000000000000a2", "input_to"),
        ("document:returns", "span:00000000000000a2", "input_to"),
    }
    assert expected <= set(edges)
    # a failed tool call returned nothing; the retrieval score travels on its input edge
    assert ("span:00000000000000d2", "tool:order_lookup:00000000000000d2", "produced") not in edges
    score = edges[("document:refund-policy@v3", "span:00000000000000b1", "input_to")]
    assert dict(score["Attributes"]) == {"score": "0.92"}
    assert (
        dict(edges[("span:00000000000000c1", "span:00000000000000b2", "links_to")]["Attributes"])[
            "trace_id"
        ]
        == T1
    )
    kpi = edges[("decision:d-1", "kpi:refund_amount:ticket-17", "outcome")]
    assert dict(kpi["Attributes"]) == {"value": "42.5", "unit": "usd"}
    assert (kpi["SrcType"], kpi["DstType"], kpi["TraceId"]) == ("decision", "kpi", T1)
    # a KPI known only by its trace is attributed to that trace's decision
    by_trace = [k for k in edges if k[2] == "outcome" and k[1].startswith("kpi:ticket_resolved:")]
    assert [k[0] for k in by_trace] == ["decision:d-1"]


# --- walks ----------------------------------------------------------------------------------


def test_upstream_of_a_decision_is_everything_it_rested_on(
    first_run: JobResult, store: ChdbStore
) -> None:
    graph = upstream(store, "decision:d-1")
    assert graph.tenant == "acme" and not graph.truncated
    assert _ids(graph) == {
        "decision:d-1",
        "document:refund-policy@v3",
        "document:faq@v2",
        "dataset:kb",
        "span:00000000000000c1",
        "model:gpt-4o",
        "prompt:refund-reply@2",
        "tool:order_lookup:00000000000000d1",
        "span:00000000000000d1",
        "tool:order_lookup",
        "span:00000000000000a1",
    }
    decision = graph.node("decision:d-1")
    assert (decision.type, decision.attributes["chosen"]) == ("decision", "approve")
    assert graph.node("span:00000000000000c1").attributes["name"] == "chat gpt-4o"
    # one hop only: the direct inputs
    assert _ids(upstream(store, "decision:d-1", depth=1)) == {
        "decision:d-1",
        "document:refund-policy@v3",
        "document:faq@v2",
        "span:00000000000000c1",
        "tool:order_lookup:00000000000000d1",
        "span:00000000000000a1",
        "model:gpt-4o",
    }


def test_downstream_of_a_document_reaches_decisions_actions_and_kpis(
    first_run: JobResult, store: ChdbStore
) -> None:
    graph = downstream(store, "document:refund-policy@v3")
    ids = _ids(graph)
    resolved = {n for n in ids if n.startswith("kpi:ticket_resolved:")}
    assert len(resolved) == 1
    assert ids == {
        "document:refund-policy@v3",
        "span:00000000000000b1",
        "span:00000000000000e1",
        "decision:d-1",
        "action:approve",
        "action:issue_refund:order-17",
        "kpi:csat:ticket-17",
        "kpi:refund_amount:ticket-17",
        *resolved,
    }
    assert graph.node("kpi:csat:ticket-17").attributes["value"] == "5"


def test_walks_stay_inside_one_tenant(first_run: JobResult, store: ChdbStore) -> None:
    with pytest.raises(ValueError, match="several tenants"):
        downstream(store, "document:faq@v2")
    acme = _ids(downstream(store, "document:faq@v2", tenant="acme"))
    globex = _ids(downstream(store, "document:faq@v2", tenant="globex"))
    assert {"decision:d-1", "decision:d-2"} <= acme and "decision:d-3" not in acme
    assert "decision:d-3" in globex and "decision:d-1" not in globex


def test_max_nodes_truncates_a_walk(first_run: JobResult, store: ChdbStore) -> None:
    graph = downstream(store, "document:refund-policy@v3", max_nodes=3)
    assert graph.truncated and len(graph.nodes) == 3


def test_path_from_a_source_to_a_kpi(first_run: JobResult, store: ChdbStore) -> None:
    chain = path(store, "dataset:kb", "kpi:csat:ticket-17")
    assert [e.relation for e in chain] == ["contains", "input_to", "outcome"]
    assert chain[0].src == "dataset:kb" and chain[-1].dst == "kpi:csat:ticket-17"
    assert all(a.dst == b.src for a, b in itertools.pairwise(chain))
    to_action = path(store, "model:gpt-4o", "action:issue_refund:order-17")
    assert [(e.src, e.relation) for e in to_action] == [
        ("model:gpt-4o", "served"),
        ("span:00000000000000c1", "input_to"),
        ("span:00000000000000e1", "produced"),
    ]
    assert path(store, "document:faq@v2", "action:issue_refund:order-17", tenant="acme") == []


def test_bad_node_ids_get_clear_errors(first_run: JobResult, store: ChdbStore) -> None:
    with pytest.raises(ValueError, match="not a lineage node id"):
        upstream(store, "d-1")
    with pytest.raises(ValueError, match="no lineage recorded for decision:nope"):
        upstream(store, "decision:nope")
    with pytest.raises(ValueError, match="no lineage recorded for document:missing"):
        path(store, "document:missing", "kpi:csat:ticket-17")
    with pytest.raises(ValueError, match="exactly one"):
        graph_for(store, decision_id="d-1", trace_id=T1)


def test_graph_for_a_trace_a_decision_and_since(first_run: JobResult, store: ChdbStore) -> None:
    trace = graph_for(store, trace_id=T1.upper())
    ids = _ids(trace)
    assert {
        "span:00000000000000a1",
        "span:00000000000000d2",
        "decision:d-1",
        "kpi:csat:ticket-17",
        "dataset:kb",
        "model:gpt-4o",
        "action:issue_refund:order-17",
    } <= ids
    assert "decision:d-2" not in ids and "decision:d-3" not in ids
    decision = graph_for(store, decision_id="d-1")
    assert _ids(upstream(store, "decision:d-1")) <= _ids(decision)
    assert "kpi:csat:ticket-17" in _ids(decision)
    # only the KPI outcomes (2 minutes old) are newer than 10 minutes
    recent = graph_for(store, decision_id="d-1", since=NOW - timedelta(minutes=10))
    assert {e.relation for e in recent.edges} == {"outcome"}


# --- the job: incremental, late data, restarts -----------------------------------------------


def _edge_counts(store: ChdbStore) -> tuple[int, int]:
    row = query_rows(
        store,
        "SELECT count() AS n, uniqExact(TenantId, SrcNode, DstNode, Relation) AS u"
        " FROM lineage_edges",
    )[0]
    return int(row["n"]), int(row["u"])


def test_inserted_at_is_invisible_to_select_star(store: ChdbStore) -> None:
    columns = store.query_arrow("SELECT * FROM otel_traces LIMIT 0").column_names
    assert "InsertedAt" not in columns and "SpanAttributes" in columns


def test_a_second_run_reads_nothing_twice(first_run: JobResult, store: ChdbStore) -> None:
    count, unique = _edge_counts(store)
    assert count == unique
    before = run_lineage_job(store, settle=SETTLED)
    again = run_lineage_job(store, settle=SETTLED)
    assert again.window_start == before.window_end and again.window_end > again.window_start
    assert again.rows == 0
    assert _edge_counts(store) == (count, unique)


def test_new_and_late_data_are_picked_up_and_unsettled_data_waits(
    first_run: JobResult, store: ChdbStore
) -> None:
    # a span stamped two days ago arrives only now (a replayed spool): it is still read
    trace = uuid.uuid4().hex
    _insert_spans(
        store,
        [
            _span(trace, "00000000000000f1", "", "retrieval kb",
                  {"gen_ai.operation.name": "retrieval", "gen_ai.data_source.id": "kb",
                   "agentledger.lineage.inputs": '["document:late@v1"]'},
                  tenant="initech", minutes_ago=2 * 24 * 60),
        ],
    )  # fmt: skip
    _insert_decision(
        store, "d-late", trace, "00000000000000f1", "approve", ["document:late@v1"],
        tenant="initech",
    )  # fmt: skip
    waiting = run_lineage_job(store)  # the default settle time has not passed yet
    assert waiting.rows == 0
    with pytest.raises(ValueError, match="no lineage recorded"):
        upstream(store, "decision:d-late")
    done = run_lineage_job(store, settle=SETTLED)
    assert done.rows > 0 and done.window_start == waiting.window_end
    assert _ids(upstream(store, "decision:d-late")) == {
        "decision:d-late",
        "document:late@v1",
        "dataset:kb",
        "span:00000000000000f1",
        "model:gpt-4o",  # the decision's model
    }


def test_a_run_cut_short_is_redone_without_duplicates(
    first_run: JobResult, store: ChdbStore
) -> None:
    trace = uuid.uuid4().hex
    _insert_spans(
        store,
        [
            _span(trace, "00000000000000f2", "", "chat", {"gen_ai.request.model": "o4-mini"},
                  tenant="umbrella"),
        ],
    )  # fmt: skip
    _insert_decision(store, "d-crash", trace, "00000000000000f2", "escalate", [], tenant="umbrella")
    crashed = run_lineage_job(store, settle=SETTLED)
    assert crashed.rows > 0
    # the process died after writing the edges but before moving the watermark
    store.command(
        "ALTER TABLE lineage_progress DELETE WHERE WindowEnd = {end:DateTime64(3)}"
        " SETTINGS mutations_sync = 2",
        {"end": crashed.window_end.strftime("%Y-%m-%d %H:%M:%S.%f")},
    )
    redone = run_lineage_job(store, settle=SETTLED)
    assert redone.window_start == crashed.window_start
    graph = upstream(store, "decision:d-crash")
    assert _edges(graph) == {
        ("span:00000000000000f2", "decision:d-crash", "decided"),
        ("model:gpt-4o", "decision:d-crash", "served"),
        ("model:o4-mini", "span:00000000000000f2", "served"),
    }
    store.command("OPTIMIZE TABLE lineage_edges FINAL")
    count, unique = _edge_counts(store)
    assert count == unique


# --- exports, read back ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def decision_graph(first_run: JobResult, store: ChdbStore) -> LineageGraph:
    return graph_for(store, decision_id="d-1")


def test_json_export(decision_graph: LineageGraph, tmp_path: Path) -> None:
    (out,) = export_lineage(decision_graph, "json", tmp_path / "graph.json")
    data = json.loads(out.read_text())
    assert {n["id"] for n in data["nodes"]} == _ids(decision_graph)
    assert {(e["src"], e["dst"], e["relation"]) for e in data["edges"]} == _edges(decision_graph)
    assert data["tenant"] == "acme"


def test_openlineage_export_is_valid_against_the_run_event_schema(
    decision_graph: LineageGraph, tmp_path: Path
) -> None:
    (out,) = export_lineage(decision_graph, "openlineage", tmp_path / "events.json")
    events = json.loads(out.read_text())
    validator = jsonschema.Draft202012Validator(
        RUN_EVENT_SCHEMA, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )
    for event in events:
        validator.validate(event)
        # and through the OpenLineage client's own model, with its validators
        parsed = RunEvent(
            eventType=RunState(event["eventType"]),
            eventTime=event["eventTime"],
            run=Run(runId=event["run"]["runId"]),
            job=Job(namespace=event["job"]["namespace"], name=event["job"]["name"]),
            inputs=[
                InputDataset(namespace=d["namespace"], name=d["name"]) for d in event["inputs"]
            ],
            outputs=[
                OutputDataset(namespace=d["namespace"], name=d["name"]) for d in event["outputs"]
            ],
            producer=event["producer"],
        )
        assert Serde.to_dict(parsed)["run"]["runId"] == event["run"]["runId"]
    t1 = [e for e in events if e["run"]["facets"]["agentledger_trace"]["traceId"] == T1]
    assert [e["eventType"] for e in t1] == ["START", "COMPLETE"]
    assert t1[0]["run"]["runId"] == str(uuid.UUID(T1)) and t1[0]["job"]["name"] == "support"
    complete = t1[1]
    assert "document:refund-policy@v3" in {d["name"] for d in complete["inputs"]}
    assert {"decision:d-1", "kpi:csat:ticket-17"} <= {d["name"] for d in complete["outputs"]}


def test_graphml_export_reads_back_with_networkx(
    decision_graph: LineageGraph, tmp_path: Path
) -> None:
    (out,) = export_lineage(decision_graph, "graphml", tmp_path / "graph.graphml")
    read = nx.read_graphml(out)
    assert set(read.nodes) == _ids(decision_graph)
    assert read.nodes["decision:d-1"]["type"] == "decision"
    assert read.nodes["decision:d-1"]["chosen"] == "approve"
    relations = {(u, v, d["relation"]) for u, v, d in read.edges(data=True)}
    assert relations == _edges(decision_graph)


def test_csv_export_reads_back(decision_graph: LineageGraph, tmp_path: Path) -> None:
    edges_file, nodes_file = export_lineage(decision_graph, "csv", tmp_path / "lineage.csv")
    assert nodes_file.name == "lineage.nodes.csv"
    with edges_file.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert {(r["src"], r["dst"], r["relation"]) for r in rows} == _edges(decision_graph)
    kpi = next(r for r in rows if r["dst"] == "kpi:refund_amount:ticket-17")
    assert json.loads(kpi["attributes"]) == {"unit": "usd", "value": "42.5"}
    assert datetime.fromisoformat(kpi["time"]).tzinfo is not None
    with nodes_file.open(newline="") as handle:
        nodes = {r["id"]: r for r in csv.DictReader(handle)}
    assert set(nodes) == _ids(decision_graph)
    assert json.loads(nodes["decision:d-1"]["attributes"])["chosen"] == "approve"


def test_parquet_export_reads_back(decision_graph: LineageGraph, tmp_path: Path) -> None:
    edges_file, nodes_file = export_lineage(decision_graph, "parquet", tmp_path / "lineage.parquet")
    edges = pq.read_table(edges_file)
    assert edges.schema.field("time").type == pa.timestamp("us", tz="UTC")
    rows = edges.to_pylist()
    assert {(r["src"], r["dst"], r["relation"]) for r in rows} == _edges(decision_graph)
    nodes = {r["id"]: r for r in pq.read_table(nodes_file).to_pylist()}
    assert dict(nodes["decision:d-1"]["attributes"])["chosen"] == "approve"


def test_html_export_is_self_contained_and_lists_every_node(
    decision_graph: LineageGraph, tmp_path: Path
) -> None:
    (out,) = export_lineage(decision_graph, "html", tmp_path / "lineage.html")
    page = out.read_text()
    assert page.startswith("<!DOCTYPE html>")
    for node in decision_graph.nodes:
        assert node.id in page
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", page, re.I)
    assert "<link" not in page and "@import" not in page
