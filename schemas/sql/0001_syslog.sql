-- Parsed syslog, one row per received line. A projection of netobs.syslog.raw: replaying the topic rebuilds it.
CREATE TABLE IF NOT EXISTS {db}.syslog
(
    received_at     DateTime64(6, 'UTC') CODEC(Delta, ZSTD),
    event_time      DateTime64(6, 'UTC') CODEC(Delta, ZSTD),
    source          LowCardinality(String),
    transport       LowCardinality(String),
    host            LowCardinality(String),
    facility        UInt8,
    severity        UInt8,
    level           LowCardinality(String),
    type            LowCardinality(String),
    tag             LowCardinality(String),
    pid             String,
    msgid           LowCardinality(String),
    structured_data String,
    message         String CODEC(ZSTD(3)),
    template_id     UInt64,
    parse_error     Bool,
    ingest_flags    UInt8,
    raw             String CODEC(ZSTD(3)),
    kafka_partition UInt16,
    kafka_offset    UInt64,
    line_no         UInt32,
    INDEX idx_message message TYPE ngrambf_v1(3, 65536, 2, 0) GRANULARITY 1,
    INDEX idx_template template_id TYPE bloom_filter(0.01) GRANULARITY 2,
    INDEX idx_tag tag TYPE set(256) GRANULARITY 2
)
ENGINE = MergeTree
PARTITION BY toYYYYMMDD(received_at)
ORDER BY (toStartOfHour(received_at), host, received_at)
TTL toDateTime(received_at) + INTERVAL {retention_days} DAY
SETTINGS non_replicated_deduplication_window = 10000;

-- One row per template id the miner has produced. current_id points at the newest template of the same
-- cluster: Drain generalises a template as it sees more lines, and older rows keep the id they were mined with.
CREATE TABLE IF NOT EXISTS {db}.syslog_patterns
(
    template_id UInt64,
    template    String,
    current_id  UInt64,
    first_seen  DateTime64(6, 'UTC'),
    updated_at  DateTime64(6, 'UTC')
)
ENGINE = ReplacingMergeTree(updated_at)
ORDER BY template_id;

-- The miner's state per raw-topic partition, saved after inserts, loaded when a worker takes the partition.
CREATE TABLE IF NOT EXISTS {db}.miner_state
(
    topic     LowCardinality(String),
    partition UInt32,
    offset    Int64,
    saved_at  DateTime64(6, 'UTC'),
    state     String CODEC(ZSTD(3))
)
ENGINE = ReplacingMergeTree(saved_at)
ORDER BY (topic, partition);
