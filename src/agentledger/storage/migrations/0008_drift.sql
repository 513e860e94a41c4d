-- Drift of model observations: one row per (tenant, model, version, feature) compared between a
-- reference and a current window (time windows, or two model versions). Metrics that do not apply
-- to a feature's kind are NULL (KS and Wasserstein for numeric features, chi-square for
-- categorical ones); so are all metrics when either window has fewer than MinSamples
-- observations (Status = 'insufficient_data', never Drifted). ModelVersion '' means every version
-- pooled; ReferenceVersion differs from ModelVersion only in a version comparison.
-- Computing the same comparison again replaces its row (ReplacingMergeTree): read with FINAL.
-- Source 'job' rows are the scheduled job's, which resumes after their latest CurrentEnd.
CREATE TABLE IF NOT EXISTS drift_results (
    TenantId LowCardinality(String),
    ModelName LowCardinality(String),
    ModelVersion LowCardinality(String),
    ReferenceVersion LowCardinality(String),
    Feature LowCardinality(String),
    Kind Enum8('numeric' = 1, 'categorical' = 2),
    ReferenceStart DateTime64(3, 'UTC'),
    ReferenceEnd DateTime64(3, 'UTC'),
    CurrentStart DateTime64(3, 'UTC'),
    CurrentEnd DateTime64(3, 'UTC'),
    NReference UInt64,
    NCurrent UInt64,
    Psi Nullable(Float64),
    Js Nullable(Float64),
    KsStatistic Nullable(Float64),
    KsPValue Nullable(Float64),
    Wasserstein Nullable(Float64),
    Chi2 Nullable(Float64),
    Chi2PValue Nullable(Float64),
    Status LowCardinality(String),
    Drifted Bool,
    DriftedBy Array(LowCardinality(String)),
    PsiThreshold Float64,
    JsThreshold Float64,
    KsPValueThreshold Float64,
    Chi2PValueThreshold Float64,
    MinSamples UInt32,
    Source LowCardinality(String),
    RunId UUID,
    ComputedAt DateTime64(3, 'UTC')
) ENGINE = ReplacingMergeTree(ComputedAt)
PARTITION BY toYYYYMM(CurrentStart)
ORDER BY (TenantId, ModelName, Feature, Kind, ModelVersion, ReferenceVersion, Source,
          CurrentStart, CurrentEnd, ReferenceStart, ReferenceEnd)
TTL toDateTime(ComputedAt) + toIntervalDay(${audit_ttl_days});
