-- Managed API keys. Only the SHA-256 of a secret is stored, never the secret. Rows are versions
-- of a key (ReplacingMergeTree on Version): revoking inserts a newer version with RevokedAt set,
-- so read with FINAL.
CREATE TABLE IF NOT EXISTS api_keys (
    TenantId LowCardinality(String),
    KeyId String,
    KeyHash String,
    Scope LowCardinality(String),
    Name String,
    CreatedAt DateTime64(3),
    RevokedAt Nullable(DateTime64(3)),
    Version UInt64
) ENGINE = ReplacingMergeTree(Version)
ORDER BY KeyId;
