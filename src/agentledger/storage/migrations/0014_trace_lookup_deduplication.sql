-- A replayed spool segment is deduplicated block by block in otel_traces, and the trace-id
-- lookup its view feeds must drop the same blocks, or every replay adds its rows again.
ALTER TABLE otel_traces_trace_id_ts MODIFY SETTING non_replicated_deduplication_window = 10000;
