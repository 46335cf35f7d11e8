-- Every MCP request, authenticated or not: who, from where, which tool, a digest of the arguments, the
-- outcome and how long it took. A projection of netobs.mcp.audit.
CREATE TABLE IF NOT EXISTS {db}.mcp_audit
(
    time            DateTime64(6, 'UTC') CODEC(Delta, ZSTD),
    service         LowCardinality(String),
    transport       LowCardinality(String),
    client          String,
    principal       LowCardinality(String),
    method          LowCardinality(String),
    tool            LowCardinality(String),
    args_digest     String,
    outcome         LowCardinality(String),
    reason          String,
    status          UInt16,
    latency_ms      Float64,
    kafka_partition UInt16,
    kafka_offset    UInt64,
    seq             UInt32
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(time)
ORDER BY (time, principal)
TTL toDateTime(time) + INTERVAL {retention_days} DAY
SETTINGS non_replicated_deduplication_window = 10000;
