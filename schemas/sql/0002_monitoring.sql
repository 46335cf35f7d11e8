-- SNMP traps and informs, one row per notification. A projection of netobs.snmp.traps.
-- Varbinds are kept as parallel arrays (typed) and as one readable text (TWSNMP's Variables).
CREATE TABLE IF NOT EXISTS {db}.snmp_traps
(
    received_at     DateTime64(6, 'UTC') CODEC(Delta, ZSTD),
    source          LowCardinality(String),
    version         LowCardinality(String),
    pdu             LowCardinality(String),
    security_name   LowCardinality(String),
    trap_oid        LowCardinality(String),
    trap_name       LowCardinality(String),
    uptime          UInt64,
    enterprise      LowCardinality(String),
    agent_address   String,
    generic_trap    Int8,
    specific_trap   Int32,
    varbind_oids    Array(String),
    varbind_names   Array(String),
    varbind_types   Array(LowCardinality(String)),
    varbind_values  Array(String),
    variables       String CODEC(ZSTD(3)),
    kafka_partition UInt16,
    kafka_offset    UInt64,
    seq             UInt32
)
ENGINE = MergeTree
PARTITION BY toYYYYMMDD(received_at)
ORDER BY (toStartOfHour(received_at), source, received_at)
TTL toDateTime(received_at) + INTERVAL {retention_days} DAY
SETTINGS non_replicated_deduplication_window = 10000;

-- Every poll result of a polling with logging on, and every result that changed a state.
-- values keeps numeric results typed (get_polling_log_data builds its CSV from them).
CREATE TABLE IF NOT EXISTS {db}.polling_log
(
    time            DateTime64(6, 'UTC') CODEC(Delta, ZSTD),
    polling_id      String,
    node_id         String,
    polling_name    String,
    node_name       String,
    kind            LowCardinality(String),
    outcome         LowCardinality(String),
    state           LowCardinality(String),
    reason          String,
    duration_ms     Float64,
    values          Map(LowCardinality(String), Float64),
    texts           Map(LowCardinality(String), String),
    error           String,
    kafka_partition UInt16,
    kafka_offset    UInt64,
    seq             UInt32
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(time)
ORDER BY (polling_id, time)
TTL toDateTime(time) + INTERVAL {retention_days} DAY
SETTINGS non_replicated_deduplication_window = 10000;

-- The event log: state changes of pollings and nodes, and events added by tools. A projection of
-- netobs.events; ids are deterministic, so a replayed event replaces itself (read with FINAL).
CREATE TABLE IF NOT EXISTS {db}.event_log
(
    id              String,
    time            DateTime64(6, 'UTC') CODEC(Delta, ZSTD),
    type            LowCardinality(String),
    level           LowCardinality(String),
    last_level      LowCardinality(String),
    node_id         String,
    node_name       String,
    polling_id      String,
    event           String,
    downtime_s      Float64,
    kafka_partition UInt16,
    kafka_offset    UInt64
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(time)
ORDER BY (time, id)
TTL toDateTime(time) + INTERVAL {retention_days} DAY;

-- Nodes, pollings and networks as defined by the inventory topic; version is the topic offset, so the
-- newest definition wins. Deleted entities keep a row with deleted = 1. Read with FINAL.
CREATE TABLE IF NOT EXISTS {db}.nodes
(
    id              String,
    name            String,
    ip              String,
    mac             String,
    icon            LowCardinality(String),
    description     String,
    x               Int32,
    y               Int32,
    snmp_credential LowCardinality(String),
    deleted         Bool,
    updated_at      DateTime64(6, 'UTC'),
    actor           String,
    version         UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY id;

CREATE TABLE IF NOT EXISTS {db}.pollings
(
    id              String,
    node_id         String,
    name            String,
    kind            LowCardinality(String),
    params          Map(String, String),
    interval_s      UInt32,
    timeout_s       Float64,
    retries         UInt8,
    level           LowCardinality(String),
    thresholds      String,
    logging         Bool,
    deleted         Bool,
    updated_at      DateTime64(6, 'UTC'),
    actor           String,
    version         UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY id;

CREATE TABLE IF NOT EXISTS {db}.networks
(
    id              String,
    name            String,
    ip              String,
    ports           Array(String),
    x               Int32,
    y               Int32,
    description     String,
    deleted         Bool,
    updated_at      DateTime64(6, 'UTC'),
    actor           String,
    version         UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY id;

-- Current state of each polling and node, as computed by the state machine from netobs.poll.results.
-- last_result is the newest result as JSON (TWSNMP's Result). Read with FINAL.
CREATE TABLE IF NOT EXISTS {db}.polling_state
(
    polling_id      String,
    node_id         String,
    state           LowCardinality(String),
    since           DateTime64(6, 'UTC'),
    last_time       DateTime64(6, 'UTC'),
    last_reason     String,
    last_result     String,
    updated_at      DateTime64(6, 'UTC')
)
ENGINE = ReplacingMergeTree(updated_at)
ORDER BY polling_id;

CREATE TABLE IF NOT EXISTS {db}.node_state
(
    node_id         String,
    node_name       String,
    state           LowCardinality(String),
    since           DateTime64(6, 'UTC'),
    updated_at      DateTime64(6, 'UTC')
)
ENGINE = ReplacingMergeTree(updated_at)
ORDER BY node_id;

-- IP/MAC pairs learnt from the ARP tables (ipNetToMedia) of polled agents; first/last seen aggregate
-- over every sighting. Read with GROUP BY ip, mac (or FINAL).
CREATE TABLE IF NOT EXISTS {db}.ip_address
(
    ip              String,
    mac             String,
    first_seen      SimpleAggregateFunction(min, DateTime64(6, 'UTC')),
    last_seen       SimpleAggregateFunction(max, DateTime64(6, 'UTC')),
    learnt_from     SimpleAggregateFunction(anyLast, String)
)
ENGINE = AggregatingMergeTree
ORDER BY (ip, mac);

-- Server certificates seen by tls pollings, one row per server:port and certificate serial.
CREATE TABLE IF NOT EXISTS {db}.certificates
(
    server          String,
    port            UInt16,
    serial          String,
    polling_id      SimpleAggregateFunction(anyLast, String),
    subject         SimpleAggregateFunction(anyLast, String),
    issuer          SimpleAggregateFunction(anyLast, String),
    not_before      SimpleAggregateFunction(anyLast, DateTime64(6, 'UTC')),
    not_after       SimpleAggregateFunction(anyLast, DateTime64(6, 'UTC')),
    verified        SimpleAggregateFunction(anyLast, Bool),
    error           SimpleAggregateFunction(anyLast, String),
    first_seen      SimpleAggregateFunction(min, DateTime64(6, 'UTC')),
    last_seen       SimpleAggregateFunction(max, DateTime64(6, 'UTC'))
)
ENGINE = AggregatingMergeTree
ORDER BY (server, port, serial);

-- netobs watching itself: one row per process and minute (CPU, memory, swap, disk, load, consumer lag,
-- rows inserted per second). TWSNMP's resource monitor, for the pipeline.
CREATE TABLE IF NOT EXISTS {db}.resource_monitor
(
    time            DateTime64(3, 'UTC') CODEC(Delta, ZSTD),
    host            LowCardinality(String),
    process         LowCardinality(String),
    cpu_percent     Float64,
    memory_percent  Float64,
    swap_percent    Float64,
    disk_percent    Float64,
    load1           Float64,
    rss_bytes       UInt64,
    consumer_lag    Int64,
    insert_rate     Float64
)
ENGINE = MergeTree
ORDER BY (time, host, process)
TTL toDateTime(time) + INTERVAL {retention_days} DAY;
