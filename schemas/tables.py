"""Table names and insert column orders, shared by the writers (processors) and readers (query_mcp).

Every row is built by column name (the processors' row builders, schemas.mcp_audit.row) and an insert puts
the values in these orders (COLUMNS, by table), so a column order is written down here and nowhere else.
"""

SYSLOG = "syslog"
SYSLOG_PATTERNS = "syslog_patterns"
PROCESSOR_STATE = "processor_state"
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
    "signer",
    "signature",
)
COMMAND_AUDIT_CHAINED = (*COMMAND_AUDIT_COLUMNS[1:10], "signer", "signature")
"""The columns each record's hash covers (with the hash before it): everything but seq, the hashes and the
topic position. seq is covered by the order: a removed or moved record breaks the chain. signer and signature
are covered when set (rows from before signing have neither, and keep their hashes)."""
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
    "raw_head",
    "raw_tail",
    "raw_whole",
    "kafka_partition",
    "kafka_offset",
    "line_no",
    "compliance",
    "parse_issues",
)

SYSLOG_RAW_PARTS = ("raw_whole", "raw_head", "host", "event_time", "message", "raw_tail")
"""The columns the syslog table's raw ALIAS rebuilds the line from."""
SYSLOG_RAW = (
    "if(raw_whole, raw_head, concat(replaceOne(replaceOne(raw_head, '\\x01', host), '\\x02', "
    "concat(formatDateTime(event_time, '%b ', 'UTC'), leftPad(toString(toDayOfMonth(event_time, 'UTC')), 2, ' '), "
    "formatDateTime(event_time, ' %H:%i:%S', 'UTC'))), message, raw_tail))"
)
"""The raw ALIAS of the syslog table as migrations 0008 and 0010 define it (a unit test holds the newest and this
together): readers that pick SYSLOG_RAW_PARTS with an aggregate rebuild the line with it once per group, not once
per row."""

SYSLOG_PATTERN_COLUMNS = ("template_id", "template", "current_id", "first_seen", "updated_at")

PROCESSOR_STATE_COLUMNS = ("topic", "partition", "offset", "saved_at", "state")

SNMP_TRAP_COLUMNS = (
    "received_at",
    "source",
    "version",
    "pdu",
    "security_name",
    "trap_oid",
    "trap_name",
    "uptime",
    "enterprise",
    "agent_address",
    "generic_trap",
    "specific_trap",
    "varbind_oids",
    "varbind_names",
    "varbind_types",
    "varbind_values",
    "variables",
    "kafka_partition",
    "kafka_offset",
    "seq",
)

POLLING_LOG_COLUMNS = (
    "time",
    "polling_id",
    "node_id",
    "polling_name",
    "node_name",
    "kind",
    "outcome",
    "state",
    "reason",
    "duration_ms",
    "values",
    "texts",
    "error",
    "kafka_partition",
    "kafka_offset",
    "seq",
)
POLLING_STATE_COLUMNS = (
    "polling_id",
    "node_id",
    "state",
    "since",
    "last_time",
    "last_reason",
    "last_result",
    "updated_at",
)
NODE_STATE_COLUMNS = ("node_id", "node_name", "state", "since", "updated_at")
IP_ADDRESS_COLUMNS = ("ip", "mac", "first_seen", "last_seen", "learnt_from")
CERTIFICATE_COLUMNS = (
    "server",
    "port",
    "serial",
    "polling_id",
    "subject",
    "issuer",
    "not_before",
    "not_after",
    "verified",
    "error",
    "first_seen",
    "last_seen",
)

NODE_COLUMNS = (
    "id",
    "name",
    "ip",
    "mac",
    "icon",
    "description",
    "x",
    "y",
    "snmp_credential",
    "deleted",
    "updated_at",
    "actor",
    "version",
)
POLLING_COLUMNS = (
    "id",
    "node_id",
    "name",
    "kind",
    "params",
    "interval_s",
    "timeout_s",
    "retries",
    "level",
    "thresholds",
    "logging",
    "deleted",
    "updated_at",
    "actor",
    "version",
)
NETWORK_COLUMNS = ("id", "name", "ip", "ports", "x", "y", "description", "deleted", "updated_at", "actor", "version")

EVENT_LOG_COLUMNS = (
    "id",
    "time",
    "type",
    "level",
    "last_level",
    "node_id",
    "node_name",
    "polling_id",
    "event",
    "downtime_s",
    "kafka_partition",
    "kafka_offset",
)

RESOURCE_MONITOR_COLUMNS = (
    "time",
    "host",
    "process",
    "cpu_percent",
    "memory_percent",
    "swap_percent",
    "disk_percent",
    "load1",
    "rss_bytes",
    "consumer_lag",
    "insert_rate",
)

COLUMNS = {
    SYSLOG: SYSLOG_COLUMNS,
    SYSLOG_PATTERNS: SYSLOG_PATTERN_COLUMNS,
    PROCESSOR_STATE: PROCESSOR_STATE_COLUMNS,
    SNMP_TRAPS: SNMP_TRAP_COLUMNS,
    POLLING_LOG: POLLING_LOG_COLUMNS,
    POLLING_STATE: POLLING_STATE_COLUMNS,
    NODE_STATE: NODE_STATE_COLUMNS,
    IP_ADDRESS: IP_ADDRESS_COLUMNS,
    CERTIFICATES: CERTIFICATE_COLUMNS,
    NODES: NODE_COLUMNS,
    POLLINGS: POLLING_COLUMNS,
    NETWORKS: NETWORK_COLUMNS,
    EVENT_LOG: EVENT_LOG_COLUMNS,
    RESOURCE_MONITOR: RESOURCE_MONITOR_COLUMNS,
    MCP_AUDIT: MCP_AUDIT_COLUMNS,
    COMMAND_AUDIT: COMMAND_AUDIT_COLUMNS,
}
"""The insert columns of every table the processors write, in insert order."""
