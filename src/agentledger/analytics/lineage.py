"""End-to-end lineage: which documents, prompts, model calls and tool results a decision rested
on, and which decisions, actions and KPI outcomes a document or dataset version reached.

The lineage job derives a graph of typed nodes (``dataset:``, ``document:``, ``prompt:``, ``span:``,
``model:``, ``tool:``, ``decision:``, ``action:``, ``kpi:``) into ``lineage_edges`` with
``INSERT ... SELECT`` statements, from rows by the time they were stored (``InsertedAt``), so late
data is picked up and no row is read twice. Edges point the way data flows:

=====================================  ============  ===========================================
source                                 relation      destination
=====================================  ============  ===========================================
parent span                            parent_of     child span
linked span                            links_to      span
``model:<response or request model>``  served        model span; decision (its ``ModelName``)
``prompt:<name>[@<version>]``          prompted      model span (named prompt or template)
``tool:<name>``                        invoked       tool span
``dataset:<gen_ai.data_source.id>``    queried_by    retrieval span
``dataset:<...>``                      contains      each ``document:`` it returned
lineage input / retrieved document     input_to      span (``agentledger.lineage.inputs``)
span                                   produced      ``tool:<name>:<span_id>`` (a tool's result),
                                                     each ``agentledger.lineage.outputs`` id
decision input (``Inputs``)            input_to      ``decision:<DecisionId>``
span that recorded the decision        decided       decision
decision                               chose         ``action:<Chosen>``
decision (else its trace's decisions,  outcome       ``kpi:<KpiName>:<EntityId or event hash>``
else the span) of a KPI event
=====================================  ============  ===========================================

Walks run in ClickHouse one hop per query, the frontier passed as an array parameter: upstream
hops use the table's primary key (DstNode), downstream hops its SrcNode projection. Python keeps
only the visited set, so every node is expanded once (one ``WITH RECURSIVE`` query cannot
remember what it visited) and a hub such as ``model:gpt-4o`` stops at ``max_nodes``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final, Literal

from agentledger import semconv
from agentledger.analytics.job_result import JobResult
from agentledger.storage.store import Store, query_rows

__all__ = [
    "DEFAULT_DEPTH",
    "DEFAULT_MAX_NODES",
    "DEFAULT_SETTLE",
    "JOB",
    "NODE_TYPES",
    "Edge",
    "LineageGraph",
    "Node",
    "downstream",
    "graph_for",
    "node_type",
    "path",
    "run_lineage_job",
    "upstream",
]

JOB: Final = "lineage"
NODE_TYPES: Final = (
    "dataset",
    "document",
    "prompt",
    "span",
    "model",
    "tool",
    "decision",
    "action",
    "kpi",
)
DEFAULT_DEPTH: Final = 10
DEFAULT_MAX_NODES: Final = 5_000
# Rows stored this recently may still be in an insert that has not committed: the next run
# takes them.
DEFAULT_SETTLE: Final = timedelta(seconds=10)

Direction = Literal["up", "down"]
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Node:
    """A lineage node; ``attributes`` describe span, decision and KPI nodes."""

    id: str
    type: str
    attributes: Mapping[str, str] = field(default_factory=dict, hash=False, compare=False)


@dataclass(frozen=True)
class Edge:
    """``src`` flows into ``dst``; ``time`` and ``trace_id`` are the newest occurrence's."""

    src: str
    dst: str
    relation: str
    time: datetime
    trace_id: str = ""
    attributes: Mapping[str, str] = field(default_factory=dict, hash=False, compare=False)


@dataclass(frozen=True)
class LineageGraph:
    """A tenant's subgraph; ``truncated`` when a walk stopped at its node limit."""

    tenant: str
    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]
    truncated: bool = False

    def node(self, node_id: str) -> Node:
        for node in self.nodes:
            if node.id == node_id:
                return node
        raise KeyError(node_id)


def node_type(node_id: str) -> str:
    """The type prefix of a typed node id (``document:faq@v2`` is a ``document``)."""
    prefix, sep, rest = node_id.partition(":")
    if not sep or not rest or prefix not in NODE_TYPES:
        raise ValueError(
            f"{node_id!r} is not a lineage node id: expected <type>:<id> with type one of "
            f"{', '.join(NODE_TYPES)} (e.g. decision:<decision id>, document:<id>@<version>)"
        )
    return prefix


# --- the job ----------------------------------------------------------------------------------

_WINDOW = "InsertedAt >= {start:DateTime64(3)} AND InsertedAt < {end:DateTime64(3)}"
_NO_ATTRS = "CAST(map(), 'Map(String, String)')"
_EDGE_COLUMNS = "TenantId, SrcNode, DstNode, Relation, Timestamp, TraceId, Attributes"
_NODE_COLUMNS = "TenantId, Node, NodeType, Timestamp, TraceId, Attributes"


def _attr(key: str) -> str:
    return f"SpanAttributes['{key}']"


def _string_list(value: str) -> str:
    """A JSON array attribute (how OTLP arrays are stored), or a lone string, as Array(String)."""
    return (
        f"if(startsWith({value}, '['), JSONExtract({value}, 'Array(String)'),"
        f" if({value} = '', [], [{value}]))"
    )


def _named(name: str, version: str) -> str:
    return (
        f"concat('prompt:', {_attr(name)},"
        f" if({_attr(version)} != '', concat('@', {_attr(version)}), ''))"
    )


def _sql_regex(pattern: str) -> str:
    """A regular expression as the body of a ClickHouse string literal."""
    return pattern.replace("\\", "\\\\")


# OpenInference retrieval spans: retrieval.documents.<i>.document.id, in the order of <i>.
_DOC_KEY = _sql_regex(
    "^"
    + re.escape(semconv.RETRIEVAL_DOCUMENTS_PREFIX)
    + r"\d+"
    + re.escape(semconv.RETRIEVAL_DOCUMENT_ID_SUFFIX)
    + "$"
)
_DOC_INDEX = _sql_regex(r"(\d+)")
_RETRIEVED = (
    "arrayMap(k -> concat('document:', SpanAttributes[k]),"
    f" arraySort(k -> toUInt32OrZero(extract(k, '{_DOC_INDEX}')),"
    f" arrayFilter(k -> match(k, '{_DOC_KEY}'), mapKeys(SpanAttributes))))"
)
_TEMPLATE = _attr(semconv.LLM_PROMPT_TEMPLATE)
_TEMPLATE_VERSION = _attr(semconv.LLM_PROMPT_TEMPLATE_VERSION)
_TEMPLATE_HASH = (
    f"concat('prompt:template-', substring(lower(hex(SHA256({_TEMPLATE}))), 1, 16),"
    f" if({_TEMPLATE_VERSION} != '', concat('@', {_TEMPLATE_VERSION}), ''))"
)
_LANGFUSE_PROMPT = _named(
    semconv.LANGFUSE_OBSERVATION_PROMPT_NAME, semconv.LANGFUSE_OBSERVATION_PROMPT_VERSION
)
_PROMPT = (
    f"multiIf({_attr(semconv.PROMPT_NAME)} != '',"
    f" {_named(semconv.PROMPT_NAME, semconv.PROMPT_VERSION)},"
    f" {_attr(semconv.LANGFUSE_OBSERVATION_PROMPT_NAME)} != '', {_LANGFUSE_PROMPT},"
    f" {_TEMPLATE} != '', {_TEMPLATE_HASH}, '')"
)
_SCORE = (
    f"mapFilter((k, v) -> v != '', map('score', SpanAttributes[concat("
    f"'{semconv.RETRIEVAL_DOCUMENTS_PREFIX}', toString(i - 1),"
    f" '{semconv.RETRIEVAL_DOCUMENT_SCORE_SUFFIX}')]))"
)

# Every edge a span gives, from that span's row alone.
_SPAN_EDGES = f"""
INSERT INTO lineage_edges ({_EDGE_COLUMNS})
SELECT TenantId, edge.1, edge.2, edge.3, Timestamp, TraceId, edge.4
FROM (
    SELECT TenantId, Timestamp, TraceId, SpanId, ParentSpanId, ToolName, StatusCode,
           Links.TraceId AS LinkTraces, Links.SpanId AS LinkSpans,
           concat('span:', SpanId) AS Self,
           if(ResponseModel != '', ResponseModel, RequestModel) AS Model,
           {_attr(semconv.GEN_AI_DATA_SOURCE_ID)} AS DataSource,
           {_PROMPT} AS Prompt,
           {_string_list(_attr(semconv.LINEAGE_INPUTS))} AS Declared,
           if(empty(Declared), {_RETRIEVED}, Declared) AS Inputs,
           {_string_list(_attr(semconv.LINEAGE_OUTPUTS))} AS Outputs,
           SpanAttributes
    FROM otel_traces
    WHERE {_WINDOW} AND SpanId != ''
)
ARRAY JOIN arrayConcat(
    if(ParentSpanId != '', [(concat('span:', ParentSpanId), Self, 'parent_of', {_NO_ATTRS})], []),
    arrayMap(l -> (concat('span:', l.2), Self, 'links_to', map('trace_id', l.1)),
             arrayFilter(l -> l.2 != '', arrayZip(LinkTraces, LinkSpans))),
    if(Model != '', [(concat('model:', Model), Self, 'served', {_NO_ATTRS})], []),
    if(Prompt != '', [(Prompt, Self, 'prompted', {_NO_ATTRS})], []),
    if(ToolName != '', [(concat('tool:', ToolName), Self, 'invoked', {_NO_ATTRS})], []),
    if(ToolName != '' AND StatusCode != 'Error',
       [(Self, concat('tool:', ToolName, ':', SpanId), 'produced', {_NO_ATTRS})], []),
    if(DataSource != '', [(concat('dataset:', DataSource), Self, 'queried_by', {_NO_ATTRS})], []),
    if(DataSource != '',
       arrayMap(d -> (concat('dataset:', DataSource), d, 'contains', {_NO_ATTRS}),
                arrayFilter(d -> startsWith(d, 'document:'), Inputs)), []),
    arrayMap((i, n) -> (n, Self, 'input_to', {_SCORE}),
             arrayEnumerate(Inputs), Inputs),
    arrayMap(o -> (Self, o, 'produced', {_NO_ATTRS}), Outputs)
) AS edge
WHERE edge.1 != '' AND edge.2 != ''
"""

_SPAN_NODES = f"""
INSERT INTO lineage_nodes ({_NODE_COLUMNS})
SELECT TenantId, concat('span:', SpanId), 'span', Timestamp, TraceId,
       mapFilter((k, v) -> v != '', map(
           'name', SpanName, 'service', ServiceName, 'kind', SpanKind, 'status', StatusCode,
           'status_message', StatusMessage, 'duration_ms', toString(round(Duration / 1e6, 3)),
           'operation', GenAiOperation, 'agent', AgentName,
           'model', if(ResponseModel != '', ResponseModel, RequestModel), 'tool', ToolName,
           'trace_id', TraceId, 'parent_span_id', ParentSpanId))
FROM otel_traces
WHERE {_WINDOW} AND SpanId != ''
"""

_DECISION_EDGES = f"""
INSERT INTO lineage_edges ({_EDGE_COLUMNS})
SELECT TenantId, edge.1, edge.2, edge.3, Timestamp, TraceId, edge.4
FROM (
    SELECT TenantId, Timestamp, TraceId, SpanId, Inputs, Chosen, ModelName,
           concat('decision:', DecisionId) AS Self
    FROM decisions
    WHERE {_WINDOW} AND DecisionId != ''
)
ARRAY JOIN arrayConcat(
    arrayMap(n -> (n, Self, 'input_to', {_NO_ATTRS}), arrayFilter(n -> n != '', Inputs)),
    if(SpanId != '', [(concat('span:', SpanId), Self, 'decided', {_NO_ATTRS})], []),
    if(Chosen != '', [(Self, concat('action:', Chosen), 'chose', {_NO_ATTRS})], []),
    if(ModelName != '', [(concat('model:', ModelName), Self, 'served', {_NO_ATTRS})], [])
) AS edge
"""

_DECISION_NODES = f"""
INSERT INTO lineage_nodes ({_NODE_COLUMNS})
SELECT TenantId, concat('decision:', DecisionId), 'decision', Timestamp, TraceId,
       mapFilter((k, v) -> v != '', map(
           'decision_type', DecisionType, 'chosen', Chosen,
           'options', arrayStringConcat(Options, ', '),
           'confidence', ifNull(toString(Confidence), ''), 'agent', AgentName,
           'agent_version', AgentVersion, 'model', ModelName, 'approved_by', ApprovedBy,
           'rationale', Rationale, 'service', ServiceName, 'trace_id', TraceId))
FROM decisions
WHERE {_WINDOW} AND DecisionId != ''
"""

# A KPI event without an entity is its own outcome node, named by a hash of the event.
_KPI_NODE = (
    "concat('kpi:', KpiName, ':', if(EntityId != '', EntityId, lower(hex(cityHash64("
    "toString(Timestamp), TraceId, DecisionId, SpanId, toString(Value))))))"
)
_KPI_ATTRS = "map('value', toString(Value), 'unit', Unit)"

_KPI_DECISION_EDGES = f"""
INSERT INTO lineage_edges ({_EDGE_COLUMNS})
SELECT TenantId, concat('decision:', DecisionId), {_KPI_NODE}, 'outcome', Timestamp, TraceId,
       {_KPI_ATTRS}
FROM kpi_events
WHERE {_WINDOW} AND DecisionId != '' AND KpiName != ''
"""

# Attributed to a trace only: every decision of that trace (stored by now), else the event's span.
_KPI_TRACE_EDGES = f"""
INSERT INTO lineage_edges ({_EDGE_COLUMNS})
SELECT k.TenantId,
       if(d.DecisionId != '', concat('decision:', d.DecisionId), concat('span:', k.SpanId)),
       k.Node, 'outcome', k.Timestamp, k.TraceId, k.Attrs
FROM (
    SELECT TenantId, TraceId, SpanId, Timestamp, {_KPI_NODE} AS Node, {_KPI_ATTRS} AS Attrs
    FROM kpi_events
    WHERE {_WINDOW} AND DecisionId = '' AND KpiName != '' AND (TraceId != '' OR SpanId != '')
) AS k
LEFT JOIN (
    SELECT DISTINCT TenantId, TraceId, DecisionId FROM decisions
    WHERE DecisionId != '' AND TraceId IN (
        SELECT TraceId FROM kpi_events WHERE {_WINDOW} AND DecisionId = '' AND TraceId != '')
) AS d ON k.TenantId = d.TenantId AND k.TraceId = d.TraceId
WHERE d.DecisionId != '' OR k.SpanId != ''
"""

_KPI_NODES = f"""
INSERT INTO lineage_nodes ({_NODE_COLUMNS})
SELECT TenantId, {_KPI_NODE}, 'kpi', Timestamp, TraceId,
       mapFilter((k, v) -> v != '', map(
           'kpi', KpiName, 'value', toString(Value), 'unit', Unit, 'entity', EntityId,
           'decision_id', DecisionId, 'service', ServiceName, 'trace_id', TraceId))
FROM kpi_events
WHERE {_WINDOW} AND KpiName != ''
"""

_STATEMENTS: Final = (
    _SPAN_EDGES,
    _SPAN_NODES,
    _DECISION_EDGES,
    _DECISION_NODES,
    _KPI_DECISION_EDGES,
    _KPI_TRACE_EDGES,
    _KPI_NODES,
)


def run_lineage_job(store: Store, settle: timedelta = DEFAULT_SETTLE) -> JobResult:
    """Derive the edges of every span, decision and KPI event stored since the last run, up to
    ``settle`` ago, then move the watermark. A run cut short is redone whole by the next one:
    rewritten edges replace themselves (ReplacingMergeTree), so a restart never duplicates."""
    start = _watermark(store)
    now: datetime = query_rows(store, "SELECT now64(3, 'UTC') AS now")[0]["now"]
    end = _utc(now) - settle
    if end <= start:
        return JobResult(start, start, 0)
    window = {"start": _text(start), "end": _text(end)}
    before = _edge_count(store)
    for statement in _STATEMENTS:
        store.command(statement, window)
    rows = max(_edge_count(store) - before, 0)
    store.command(
        "INSERT INTO lineage_progress (Job, WindowStart, WindowEnd, Rows) VALUES"
        " ({job:String}, {start:DateTime64(3)}, {end:DateTime64(3)}, {rows:UInt64})",
        {**window, "job": JOB, "rows": rows},
    )
    return JobResult(start, end, rows)


def _watermark(store: Store) -> datetime:
    rows = query_rows(
        store,
        "SELECT max(WindowEnd) AS last FROM lineage_progress WHERE Job = {job:String}"
        " HAVING count() > 0",
        {"job": JOB},
    )
    return _utc(rows[0]["last"]) if rows else _EPOCH


def _edge_count(store: Store) -> int:
    return int(query_rows(store, "SELECT count() AS n FROM lineage_edges")[0]["n"])


# --- walking the graph ------------------------------------------------------------------------

_EDGE_SELECT = (
    "SELECT SrcNode, DstNode, Relation, toDateTime64(max(Timestamp), 6, 'UTC') AS Time,"
    " argMax(TraceId, Timestamp) AS Trace, argMax(Attributes, Timestamp) AS Attrs"
    " FROM lineage_edges"
)
_EDGE_GROUP = " GROUP BY SrcNode, DstNode, Relation LIMIT {limit:UInt64}"


def upstream(
    store: Store,
    node: str,
    *,
    depth: int = DEFAULT_DEPTH,
    tenant: str | None = None,
    since: datetime | None = None,
    max_nodes: int = DEFAULT_MAX_NODES,
) -> LineageGraph:
    """Everything ``node`` depended on, up to ``depth`` hops: for a decision, the documents,
    datasets, prompts, model calls and tool results behind it."""
    return _around(store, node, ("up",), depth, tenant, since, max_nodes)


def downstream(
    store: Store,
    node: str,
    *,
    depth: int = DEFAULT_DEPTH,
    tenant: str | None = None,
    since: datetime | None = None,
    max_nodes: int = DEFAULT_MAX_NODES,
) -> LineageGraph:
    """Everything ``node`` reached (impact analysis): for a document version, the spans,
    decisions, actions and KPI outcomes that used it."""
    return _around(store, node, ("down",), depth, tenant, since, max_nodes)


def path(
    store: Store,
    src: str,
    dst: str,
    *,
    tenant: str | None = None,
    since: datetime | None = None,
    max_depth: int = 2 * DEFAULT_DEPTH,
    max_nodes: int = DEFAULT_MAX_NODES,
) -> list[Edge]:
    """A shortest chain of edges from ``src`` to ``dst`` (e.g. a document to a KPI outcome),
    found by walking upstream from ``dst``; ``[]`` when ``src`` does not lead to ``dst``."""
    _check_limits(max_depth, max_nodes)
    node_type(src)
    node_type(dst)
    owner = _tenant_of(store, dst, None) if tenant is None else tenant
    found: dict[str, Edge] = {}  # node -> the edge by which the walk reached it (node -> child)
    frontier, seen = [dst], {dst}
    for _ in range(max_depth):
        if src in seen or not frontier:
            break
        nxt: list[str] = []
        for edge in _hop(store, owner, frontier, "up", since, max_nodes):
            if edge.src not in seen and len(seen) < max_nodes:
                seen.add(edge.src)
                found[edge.src] = edge
                nxt.append(edge.src)
        frontier = nxt
    if src not in found:
        for node in (src, dst):
            _tenant_of(store, node, owner)  # an unknown node is an error, not "no path"
        return []
    chain = [found[src]]
    while chain[-1].dst != dst:
        chain.append(found[chain[-1].dst])
    return chain


def graph_for(
    store: Store,
    *,
    decision_id: str | None = None,
    trace_id: str | None = None,
    node: str | None = None,
    tenant: str | None = None,
    since: datetime | None = None,
    depth: int = DEFAULT_DEPTH,
    max_nodes: int = DEFAULT_MAX_NODES,
) -> LineageGraph:
    """The lineage around one decision, one trace or one node: upstream and downstream of the
    node or decision; for a trace, its own edges, what they rest on and what its decisions led
    to. ``since`` keeps only edges seen at or after that time."""
    given = [value for value in (decision_id, trace_id, node) if value]
    if len(given) != 1:
        raise ValueError("give exactly one of a decision id, a trace id or a node id")
    if trace_id:
        return _trace_graph(store, trace_id.strip().lower(), tenant, since, depth, max_nodes)
    start = node or f"decision:{decision_id}"
    return _around(store, start, ("up", "down"), depth, tenant, since, max_nodes)


def _around(
    store: Store,
    node: str,
    directions: tuple[Direction, ...],
    depth: int,
    tenant: str | None,
    since: datetime | None,
    max_nodes: int,
) -> LineageGraph:
    _check_limits(depth, max_nodes)
    node_type(node)
    owner = _tenant_of(store, node, None) if tenant is None else tenant
    edges: dict[tuple[str, str, str], Edge] = {}
    nodes, truncated = {node}, False
    for direction in directions:
        reached, cut = _walk(store, owner, [node], direction, depth, since, max_nodes, edges)
        nodes |= reached
        truncated = truncated or cut
    if not edges and tenant is not None:
        _tenant_of(store, node, tenant)  # no lineage at all (not just none since ``since``)
    return _graph(store, owner, nodes, edges, truncated)


def _trace_graph(
    store: Store,
    trace_id: str,
    tenant: str | None,
    since: datetime | None,
    depth: int,
    max_nodes: int,
) -> LineageGraph:
    """The trace's own nodes (spans, decisions, KPI outcomes) found by their TraceId, then
    everything up- and downstream of them."""
    _check_limits(depth, max_nodes)
    tenant_filter = "" if tenant is None else " AND TenantId = {tenant:String}"
    owners = query_rows(
        store,
        f"SELECT TenantId FROM lineage_nodes WHERE TraceId = {{trace:String}}{tenant_filter}"
        " GROUP BY TenantId",
        {"trace": trace_id, "tenant": tenant or ""},
    )
    owner = _single_tenant([row["TenantId"] for row in owners], f"trace {trace_id}", tenant)
    rows = query_rows(
        store,
        "SELECT Node FROM lineage_nodes WHERE TenantId = {tenant:String}"
        " AND TraceId = {trace:String} AND Timestamp >= {since:DateTime64(9)}"
        " GROUP BY Node LIMIT {limit:UInt64}",
        {"tenant": owner, "trace": trace_id, "since": _text(since), "limit": max_nodes},
    )
    own = sorted(row["Node"] for row in rows)
    edges: dict[tuple[str, str, str], Edge] = {}
    nodes, truncated = set(own), len(own) >= max_nodes
    both: tuple[Direction, ...] = ("up", "down")
    for direction in both:
        reached, cut = _walk(store, owner, own, direction, depth, since, max_nodes, edges)
        nodes |= reached
        truncated = truncated or cut
    return _graph(store, owner, nodes, edges, truncated)


def _walk(
    store: Store,
    tenant: str,
    seeds: list[str],
    direction: Direction,
    depth: int,
    since: datetime | None,
    max_nodes: int,
    edges: dict[tuple[str, str, str], Edge],
) -> tuple[set[str], bool]:
    """Breadth-first from ``seeds``, one query per hop; adds the edges found to ``edges`` and
    returns the nodes reached and whether ``max_nodes`` cut the walk short."""
    seen, frontier, truncated = set(seeds), list(seeds), False
    for _ in range(depth):
        if not frontier:
            break
        found = _hop(store, tenant, frontier, direction, since, max_nodes)
        truncated = truncated or len(found) >= 4 * max_nodes
        nxt: list[str] = []
        for edge in found:
            other = edge.src if direction == "up" else edge.dst
            if other not in seen:
                if len(seen) >= max_nodes:
                    truncated = True
                    continue
                seen.add(other)
                nxt.append(other)
            edges[(edge.src, edge.dst, edge.relation)] = edge
        frontier = nxt
    return seen, truncated


def _hop(
    store: Store,
    tenant: str,
    frontier: list[str],
    direction: Direction,
    since: datetime | None,
    max_nodes: int,
) -> list[Edge]:
    key = "DstNode" if direction == "up" else "SrcNode"
    rows = query_rows(
        store,
        _EDGE_SELECT
        + f" WHERE TenantId = {{tenant:String}} AND {key} IN {{frontier:Array(String)}}"
        " AND Timestamp >= {since:DateTime64(9)}" + _EDGE_GROUP,
        {"tenant": tenant, "frontier": frontier, "since": _text(since), "limit": 4 * max_nodes},
    )
    return [_edge(row) for row in rows]


def _tenant_of(store: Store, node: str, tenant: str | None) -> str:
    """The tenant whose lineage holds ``node`` (checked, when given). One lookup per direction,
    with GROUP BY: ClickHouse skips the SrcNode projection for DISTINCT (it reads in key order)
    and inside a UNION."""
    tenant_filter = "" if tenant is None else " AND TenantId = {tenant:String}"
    found: set[str] = set()
    for column in ("DstNode", "SrcNode"):
        rows = query_rows(
            store,
            f"SELECT TenantId FROM lineage_edges WHERE {column} = {{node:String}}{tenant_filter}"
            " GROUP BY TenantId",
            {"node": node, "tenant": tenant or ""},
        )
        found.update(row["TenantId"] for row in rows)
        if found and tenant is not None:
            break
    return _single_tenant(sorted(found), node, tenant)


def _single_tenant(found: list[str], what: str, tenant: str | None) -> str:
    where = f" for tenant {tenant!r}" if tenant is not None else ""
    if not found:
        raise ValueError(
            f"no lineage recorded for {what}{where} (has the lineage job run since it was stored?)"
        )
    if len(found) > 1:
        raise ValueError(f"{what} is in several tenants ({', '.join(sorted(found))}): name one")
    return str(found[0])


def _graph(
    store: Store,
    tenant: str,
    node_ids: Iterable[str],
    edges: Mapping[tuple[str, str, str], Edge],
    truncated: bool,
) -> LineageGraph:
    ids = sorted(set(node_ids))
    known = {
        row["Node"]: row
        for row in query_rows(
            store,
            "SELECT Node, argMax(NodeType, Timestamp) AS Type,"
            " argMax(Attributes, Timestamp) AS Attrs FROM lineage_nodes"
            " WHERE TenantId = {tenant:String} AND Node IN {nodes:Array(String)} GROUP BY Node",
            {"tenant": tenant, "nodes": ids},
        )
    }
    nodes = tuple(
        Node(i, known[i]["Type"], dict(known[i]["Attrs"]))
        if i in known
        else Node(i, i.partition(":")[0] if ":" in i else "")
        for i in ids
    )
    ordered = tuple(sorted(edges.values(), key=lambda e: (e.src, e.dst, e.relation)))
    return LineageGraph(tenant, nodes, ordered, truncated)


def _edge(row: Mapping[str, Any]) -> Edge:
    return Edge(
        row["SrcNode"],
        row["DstNode"],
        row["Relation"],
        _utc(row["Time"]),
        row["Trace"],
        dict(row["Attrs"]),
    )


def _check_limits(depth: int, max_nodes: int) -> None:
    if depth < 1:
        raise ValueError(f"depth must be at least 1, not {depth}")
    if max_nodes < 1:
        raise ValueError(f"max_nodes must be at least 1, not {max_nodes}")


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _text(moment: datetime | None) -> str:
    return _utc(moment or _EPOCH).strftime("%Y-%m-%d %H:%M:%S.%f")
