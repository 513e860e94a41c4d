"""Lineage exports on a hand-built graph (no store): JSON, OpenLineage events, networkx/GraphML,
the HTML page, and the node id rules."""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jsonschema
import networkx as nx
import pytest

from agentledger.analytics.lineage import NODE_TYPES, Edge, LineageGraph, Node, node_type
from agentledger.analytics.lineage_export import (
    FORMATS,
    export_lineage,
    graph_dict,
    openlineage_events,
    render_html,
    to_networkx,
)

# The RunEvent of the OpenLineage spec 2-0-2 (https://openlineage.io/spec/2-0-2/OpenLineage.json):
# its required fields, types, enums and formats, written out here because the installed
# openlineage-python ships no copy of the spec file and tests do not use the network.
_FACET = {
    "type": "object",
    "properties": {
        "_producer": {"type": "string", "format": "uri"},
        "_schemaURL": {"type": "string", "format": "uri"},
    },
    "required": ["_producer", "_schemaURL"],
    "additionalProperties": True,
}
_DATASET = {
    "type": "object",
    "properties": {
        "namespace": {"type": "string"},
        "name": {"type": "string"},
        "facets": {"type": "object", "additionalProperties": _FACET},
    },
    "required": ["namespace", "name"],
}
RUN_EVENT_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "properties": {
        "eventTime": {"type": "string", "format": "date-time"},
        "producer": {"type": "string", "format": "uri"},
        "schemaURL": {"type": "string", "format": "uri"},
        "eventType": {
            "type": "string",
            "enum": ["START", "RUNNING", "COMPLETE", "ABORT", "FAIL", "OTHER"],
        },
        "run": {
            "type": "object",
            "properties": {
                "runId": {"type": "string", "format": "uuid"},
                "facets": {"type": "object", "additionalProperties": _FACET},
            },
            "required": ["runId"],
        },
        "job": {
            "type": "object",
            "properties": {
                "namespace": {"type": "string"},
                "name": {"type": "string"},
                "facets": {"type": "object", "additionalProperties": _FACET},
            },
            "required": ["namespace", "name"],
        },
        "inputs": {"type": "array", "items": _DATASET},
        "outputs": {"type": "array", "items": _DATASET},
    },
    "required": ["eventTime", "producer", "schemaURL", "run", "job"],
}

T1 = "4bf92f3577b34da6a3ce929d0e0e4736"
AT = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _graph(trace: str = T1) -> LineageGraph:
    nodes = (
        Node("dataset:kb", "dataset"),
        Node("document:faq@v2", "document"),
        Node("span:00000000000000a1", "span", {"agent": "support", "name": "invoke_agent"}),
        Node("decision:d-1", "decision", {"chosen": "approve", "type": "refund"}),
        Node("kpi:csat:t-1", "kpi", {"value": "5"}),
        Node('document:</script><script>alert("x")', "document"),
    )
    edges = (
        Edge("dataset:kb", "document:faq@v2", "contains", AT, trace),
        Edge("document:faq@v2", "decision:d-1", "input_to", AT, trace, {"score": "0.9"}),
        Edge("span:00000000000000a1", "decision:d-1", "decided", AT, trace),
        Edge("decision:d-1", "kpi:csat:t-1", "outcome", AT.replace(hour=13), trace),
        Edge('document:</script><script>alert("x")', "decision:d-1", "input_to", AT, trace),
    )
    return LineageGraph("acme", nodes, edges)


def test_node_ids_are_typed() -> None:
    assert node_type("document:faq@v2") == "document"
    assert node_type("kpi:csat:ticket-1") == "kpi"
    assert set(NODE_TYPES) >= {"dataset", "span", "decision", "action", "kpi"}
    for bad in ("faq", "document:", "unknown:x", ":x"):
        with pytest.raises(ValueError, match="not a lineage node id"):
            node_type(bad)


def test_graph_dict_round_trips_through_json() -> None:
    data = json.loads(json.dumps(graph_dict(_graph())))
    assert data["tenant"] == "acme" and data["truncated"] is False
    assert data["edges"][1] == {
        "src": "document:faq@v2",
        "dst": "decision:d-1",
        "relation": "input_to",
        "time": "2026-03-01T12:00:00.000000Z",
        "trace_id": T1,
        "attributes": {"score": "0.9"},
    }
    assert {n["id"]: n["type"] for n in data["nodes"]}["kpi:csat:t-1"] == "kpi"


def test_openlineage_a_start_and_a_complete_event_per_trace() -> None:
    start, complete = openlineage_events(_graph())
    validator = jsonschema.Draft202012Validator(
        RUN_EVENT_SCHEMA, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )
    for event in (start, complete):
        validator.validate(event)
    assert (start["eventType"], complete["eventType"]) == ("START", "COMPLETE")
    assert start["run"]["runId"] == complete["run"]["runId"] == str(uuid.UUID(T1))
    assert start["eventTime"] == "2026-03-01T12:00:00.000000Z"
    assert complete["eventTime"] == "2026-03-01T13:00:00.000000Z"
    assert complete["job"] == start["job"]
    assert (complete["job"]["namespace"], complete["job"]["name"]) == (
        "agentledger://acme",
        "support",
    )
    inputs = {d["name"] for d in complete["inputs"]}
    assert {"dataset:kb", "document:faq@v2"} <= inputs and "span:00000000000000a1" not in inputs
    assert {d["name"] for d in complete["outputs"]} == {"decision:d-1", "kpi:csat:t-1"}
    assert start["outputs"] == []
    facet = next(d for d in complete["outputs"] if d["name"] == "decision:d-1")["facets"]
    assert facet["agentledger_node"]["attributes"]["chosen"] == "approve"
    assert complete["run"]["facets"]["agentledger_trace"]["decisions"] == ["decision:d-1"]


def test_openlineage_run_ids_are_stable_for_any_trace_id() -> None:
    first = openlineage_events(_graph("not-hex"))[0]["run"]["runId"]
    assert first == openlineage_events(_graph("not-hex"))[0]["run"]["runId"]
    assert uuid.UUID(first).version == 5
    untraced = openlineage_events(_graph(""))[0]
    assert untraced["job"]["name"] == "agentledger.lineage"


def test_networkx_keeps_types_relations_and_attributes(tmp_path: Path) -> None:
    graph = to_networkx(_graph())
    assert graph.nodes["decision:d-1"]["type"] == "decision"
    # a node attribute named like a fixed one is kept under another name
    assert graph.nodes["decision:d-1"]["attr.type"] == "refund"
    assert graph.edges["document:faq@v2", "decision:d-1", "input_to"]["score"] == "0.9"
    nx.write_graphml(graph, tmp_path / "g.graphml")
    read = nx.read_graphml(tmp_path / "g.graphml")
    assert read.edges["dataset:kb", "document:faq@v2"]["relation"] == "contains"
    assert read.edges["dataset:kb", "document:faq@v2"]["time"] == "2026-03-01T12:00:00.000000Z"


def test_html_escapes_node_ids_and_loads_nothing() -> None:
    page = render_html(_graph())
    assert page.count("</script>") == 2  # the data block and the code, nothing injected
    assert "&lt;/script&gt;&lt;script&gt;alert(&quot;x&quot;)" in page  # the node table cell
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", page, re.I)
    payload = re.search(
        r'<script id="lineage-data" type="application/json">(.*?)</script>', page, re.S
    )
    assert payload is not None
    data = json.loads(payload.group(1))
    assert len(data["nodes"]) == 6 and len(data["edges"]) == 5
    assert "Truncated" not in page
    truncated = LineageGraph("acme", (), (), truncated=True)
    assert "Truncated" in render_html(truncated)


def test_export_rejects_an_unknown_format_and_names_files(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="choose one of json, openlineage"):
        export_lineage(_graph(), "dot", tmp_path / "g.dot")
    assert FORMATS == ("json", "openlineage", "graphml", "csv", "parquet", "html")
    written = export_lineage(_graph(), "csv", tmp_path / "out" / "g.csv")
    assert [p.name for p in written] == ["g.csv", "g.nodes.csv"]
    assert all(p.exists() for p in written)
