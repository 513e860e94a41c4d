-- A spool segment's spans arrive as one part of ~10-25 MB uncompressed, just over ClickHouse's
-- default threshold for the Wide format (10 MiB): a file pair per column and per stream of every
-- Map, Nested column and skip index, each with its own compression buffer. Kept Compact (one data
-- file) until merges grow a part past 64 MiB, the writer stores 25-40 % more spans per second of
-- its insert thread and holds ~150 MiB less memory (measured with benchmarks/writer.py-style runs,
-- 8 MiB segments). Merged parts, where most rows live, are Wide as before.
ALTER TABLE otel_traces MODIFY SETTING min_bytes_for_wide_part = 67108864;
