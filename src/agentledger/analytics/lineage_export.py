"""Lineage graphs as files an analyst or another tool can open.

``json`` (nodes and edges), ``openlineage`` (a JSON array of OpenLineage ``RunEvent``\\ s: each
trace is a run of its agent's job, its documents, datasets, prompts, models and tool results the
input datasets, its decisions, actions and KPI outcomes the outputs), ``graphml`` (for networkx,
Gephi, yEd), ``csv`` and ``parquet`` (edge lists, with the nodes in a second file next to them),
and ``html`` (one self-contained page: an interactive graph and the node and edge tables, no
network needed to view it).
"""

from __future__ import annotations

import csv
import html
import json
import uuid
from collections import defaultdict
from collections.abc import Mapping
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, Final, Literal, get_args

import networkx as nx
import pyarrow as pa
import pyarrow.parquet as pq

from agentledger.analytics.lineage import Edge, LineageGraph, Node

__all__ = [
    "FORMATS",
    "Format",
    "export_lineage",
    "graph_dict",
    "openlineage_events",
    "render_html",
    "to_networkx",
]

Format = Literal["json", "openlineage", "graphml", "csv", "parquet", "html"]
FORMATS: Final[tuple[Format, ...]] = get_args(Format)

OPENLINEAGE_SCHEMA: Final = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"
_JOB_TYPE_SCHEMA: Final = (
    "https://openlineage.io/spec/facets/2-0-4/JobTypeJobFacet.json#/$defs/JobTypeJobFacet"
)
# Our own facets: an identifier, never fetched.
_FACET_SCHEMA: Final = "urn:agentledger:openlineage:{}"
_INPUT_TYPES: Final = frozenset({"dataset", "document", "prompt", "model", "tool"})
_OUTPUT_TYPES: Final = frozenset({"decision", "action", "kpi"})
_NO_TRACE_JOB: Final = "agentledger.lineage"


def export_lineage(graph: LineageGraph, fmt: str, out: Path) -> list[Path]:
    """Write ``graph`` as ``fmt`` to ``out`` and return the files written: for csv and parquet,
    ``out`` holds the edges and ``<stem>.nodes<suffix>`` beside it the nodes."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown lineage format {fmt!r}; choose one of {', '.join(FORMATS)}")
    out.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "json":
        out.write_text(json.dumps(graph_dict(graph), indent=2, ensure_ascii=False) + "\n")
    elif fmt == "openlineage":
        events = openlineage_events(graph)
        out.write_text(json.dumps(events, indent=2, ensure_ascii=False) + "\n")
    elif fmt == "graphml":
        nx.write_graphml(to_networkx(graph), out)
    elif fmt == "html":
        out.write_text(render_html(graph), encoding="utf-8")
    else:
        nodes_out = out.with_name(f"{out.stem}.nodes{out.suffix}")
        writer = _write_csv if fmt == "csv" else _write_parquet
        writer(graph, out, nodes_out)
        return [out, nodes_out]
    return [out]


# --- json -------------------------------------------------------------------------------------


def graph_dict(graph: LineageGraph) -> dict[str, Any]:
    """The graph as plain JSON-ready data: ``tenant``, ``truncated``, ``nodes``, ``edges``."""
    return {
        "tenant": graph.tenant,
        "truncated": graph.truncated,
        "nodes": [_node_dict(node) for node in graph.nodes],
        "edges": [_edge_dict(edge) for edge in graph.edges],
    }


def _node_dict(node: Node) -> dict[str, Any]:
    return {"id": node.id, "type": node.type, "attributes": dict(node.attributes)}


def _edge_dict(edge: Edge) -> dict[str, Any]:
    return {
        "src": edge.src,
        "dst": edge.dst,
        "relation": edge.relation,
        "time": _iso(edge.time),
        "trace_id": edge.trace_id,
        "attributes": dict(edge.attributes),
    }


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# --- openlineage ------------------------------------------------------------------------------


def openlineage_events(graph: LineageGraph) -> list[dict[str, Any]]:
    """A START and a COMPLETE ``RunEvent`` per trace in the graph (edges without a trace make one
    run of their own): the run id is the trace id read as a UUID, the job the trace's agent."""
    by_trace: dict[str, list[Edge]] = defaultdict(list)
    for edge in graph.edges:
        by_trace[edge.trace_id].append(edge)
    nodes = {node.id: node for node in graph.nodes}
    namespace = f"agentledger://{graph.tenant or 'default'}"
    producer = _producer()
    events: list[dict[str, Any]] = []
    for trace_id in sorted(by_trace):
        edges = by_trace[trace_id]
        touched = sorted({n for edge in edges for n in (edge.src, edge.dst)})
        members = [nodes.get(n) or Node(n, n.partition(":")[0]) for n in touched]
        run = {
            "runId": _run_id(graph.tenant, trace_id),
            "facets": {
                "agentledger_trace": {
                    "_producer": producer,
                    "_schemaURL": _FACET_SCHEMA.format("AgentLedgerTraceRunFacet"),
                    "traceId": trace_id,
                    "decisions": [m.id for m in members if m.type == "decision"],
                    "spans": sum(m.type == "span" for m in members),
                }
            },
        }
        job = {
            "namespace": namespace,
            "name": _job_name(members) if trace_id else _NO_TRACE_JOB,
            "facets": {
                "jobType": {
                    "_producer": producer,
                    "_schemaURL": _JOB_TYPE_SCHEMA,
                    "processingType": "BATCH",
                    "integration": "AGENTLEDGER",
                    "jobType": "AGENT",
                }
            },
        }
        inputs = [_dataset(m, namespace, producer) for m in members if m.type in _INPUT_TYPES]
        outputs = [_dataset(m, namespace, producer) for m in members if m.type in _OUTPUT_TYPES]
        times = [edge.time for edge in edges]
        for event_type, moment, ins, outs in (
            ("START", min(times), inputs, []),
            ("COMPLETE", max(times), inputs, outputs),
        ):
            events.append(
                {
                    "eventType": event_type,
                    "eventTime": _iso(moment),
                    "producer": producer,
                    "schemaURL": OPENLINEAGE_SCHEMA,
                    "run": run,
                    "job": job,
                    "inputs": ins,
                    "outputs": outs,
                }
            )
    return events


def _producer() -> str:
    try:
        release = version("agentledger")
    except PackageNotFoundError:
        release = "unknown"
    return f"urn:agentledger:{release}"


def _run_id(tenant: str, trace_id: str) -> str:
    """A trace id is 128 random bits, as a run id is: the same run every export."""
    try:
        return str(uuid.UUID(hex=trace_id))
    except ValueError:
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"agentledger://{tenant}/trace/{trace_id}"))


def _job_name(members: list[Node]) -> str:
    for key in ("agent", "service"):
        names = sorted({m.attributes[key] for m in members if m.attributes.get(key)})
        if names:
            return names[0]
    return _NO_TRACE_JOB


def _dataset(node: Node, namespace: str, producer: str) -> dict[str, Any]:
    return {
        "namespace": namespace,
        "name": node.id,
        "facets": {
            "agentledger_node": {
                "_producer": producer,
                "_schemaURL": _FACET_SCHEMA.format("AgentLedgerNodeDatasetFacet"),
                "nodeType": node.type,
                "attributes": dict(node.attributes),
            }
        },
    }


# --- graphml ----------------------------------------------------------------------------------


def to_networkx(graph: LineageGraph) -> nx.MultiDiGraph:
    """A networkx multigraph: node attribute ``type`` plus the node's own attributes, edge
    attributes ``relation``, ``time`` (ISO 8601), ``trace_id`` plus the edge's own. Every value
    is a string, so GraphML keeps them as they are."""
    result = nx.MultiDiGraph(tenant=graph.tenant, truncated=str(graph.truncated).lower())
    for node in graph.nodes:
        result.add_node(node.id, **_strings(node.attributes), type=node.type)
    for edge in graph.edges:
        for end in (edge.src, edge.dst):
            if end not in result:
                result.add_node(end, type=end.partition(":")[0])
        result.add_edge(
            edge.src,
            edge.dst,
            key=edge.relation,
            **_strings(edge.attributes),
            relation=edge.relation,
            time=_iso(edge.time),
            trace_id=edge.trace_id,
        )
    return result


def _strings(attributes: Mapping[str, str]) -> dict[str, str]:
    """Attributes whose names cannot clash with the fixed ones."""
    fixed = {"type", "relation", "time", "trace_id"}
    return {(f"attr.{k}" if k in fixed else k): str(v) for k, v in attributes.items()}


# --- csv and parquet --------------------------------------------------------------------------

_EDGE_FIELDS: Final = ("src", "dst", "relation", "src_type", "dst_type", "time", "trace_id")


def _edge_rows(graph: LineageGraph) -> list[dict[str, Any]]:
    return [
        {
            "src": e.src,
            "dst": e.dst,
            "relation": e.relation,
            "src_type": e.src.partition(":")[0],
            "dst_type": e.dst.partition(":")[0],
            "time": e.time,
            "trace_id": e.trace_id,
            "attributes": dict(e.attributes),
        }
        for e in graph.edges
    ]


def _write_csv(graph: LineageGraph, edges_out: Path, nodes_out: Path) -> None:
    """Attributes as one JSON object per row: CSV has no nested values."""
    with edges_out.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=[*_EDGE_FIELDS, "attributes"])
        writer.writeheader()
        for row in _edge_rows(graph):
            row["time"] = _iso(row["time"])
            row["attributes"] = json.dumps(row["attributes"], sort_keys=True)
            writer.writerow(row)
    with nodes_out.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=["id", "type", "attributes"])
        writer.writeheader()
        for node in graph.nodes:
            writer.writerow(
                {
                    "id": node.id,
                    "type": node.type,
                    "attributes": json.dumps(dict(node.attributes), sort_keys=True),
                }
            )


_ATTRS: Final = pa.map_(pa.string(), pa.string())
_EDGE_SCHEMA: Final = pa.schema(
    [
        *((name, pa.string()) for name in _EDGE_FIELDS[:5]),
        ("time", pa.timestamp("us", tz="UTC")),
        ("trace_id", pa.string()),
        ("attributes", _ATTRS),
    ]
)
_NODE_SCHEMA: Final = pa.schema(
    [("id", pa.string()), ("type", pa.string()), ("attributes", _ATTRS)]
)


def _write_parquet(graph: LineageGraph, edges_out: Path, nodes_out: Path) -> None:
    rows = _edge_rows(graph)
    for row in rows:
        row["attributes"] = list(row["attributes"].items())
    pq.write_table(pa.Table.from_pylist(rows, schema=_EDGE_SCHEMA), edges_out)
    nodes = [
        {"id": n.id, "type": n.type, "attributes": list(n.attributes.items())} for n in graph.nodes
    ]
    pq.write_table(pa.Table.from_pylist(nodes, schema=_NODE_SCHEMA), nodes_out)


# --- html -------------------------------------------------------------------------------------

_COLORS: Final = {
    "dataset": "#1f77b4",
    "document": "#17becf",
    "prompt": "#bcbd22",
    "model": "#9467bd",
    "tool": "#8c564b",
    "span": "#7f7f7f",
    "decision": "#d62728",
    "action": "#ff7f0e",
    "kpi": "#2ca02c",
}
_OTHER_COLOR: Final = "#444444"


def render_html(graph: LineageGraph) -> str:
    """One self-contained page: a pan/zoom/drag graph (hover or click a node for its details),
    a legend, and tables of the nodes and edges. Nothing is loaded from the network."""
    data = {
        **graph_dict(graph),
        "colors": {**_COLORS, "": _OTHER_COLOR},
        "order": list(_COLORS),
    }
    payload = json.dumps(data, ensure_ascii=False).replace("</", "<\\/")
    legend = "".join(
        f'<span class="key"><i style="background:{color}"></i>{html.escape(kind)}</span>'
        for kind, color in _COLORS.items()
    )
    title = f"AgentLedger lineage: {graph.tenant}"
    warning = (
        '<p class="warn">Truncated: the walk stopped at its node limit;'
        " not every node is shown.</p>"
        if graph.truncated
        else ""
    )
    return _PAGE.format(
        title=html.escape(title),
        summary=html.escape(f"{len(graph.nodes)} nodes, {len(graph.edges)} edges"),
        warning=warning,
        legend=legend,
        node_rows="".join(_node_row(node) for node in graph.nodes),
        edge_rows="".join(_edge_row(edge) for edge in graph.edges),
        payload=payload,
        script=_SCRIPT,
        style=_STYLE,
    )


def _node_row(node: Node) -> str:
    attrs = "; ".join(f"{k}={v}" for k, v in sorted(node.attributes.items()))
    return (
        f'<tr data-node="{html.escape(node.id)}"><td>{html.escape(node.id)}</td>'
        f"<td>{html.escape(node.type)}</td><td>{html.escape(attrs)}</td></tr>"
    )


def _edge_row(edge: Edge) -> str:
    cells = (edge.src, edge.relation, edge.dst, _iso(edge.time), edge.trace_id)
    return "<tr>" + "".join(f"<td>{html.escape(cell)}</td>" for cell in cells) + "</tr>"


_STYLE: Final = """
body{font:14px system-ui,sans-serif;margin:16px;color:#222}
h1{font-size:20px;margin:0 0 4px}
.warn{color:#b00;font-weight:600}
#wrap{display:flex;gap:12px;align-items:flex-start}
#graph{border:1px solid #ccc;width:100%;height:560px;cursor:grab;background:#fcfcfc}
#details{min-width:280px;max-width:360px;border:1px solid #ccc;padding:8px;height:544px;
 overflow:auto;font-size:13px;word-break:break-all}
.key{margin-right:12px;white-space:nowrap}
.key i{display:inline-block;width:10px;height:10px;border-radius:5px;margin-right:4px}
table{border-collapse:collapse;margin:8px 0 16px;font-size:13px}
td,th{border:1px solid #ddd;padding:3px 6px;text-align:left;vertical-align:top}
tr.sel td{background:#ffe9a8}
.node circle{stroke:#fff;stroke-width:1.5px;cursor:pointer}
.node text{font-size:10px;pointer-events:none;fill:#333}
.node.sel circle{stroke:#000;stroke-width:3px}
line{stroke:#999;stroke-opacity:.7}
"""

_PAGE: Final = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>{style}</style></head>
<body>
<h1>{title}</h1>
<p>{summary}. Drag the background to pan, scroll to zoom, drag a node to move it; hover or click
a node for its details.</p>
{warning}
<p>{legend}</p>
<div id="wrap"><svg id="graph" role="img" aria-label="lineage graph"></svg>
<div id="details">Hover or click a node.</div></div>
<h2>Nodes</h2>
<table id="nodes"><thead><tr><th>node</th><th>type</th><th>attributes</th></tr></thead>
<tbody>{node_rows}</tbody></table>
<h2>Edges</h2>
<table id="edges"><thead><tr><th>source</th><th>relation</th><th>destination</th><th>time</th>
<th>trace</th></tr></thead><tbody>{edge_rows}</tbody></table>
<script id="lineage-data" type="application/json">{payload}</script>
<script>{script}</script>
</body></html>
"""

# A small force layout: nodes start in columns by type (sources left, outcomes right), then
# edges pull, nodes push apart (all pairs up to 800 nodes; beyond that the columns stay).
_SCRIPT: Final = """
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("lineage-data").textContent);
  var NS = "http://www.w3.org/2000/svg";
  var svg = document.getElementById("graph");
  var details = document.getElementById("details");
  var width = svg.clientWidth || 900, height = svg.clientHeight || 560;
  var view = document.createElementNS(NS, "g");
  svg.appendChild(view);
  var defs = document.createElementNS(NS, "defs");
  defs.innerHTML = '<marker id="arrow" viewBox="0 0 10 10" refX="17" refY="5" ' +
    'markerWidth="6" markerHeight="6" orient="auto">' +
    '<path d="M0,0L10,5L0,10z" fill="#999"/></marker>';
  svg.appendChild(defs);
  var byId = {}, columns = {}, nodes = data.nodes.map(function (n) {
    var col = data.order.indexOf(n.type);
    if (col < 0) { col = data.order.length; }
    columns[col] = (columns[col] || 0) + 1;
    var node = {id: n.id, type: n.type, attributes: n.attributes, col: col, row: columns[col]};
    byId[n.id] = node;
    return node;
  });
  var ncol = data.order.length + 1;
  nodes.forEach(function (n) {
    n.x = (n.col + 0.5) * width / ncol;
    n.y = n.row * height / ((columns[n.col] || 1) + 1);
  });
  var edges = data.edges.filter(function (e) { return byId[e.src] && byId[e.dst]; })
    .map(function (e) { return {s: byId[e.src], t: byId[e.dst], e: e}; });
  var lines = edges.map(function (l) {
    var line = document.createElementNS(NS, "line");
    line.setAttribute("marker-end", "url(#arrow)");
    var title = document.createElementNS(NS, "title");
    title.textContent = l.e.src + " \u2192 " + l.e.relation + " \u2192 " + l.e.dst;
    line.appendChild(title);
    view.appendChild(line);
    return line;
  });
  var selected = null;
  function show(n) {
    var rows = ["<b>" + esc(n.id) + "</b>", "type: " + esc(n.type)];
    Object.keys(n.attributes).sort().forEach(function (k) {
      rows.push(esc(k) + ": " + esc(n.attributes[k]));
    });
    var ins = edges.filter(function (l) { return l.t === n; }).map(function (l) {
      return "\u2190 " + esc(l.e.relation) + " " + esc(l.s.id); });
    var outs = edges.filter(function (l) { return l.s === n; }).map(function (l) {
      return "\u2192 " + esc(l.e.relation) + " " + esc(l.t.id); });
    details.innerHTML = rows.concat(["<br>inputs:"], ins, ["<br>outputs:"], outs).join("<br>");
  }
  function esc(text) {
    return String(text).replace(/[&<>"]/g, function (c) {
      return {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"}[c]; });
  }
  var groups = nodes.map(function (n) {
    var g = document.createElementNS(NS, "g");
    g.setAttribute("class", "node");
    var c = document.createElementNS(NS, "circle");
    c.setAttribute("r", n.type === "decision" ? 9 : 6);
    c.setAttribute("fill", data.colors[n.type] || data.colors[""]);
    var label = document.createElementNS(NS, "text");
    label.setAttribute("x", 10);
    label.setAttribute("y", 4);
    var text = n.type === "span" && n.attributes.name ? "span: " + n.attributes.name : n.id;
    label.textContent = text.length > 40 ? text.slice(0, 39) + "\u2026" : text;
    g.appendChild(c);
    g.appendChild(label);
    g.addEventListener("mouseenter", function () { show(n); });
    g.addEventListener("mouseleave", function () { if (selected) { show(selected); } });
    g.addEventListener("click", function (ev) {
      ev.stopPropagation();
      selected = n;
      groups.forEach(function (o, i) { o.classList.toggle("sel", nodes[i] === n); });
      document.querySelectorAll("#nodes tr[data-node]").forEach(function (tr) {
        tr.classList.toggle("sel", tr.getAttribute("data-node") === n.id);
      });
      show(n);
    });
    g.addEventListener("mousedown", function (ev) { ev.stopPropagation(); dragging = n; });
    view.appendChild(g);
    return g;
  });
  function draw() {
    edges.forEach(function (l, i) {
      lines[i].setAttribute("x1", l.s.x); lines[i].setAttribute("y1", l.s.y);
      lines[i].setAttribute("x2", l.t.x); lines[i].setAttribute("y2", l.t.y);
    });
    nodes.forEach(function (n, i) {
      groups[i].setAttribute("transform", "translate(" + n.x + "," + n.y + ")");
    });
  }
  function tick(alpha) {
    var i, j, a, b, dx, dy, d2, f;
    if (nodes.length <= 800) {
      for (i = 0; i < nodes.length; i++) {
        for (j = i + 1; j < nodes.length; j++) {
          a = nodes[i]; b = nodes[j];
          dx = b.x - a.x; dy = b.y - a.y; d2 = dx * dx + dy * dy || 0.01;
          f = alpha * 900 / d2;
          a.x -= dx * f; a.y -= dy * f; b.x += dx * f; b.y += dy * f;
        }
      }
    }
    edges.forEach(function (l) {
      dx = l.t.x - l.s.x; dy = l.t.y - l.s.y;
      var d = Math.sqrt(dx * dx + dy * dy) || 1, k = alpha * 0.05 * (d - 70) / d;
      l.s.x += dx * k; l.s.y += dy * k; l.t.x -= dx * k; l.t.y -= dy * k;
    });
    nodes.forEach(function (n) {
      n.x += ((n.col + 0.5) * width / ncol - n.x) * alpha * 0.2;
      n.y += (height / 2 - n.y) * alpha * 0.01;
    });
  }
  var scale = 1, panX = 0, panY = 0, dragging = null, panning = null, moved = false;
  function place() {
    view.setAttribute("transform", "translate(" + panX + "," + panY + ") scale(" + scale + ")");
  }
  function fit() {
    if (moved || !nodes.length) { return; }
    var xs = nodes.map(function (n) { return n.x; }), ys = nodes.map(function (n) { return n.y; });
    var x0 = Math.min.apply(null, xs) - 20, x1 = Math.max.apply(null, xs) + 160;
    var y0 = Math.min.apply(null, ys) - 20, y1 = Math.max.apply(null, ys) + 20;
    scale = Math.min(2, width / (x1 - x0), height / (y1 - y0));
    panX = (width - (x1 - x0) * scale) / 2 - x0 * scale;
    panY = (height - (y1 - y0) * scale) / 2 - y0 * scale;
    place();
  }
  var step = 0;
  function run() {
    if (step < 300) { tick(1 - step / 300); step++; draw(); fit(); requestAnimationFrame(run); }
  }
  draw();
  fit();
  requestAnimationFrame(run);
  function point(ev) {
    var r = svg.getBoundingClientRect();
    return {x: (ev.clientX - r.left - panX) / scale, y: (ev.clientY - r.top - panY) / scale};
  }
  svg.addEventListener("wheel", function (ev) {
    ev.preventDefault();
    var p = point(ev), k = ev.deltaY < 0 ? 1.15 : 1 / 1.15;
    scale *= k; panX -= p.x * scale * (1 - 1 / k); panY -= p.y * scale * (1 - 1 / k);
    moved = true;
    place();
  }, {passive: false});
  svg.addEventListener("mousedown", function (ev) {
    panning = {x: ev.clientX - panX, y: ev.clientY - panY};
  });
  window.addEventListener("mousemove", function (ev) {
    if (dragging) { var p = point(ev); dragging.x = p.x; dragging.y = p.y; moved = true; draw(); }
    else if (panning) {
      panX = ev.clientX - panning.x; panY = ev.clientY - panning.y; moved = true; place();
    }
  });
  window.addEventListener("mouseup", function () { dragging = null; panning = null; });
})();
"""
