-- Syslog stored in about half the bytes (issue 13): the line is no longer kept twice. raw_head and raw_tail
-- hold what the line has around its message, with the host name and an RFC 3164 timestamp folded to the
-- bytes 0x01 and 0x02 (they come back from the host and event_time columns), and raw stays readable as an
-- ALIAS that rebuilds the line byte for byte. A line whose message is not its tail as received (invalid
-- UTF-8, an undecodable record) or that carries those bytes itself keeps the whole line in raw_head, with
-- raw_whole set. Rows sort by template within the hour, so similar lines sit together and compress well;
-- ZSTD, Delta and T64 per column; a smaller message n-gram bloom filter (1 byte per line).
-- The sorting key changes, so the table is copied: the whole table is rewritten once (time and disk space
-- of one full copy while it runs); the copy happens at the first start after the upgrade.
DROP TABLE IF EXISTS {db}.syslog_next;
CREATE TABLE {db}.syslog_next
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
    pid             String CODEC(ZSTD(3)),
    msgid           LowCardinality(String),
    structured_data String CODEC(ZSTD(3)),
    message         String CODEC(ZSTD(9)),
    template_id     UInt64 CODEC(ZSTD(3)),
    parse_error     Bool,
    ingest_flags    UInt8,
    raw_head        String CODEC(ZSTD(9)),
    raw_tail        String CODEC(ZSTD(3)),
    raw_whole       Bool,
    raw             String ALIAS if(raw_whole, raw_head, concat(replaceOne(replaceOne(raw_head, '\x01', host), '\x02',
                        concat(formatDateTime(event_time, '%b ', 'UTC'), leftPad(toString(toDayOfMonth(event_time, 'UTC')), 2, ' '),
                               formatDateTime(event_time, ' %H:%i:%S', 'UTC'))), message, raw_tail)),
    kafka_partition UInt16,
    kafka_offset    UInt64 CODEC(Delta, ZSTD),
    line_no         UInt32 CODEC(T64, ZSTD),
    compliance      LowCardinality(String),
    parse_issues    Array(LowCardinality(String)),
    INDEX idx_message message TYPE ngrambf_v1(3, 8192, 2, 0) GRANULARITY 1,
    INDEX idx_template template_id TYPE bloom_filter(0.01) GRANULARITY 2,
    INDEX idx_tag tag TYPE set(256) GRANULARITY 2
)
ENGINE = MergeTree
PARTITION BY toYYYYMMDD(received_at)
ORDER BY (toStartOfHour(received_at), template_id, host, received_at)
TTL toDateTime(received_at) + INTERVAL {retention_days} DAY
SETTINGS non_replicated_deduplication_window = 10000;
INSERT INTO {db}.syslog_next
    (received_at, event_time, source, transport, host, facility, severity, level, type, tag, pid, msgid, structured_data,
     message, template_id, parse_error, ingest_flags, raw_head, raw_tail, raw_whole, kafka_partition, kafka_offset,
     line_no, compliance, parse_issues)
SELECT received_at, event_time, source, transport, host, facility, severity, level, type, tag, pid, msgid,
       structured_data, message, template_id, parse_error, ingest_flags,
       if(whole, raw, substring(raw, 1, length(raw) - length(message))), '',
       NOT endsWith(raw, message) OR position(raw, '\x01') > 0 OR position(raw, '\x02') > 0 AS whole,
       kafka_partition, kafka_offset, line_no, compliance, parse_issues
FROM {db}.syslog;
EXCHANGE TABLES {db}.syslog AND {db}.syslog_next;
DROP TABLE {db}.syslog_next;
