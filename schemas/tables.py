"""Table names and insert column orders, shared by the writers (processors) and readers (query_mcp)."""

SYSLOG = "syslog"
SYSLOG_PATTERNS = "syslog_patterns"
MINER_STATE = "miner_state"
SCHEMA_MIGRATIONS = "schema_migrations"
SNMP_TRAPS = "snmp_traps"
POLLING_LOG = "polling_log"
EVENT_LOG = "event_log"
NODES = "nodes"
POLLINGS = "pollings"
NETWORKS = "networks"
POLLING_STATE = "polling_state"
NODE_STATE = "node_state"
IP_ADDRESS = "ip_address"
CERTIFICATES = "certificates"
RESOURCE_MONITOR = "resource_monitor"
MCP_AUDIT = "mcp_audit"
COMMAND_AUDIT = "command_audit"
COMMAND_AUDIT_COLUMNS = (
    "seq",
    "time",
    "command_id",
    "step",
    "actor",
    "client",
    "tool",
    "args",
    "reason",
    "result",
    "prev_hash",
    "hash",
    "kafka_partition",
    "kafka_offset",
)
COMMAND_AUDIT_CHAINED = COMMAND_AUDIT_COLUMNS[1:10]
"""The columns each record's hash covers (with the hash before it): everything but seq, the hashes and the
topic position. seq is covered by the order: a removed or moved record breaks the chain."""
MCP_AUDIT_COLUMNS = (
    "time",
    "service",
    "transport",
    "client",
    "principal",
    "method",
    "tool",
    "args_digest",
    "outcome",
    "reason",
    "status",
    "latency_ms",
    "kafka_partition",
    "kafka_offset",
    "seq",
)

SYSLOG_COLUMNS = (
    "received_at",
    "event_time",
    "source",
    "transport",
    "host",
    "facility",
    "severity",
    "level",
    "type",
    "tag",
    "pid",
    "msgid",
    "structured_data",
    "message",
    "template_id",
    "parse_error",
    "ingest_flags",
    "raw",
    "kafka_partition",
    "kafka_offset",
    "line_no",
)

SYSLOG_PATTERN_COLUMNS = ("template_id", "template", "current_id", "first_seen", "updated_at")

MINER_STATE_COLUMNS = ("topic", "partition", "offset", "saved_at", "state")
