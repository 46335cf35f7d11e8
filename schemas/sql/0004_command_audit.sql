-- Every step of every command (requested, pending_approval, approved, rejected, denied, executing, executed,
-- failed, timed_out), in order, each row's hash chained to the one before (`netobs audit verify` walks it).
-- A projection of netobs.command.results. Kept without TTL: removing old rows would break the chain.
CREATE TABLE IF NOT EXISTS {db}.command_audit
(
    seq             UInt64,
    time            DateTime64(9, 'UTC'),
    command_id      String,
    step            LowCardinality(String),
    actor           String,
    client          String,
    tool            LowCardinality(String),
    args            String,
    reason          String,
    result          String,
    prev_hash       String,
    hash            String,
    kafka_partition UInt16,
    kafka_offset    UInt64
)
ENGINE = MergeTree
ORDER BY seq
SETTINGS non_replicated_deduplication_window = 10000;
