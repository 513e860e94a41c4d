"""Lineage page: the graph around one decision, trace, document, dataset or any node — what it
rested on, what it reached, the path to a KPI outcome — with every export format one click away.

Opens at ``?decision_id=ID``, ``?trace_id=ID`` or ``?node=<node id>``; clicking a node re-centres
the graph on it (``?node=``), so the URL always reproduces the view. The walk runs in ClickHouse
(:mod:`agentledger.analytics.lineage`); networkx only lays out the subgraph it returns.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial

import networkx as nx
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from agentledger.analytics.lineage import NODE_TYPES, LineageGraph
from agentledger.analytics.lineage_export import FORMATS
from agentledger.dashboards import analytics_data as ad
from agentledger.dashboards import widgets
from agentledger.dashboards.page import PageContext, run_page

_TARGETS = ("decision_id", "trace_id", "node")
_DIRECTIONS = {"both": "Upstream and downstream", "up": "Upstream", "down": "Downstream"}
_COLORS = {
    "dataset": "#1f77b4",
    "document": "#17becf",
    "prompt": "#9467bd",
    "span": "#7f7f7f",
    "model": "#ff7f0e",
    "tool": "#8c564b",
    "decision": "#d62728",
    "action": "#e377c2",
    "kpi": "#2ca02c",
}
_ARROWS_UP_TO = 150  # edges; beyond it arrowheads clutter more than they explain


def _render(ctx: PageContext) -> None:
    target = {key: str(st.query_params.get(key, "")).strip() for key in _TARGETS}
    chosen = [key for key in _TARGETS if target[key]]
    if len(chosen) != 1:
        if len(chosen) > 1:
            st.warning("Open one of a decision, a trace or a node at a time.")
        _picker(ctx)
        return
    what = chosen[0]
    start = _start_node(what, target[what])
    direction, depth = "both", 10
    left, right = st.columns([3, 1])
    if what != "trace_id":
        direction = str(
            left.segmented_control(
                "Walk",
                list(_DIRECTIONS),
                format_func=lambda d: _DIRECTIONS[d],
                default="both",
                required=True,
                key="lineage_direction",
            )
        )
    depth = int(right.number_input("Depth (hops)", 1, 20, depth, key="lineage_depth"))
    try:
        graph = ctx.load(
            ad.lineage_graph,
            ctx.filters,
            target["decision_id"],
            target["trace_id"],
            target["node"],
            direction,
            depth,
        )
    except ValueError as exc:
        st.info(
            f"{exc}. The lineage job (`agentledger jobs run lineage`; `agentledger up` runs it "
            "every few seconds) builds the graph from stored spans, decisions and KPI events."
        )
        _picker(ctx)
        return
    _summary(graph, start)
    highlighted = _path_to_kpi(ctx, graph, start)
    _draw(graph, start, highlighted)
    _exports(graph, start)
    _tables(graph)


def _start_node(what: str, value: str) -> str:
    if what == "decision_id":
        return f"decision:{value}"
    if what == "trace_id":
        return f"trace:{value.lower()}"
    return value


def _open(key: str, value: str) -> None:
    """Point the URL at another decision, trace or node (dropping the others) and redraw."""
    for other in _TARGETS:
        if other != key and other in st.query_params:
            del st.query_params[other]
    st.query_params[key] = value
    st.rerun()


def _picker(ctx: PageContext) -> None:
    st.subheader("Open a lineage graph")
    kinds = {"decision_id": "Decision id", "trace_id": "Trace id", "node": "Node id"}
    kind, value = st.columns([1, 3])
    key = str(kind.selectbox("By", list(kinds), format_func=lambda k: kinds[k], key="lineage_kind"))
    text = value.text_input(
        kinds[key],
        key="lineage_value",
        placeholder="document:refund-policy@3" if key == "node" else "",
        help=f"Node ids are <type>:<id>, type one of {', '.join(NODE_TYPES)}.",
    )
    if st.button("Open", key="lineage_open", type="primary") and text.strip():
        _open(key, text.strip())
    decisions = ctx.load(ad.recent_decisions, ctx.filters)
    if decisions.empty:
        st.info(
            "No decisions in this range to start from — decisions your agents record "
            "(`agentledger.instrumentation.record_decision`) appear here; any graph also opens "
            "at /lineage?decision_id=ID, ?trace_id=ID or ?node=<node id>."
        )
        return
    st.caption("Recent decisions: open the lineage of one.")
    decisions = decisions.assign(
        Lineage=[widgets.link("/lineage", decision_id=d) for d in decisions["DecisionId"]]
    )
    st.dataframe(
        decisions,
        hide_index=True,
        column_config={"Lineage": st.column_config.LinkColumn(display_text="open graph")},
    )


def _summary(graph: LineageGraph, start: str) -> None:
    types = pd.Series([node.type for node in graph.nodes]).value_counts()
    columns = st.columns(4)
    columns[0].metric("Nodes", f"{len(graph.nodes):,}")
    columns[1].metric("Edges", f"{len(graph.edges):,}")
    columns[2].metric(
        "Documents and datasets", f"{types.get('document', 0) + types.get('dataset', 0)}"
    )
    columns[3].metric("KPI outcomes", f"{types.get('kpi', 0)}")
    st.caption(f"Tenant {graph.tenant} · centred on `{start}` · click a node to re-centre on it.")
    if graph.truncated:
        st.warning(
            "The walk stopped at its node limit: a hub (a popular model or tool) reaches more. "
            "Lower the depth, or walk one direction."
        )


def _path_to_kpi(ctx: PageContext, graph: LineageGraph, start: str) -> set[tuple[str, str]]:
    """The edges of the path from a chosen node to a chosen KPI outcome, to highlight."""
    kpis = [node.id for node in graph.nodes if node.type == "kpi"]
    if not kpis:
        return set()
    st.subheader("Path to KPI")
    ids = [node.id for node in graph.nodes if node.type != "kpi"]
    left, right = st.columns(2)
    first = ids.index(start) if start in ids else 0
    src = str(left.selectbox("From", ids, index=first, key="lineage_path_from"))
    dst = str(right.selectbox("To KPI outcome", kpis, key="lineage_path_to"))
    chain = ctx.load(ad.lineage_path, ctx.filters, src, dst)
    if not chain:
        st.caption(f"{src} does not lead to {dst}.")
        return set()
    st.caption(" → ".join([f"`{chain[0].src}`", *(f"{e.relation} → `{e.dst}`" for e in chain)]))
    return {(edge.src, edge.dst) for edge in chain}


def _positions(graph: LineageGraph) -> dict[str, tuple[float, float]]:
    """Left to right in the direction data flows (layers of a DAG), else a spring layout."""
    g = nx.DiGraph()
    g.add_nodes_from(sorted(node.id for node in graph.nodes))
    g.add_edges_from((edge.src, edge.dst) for edge in graph.edges)
    if nx.is_directed_acyclic_graph(g):
        for layer, members in enumerate(nx.topological_generations(g)):
            for member in members:
                g.nodes[member]["layer"] = layer
        placed = nx.multipartite_layout(g, subset_key="layer")
    else:
        placed = nx.spring_layout(g, seed=7)
    return {node: (float(x), float(y)) for node, (x, y) in placed.items()}


def _draw(graph: LineageGraph, start: str, highlighted: set[tuple[str, str]]) -> None:
    pos = _positions(graph)
    figure = go.Figure()
    for on_path in (False, True):
        xs: list[float | None] = []
        ys: list[float | None] = []
        for edge in graph.edges:
            if ((edge.src, edge.dst) in highlighted) == on_path:
                xs += [pos[edge.src][0], pos[edge.dst][0], None]
                ys += [pos[edge.src][1], pos[edge.dst][1], None]
        figure.add_trace(
            go.Scatter(
                x=xs,
                y=ys,
                mode="lines",
                hoverinfo="skip",
                showlegend=False,
                line={"width": 4 if on_path else 1, "color": "#d62728" if on_path else "#bbbbbb"},
            )
        )
    if len(graph.edges) <= _ARROWS_UP_TO:
        for edge in graph.edges:
            figure.add_annotation(
                x=pos[edge.dst][0],
                y=pos[edge.dst][1],
                ax=pos[edge.src][0],
                ay=pos[edge.src][1],
                xref="x",
                yref="y",
                axref="x",
                ayref="y",
                showarrow=True,
                arrowhead=2,
                arrowsize=1,
                arrowwidth=1,
                arrowcolor="#999999",
                standoff=8,
                hovertext=edge.relation,
            )
    for kind in (*NODE_TYPES, ""):
        members = [node for node in graph.nodes if node.type == kind]
        if not members:
            continue
        figure.add_trace(
            go.Scatter(
                x=[pos[node.id][0] for node in members],
                y=[pos[node.id][1] for node in members],
                mode="markers+text",
                name=kind or "other",
                text=[_short(node.id) for node in members],
                textposition="top center",
                customdata=[node.id for node in members],
                hovertext=[_hover(node.id, dict(node.attributes)) for node in members],
                hoverinfo="text",
                marker={
                    "size": [22 if node.id == start else 13 for node in members],
                    "color": _COLORS.get(kind, "#444444"),
                    "line": {
                        "width": [3 if node.id == start else 0 for node in members],
                        "color": "black",
                    },
                },
            )
        )
    figure.update_layout(
        height=max(420, min(900, 40 * len(graph.nodes))),
        margin={"l": 10, "r": 10, "t": 10, "b": 10},
        xaxis={"visible": False},
        yaxis={"visible": False},
        dragmode="pan",
        legend={"orientation": "h"},
    )
    event = st.plotly_chart(
        figure,
        on_select="rerun",
        selection_mode="points",
        key=f"lineage_graph:{start}",  # a fresh selection for each graph
        width="stretch",
    )
    for point in event.selection.points if event else []:
        clicked = point.get("customdata")
        if isinstance(clicked, str) and clicked != start:
            _open("node", clicked)


def _exports(graph: LineageGraph, start: str) -> None:
    st.subheader("Export")
    stem = "lineage-" + "".join(c if c.isalnum() or c in "-_" else "-" for c in start)[:80]
    for column, fmt in zip(st.columns(len(FORMATS)), FORMATS, strict=True):
        column.download_button(
            fmt,
            partial(ad.export_bytes, graph, fmt, stem),
            file_name=ad.export_name(fmt, stem),
            mime=ad.EXPORT_MIME[fmt],
            key=f"lineage_export_{fmt}",
            on_click="ignore",
            width="stretch",
        )


def _tables(graph: LineageGraph) -> None:
    nodes = pd.DataFrame(
        [
            {"Node": node.id, "Type": node.type, "Attributes": _attributes(node.attributes)}
            for node in graph.nodes
        ],
        columns=["Node", "Type", "Attributes"],
    )
    edges = pd.DataFrame(
        [
            {
                "From": edge.src,
                "To": edge.dst,
                "Relation": edge.relation,
                "Time": edge.time,
                "Trace": edge.trace_id,
            }
            for edge in graph.edges
        ],
        columns=["From", "To", "Relation", "Time", "Trace"],
    )
    choices = list(nodes["Node"])
    pick, go_button = st.columns([3, 1])
    chosen = pick.selectbox("Re-centre on", choices, index=None, key="lineage_recentre")
    if go_button.button("Re-centre", key="lineage_recentre_go") and chosen:
        _open("node", str(chosen))
    widgets.numbers(nodes, "Lineage nodes")
    widgets.numbers(edges, "Lineage edges")


def _short(node_id: str) -> str:
    kind, _, rest = node_id.partition(":")
    return f"{kind}:{rest[:18]}…" if len(rest) > 20 else node_id


def _attributes(attributes: Mapping[str, str]) -> str:
    return ", ".join(f"{key}={value}" for key, value in sorted(attributes.items()))


def _hover(node_id: str, attributes: dict[str, str]) -> str:
    lines = [node_id, *(f"{key}: {value}" for key, value in sorted(attributes.items())[:12])]
    return "<br>".join(lines)


run_page("Lineage", _render)
