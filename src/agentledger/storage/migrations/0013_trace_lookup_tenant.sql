-- The trace-id lookup carries the tenant, so a tenant user (confined by the SQL endpoint to
-- tables with a TenantId) can find a trace's time range too. Recreating the view is idempotent;
-- lookups stored before this migration keep TenantId '' and serve only unconfined readers.
ALTER TABLE otel_traces_trace_id_ts ADD COLUMN IF NOT EXISTS TenantId LowCardinality(String)
    DEFAULT '' CODEC(ZSTD(1)) FIRST;

DROP VIEW IF EXISTS otel_traces_trace_id_ts_mv;

CREATE MATERIALIZED VIEW IF NOT EXISTS otel_traces_trace_id_ts_mv TO otel_traces_trace_id_ts
AS SELECT TenantId, TraceId, min(toDateTime(Timestamp)) AS Start, max(toDateTime(Timestamp)) AS End
FROM otel_traces WHERE TraceId != '' GROUP BY TenantId, TraceId;
