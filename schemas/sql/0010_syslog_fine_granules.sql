-- A rare word's search reads a third of what it did (issue 13). Rows go in granules of 2048 instead of 8192,
-- and the message has two n-gram filters, checked in this order: the filter of migration 0009 over every 4
-- granules (8192 rows, as before: the same bytes, and a search tests it as fast), then a 16 KiB filter with one
-- hash function per granule, tested only on the groups of 4 that pass (testing it on every granule would cost
-- more than it saves). Lines with random text (key fingerprints, hashes, base64) give a group of 8192 rows so
-- many distinct 3-grams that its filter lets every word through, and a search read all of them; a granule of
-- 2048 such lines has few enough for the fine filter to say no. A search then unpacks the message of the
-- granules that hold the word and few others, a quarter of the rows each, and the other columns of the lines
-- found from smaller granules. Both filters are sound for the same LIKE and match() conditions as before
-- (every 3-gram of a required literal must be present), so the rows found are the same. Costs about 2.1 bytes
-- a line more on disk: the fine filter 1.3, the smaller granules' marks and shorter compressed blocks 0.8.
-- The granule size of a table is fixed when it is created, so the table is copied as in migration 0008: the
-- whole table is rewritten once, at the first start after the upgrade (time and disk of one full copy).
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
    INDEX idx_message message TYPE ngrambf_v1(3, 2048, 2, 0) GRANULARITY 4,
    INDEX idx_message_fine message TYPE ngrambf_v1(3, 16384, 1, 0) GRANULARITY 1,
    INDEX idx_template template_id TYPE bloom_filter(0.01) GRANULARITY 8,
    INDEX idx_tag tag TYPE set(256) GRANULARITY 8
)
ENGINE = MergeTree
PARTITION BY toYYYYMMDD(received_at)
ORDER BY (toStartOfHour(received_at), template_id, host, received_at)
TTL toDateTime(received_at) + INTERVAL {retention_days} DAY
SETTINGS non_replicated_deduplication_window = 10000, index_granularity = 2048, min_compress_block_size = 8192;
INSERT INTO {db}.syslog_next
    (received_at, event_time, source, transport, host, facility, severity, level, type, tag, pid, msgid, structured_data,
     message, template_id, parse_error, ingest_flags, raw_head, raw_tail, raw_whole, kafka_partition, kafka_offset,
     line_no, compliance, parse_issues)
SELECT received_at, event_time, source, transport, host, facility, severity, level, type, tag, pid, msgid,
       structured_data, message, template_id, parse_error, ingest_flags, raw_head, raw_tail, raw_whole,
       kafka_partition, kafka_offset, line_no, compliance, parse_issues
FROM {db}.syslog;
EXCHANGE TABLES {db}.syslog AND {db}.syslog_next;
DROP TABLE {db}.syslog_next;
