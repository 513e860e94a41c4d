-- Spool segments are inserted with insert_deduplication_token = segment name, so a replay after
-- a crash between "inserted" and "segment deleted" stores nothing twice. Non-replicated
-- MergeTree tables only deduplicate with a window.
ALTER TABLE otel_traces MODIFY SETTING non_replicated_deduplication_window = 10000;
ALTER TABLE otel_logs MODIFY SETTING non_replicated_deduplication_window = 10000;
ALTER TABLE decisions MODIFY SETTING non_replicated_deduplication_window = 10000;
ALTER TABLE kpi_events MODIFY SETTING non_replicated_deduplication_window = 10000;
ALTER TABLE model_observations MODIFY SETTING non_replicated_deduplication_window = 10000;
