-- Lineage: a graph of typed nodes (dataset:, document:, prompt:, span:, model:, tool:, decision:,
-- action:, kpi:, as in agentledger.analytics.lineage) derived by the lineage job from spans, span
-- links, decisions and KPI events. An edge points the way data flows: its source is an input of
-- its destination (document -> decision, model -> span, decision -> kpi; parent span -> child).
--
-- The job reads rows by when they were stored, not by their event time, so a span that arrives
-- late (a replayed spool, a slow exporter) is still picked up, exactly once. InsertedAt is that
-- time, filled in by ClickHouse itself (MATERIALIZED, so no writer and no INSERT changes, and
-- SELECT * is unchanged). Rows stored before this migration get the time of the migration.
ALTER TABLE otel_traces ADD COLUMN IF NOT EXISTS InsertedAt DateTime64(3, 'UTC')
    MATERIALIZED now64(3) CODEC(Delta(8), ZSTD(1));
ALTER TABLE otel_traces ADD INDEX IF NOT EXISTS idx_inserted_at InsertedAt TYPE minmax GRANULARITY 1;
ALTER TABLE otel_traces MATERIALIZE COLUMN InsertedAt SETTINGS mutations_sync = 2;
ALTER TABLE otel_traces MATERIALIZE INDEX idx_inserted_at SETTINGS mutations_sync = 2;

ALTER TABLE decisions ADD COLUMN IF NOT EXISTS InsertedAt DateTime64(3, 'UTC')
    MATERIALIZED now64(3) CODEC(Delta(8), ZSTD(1));
ALTER TABLE decisions ADD INDEX IF NOT EXISTS idx_inserted_at InsertedAt TYPE minmax GRANULARITY 1;
ALTER TABLE decisions MATERIALIZE COLUMN InsertedAt SETTINGS mutations_sync = 2;
ALTER TABLE decisions MATERIALIZE INDEX idx_inserted_at SETTINGS mutations_sync = 2;

ALTER TABLE kpi_events ADD COLUMN IF NOT EXISTS InsertedAt DateTime64(3, 'UTC')
    MATERIALIZED now64(3) CODEC(Delta(8), ZSTD(1));
ALTER TABLE kpi_events ADD INDEX IF NOT EXISTS idx_inserted_at InsertedAt TYPE minmax GRANULARITY 1;
ALTER TABLE kpi_events MATERIALIZE COLUMN InsertedAt SETTINGS mutations_sync = 2;
ALTER TABLE kpi_events MATERIALIZE INDEX idx_inserted_at SETTINGS mutations_sync = 2;

-- One row per edge and tenant: an edge seen again (in another trace, or when a window is redone
-- after a crash) replaces the older row at merge time, keeping the newest Timestamp and TraceId.
-- Readers group by (TenantId, SrcNode, DstNode, Relation) until then.
-- Walks look edges up by node, a few at a time: upstream by DstNode (the primary key), downstream
-- by SrcNode through the by_src projection, which holds only row positions sorted by SrcNode (an
-- index, not a copy: a full copy made downstream hops ~4x faster for 2.5x the disk). SrcNode is
-- left out of the primary key so ClickHouse does not scan the whole key for SrcNode lookups.
-- Small granules (256 rows) keep a lookup to a few KiB read: a 3-hop downstream walk of ~500
-- nodes took 0.67 s against 0.89 s at 1024 and 1.0 s at 4096, same disk. No time partitions, so
-- a lookup visits few parts however long the retention.
CREATE TABLE IF NOT EXISTS lineage_edges (
    TenantId LowCardinality(String),
    SrcNode String CODEC(ZSTD(1)),
    DstNode String CODEC(ZSTD(1)),
    Relation LowCardinality(String),
    SrcType LowCardinality(String) DEFAULT if(position(SrcNode, ':') > 0,
        substring(SrcNode, 1, position(SrcNode, ':') - 1), ''),
    DstType LowCardinality(String) DEFAULT if(position(DstNode, ':') > 0,
        substring(DstNode, 1, position(DstNode, ':') - 1), ''),
    Timestamp DateTime64(9, 'UTC') CODEC(Delta(8), ZSTD(1)),
    TraceId String CODEC(ZSTD(1)),
    Attributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    PROJECTION by_src (SELECT _part_offset ORDER BY TenantId, SrcNode)
) ENGINE = ReplacingMergeTree(Timestamp)
ORDER BY (TenantId, DstNode, SrcNode, Relation)
PRIMARY KEY (TenantId, DstNode)
TTL toDateTime(Timestamp) + toIntervalDay(${audit_ttl_days})
SETTINGS index_granularity = 256, deduplicate_merge_projection_mode = 'rebuild';

-- What is known about the nodes that stand for one event (span, decision, KPI outcome): names,
-- status, values, and the trace they belong to (the by_trace projection finds a trace's nodes,
-- and from them its edges). Kept as long as the edges, so a graph still explains itself after
-- its spans have expired. Other node ids describe themselves (model:gpt-4o, document:faq@v3).
CREATE TABLE IF NOT EXISTS lineage_nodes (
    TenantId LowCardinality(String),
    Node String CODEC(ZSTD(1)),
    NodeType LowCardinality(String),
    Timestamp DateTime64(9, 'UTC') CODEC(Delta(8), ZSTD(1)),
    TraceId String CODEC(ZSTD(1)),
    Attributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    PROJECTION by_trace (SELECT _part_offset ORDER BY TenantId, TraceId)
) ENGINE = ReplacingMergeTree(Timestamp)
ORDER BY (TenantId, Node)
TTL toDateTime(Timestamp) + toIntervalDay(${audit_ttl_days})
SETTINGS index_granularity = 256, deduplicate_merge_projection_mode = 'rebuild';

-- Every window the lineage job finished, appended after its edges are written: the next run
-- starts at the newest WindowEnd. A run that dies before this row leaves the previous one newest,
-- so its window is simply done again.
CREATE TABLE IF NOT EXISTS lineage_progress (
    Job LowCardinality(String),
    WindowStart DateTime64(3, 'UTC'),
    WindowEnd DateTime64(3, 'UTC'),
    Rows UInt64,
    FinishedAt DateTime64(3, 'UTC') DEFAULT now64(3)
) ENGINE = MergeTree()
ORDER BY (Job, WindowEnd);
