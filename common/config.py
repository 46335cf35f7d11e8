"""The sections of netobs's configuration, one per stage or concern, and the error that names a bad setting.

A stage takes only its own section; netobs.config builds and validates them all from defaults, an optional
TOML file and NETOBS_* variables.
"""

from __future__ import annotations

from dataclasses import dataclass


class ConfigError(ValueError):
    """A configuration value that netobs cannot start with; the message names the setting."""


@dataclass(frozen=True)
class KafkaConfig:
    """Where the topics live. An empty bootstrap in single-node mode starts the embedded broker.

    sasl_* and tls_* say how this process authenticates to an existing cluster (scale-out: each process
    has its own principal); a single node generates one principal per stage and hands each stage its own.

    The rest configures that embedded Apache Kafka: its port, how long and how much of each partition it
    keeps (retention_bytes per partition, -1 for no cap), its Java heap, and where its jars are cached
    (empty: $XDG_CACHE_HOME/netobs/kafka-<version>, else ~/.cache/netobs/kafka-<version>).
    """

    bootstrap: str = ""
    sasl_mechanism: str = ""
    """PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512; empty: no SASL."""
    sasl_username: str = ""
    sasl_password_file: str = ""
    """A file holding the password (never the password itself: it would show in the environment and logs)."""
    tls_ca_file: str = ""
    """CA bundle that verifies the brokers; setting it (or tls_cert_file) turns TLS on."""
    tls_cert_file: str = ""
    tls_key_file: str = ""
    """A client certificate and its key, for brokers that require mutual TLS."""
    partitions: int = 4
    replication_factor: int = 1
    embedded_port: int = 19092
    retention_hours: int = 168
    retention_bytes: int = 1 << 30
    heap: str = "512m"
    cache: str = ""


@dataclass(frozen=True)
class ClickHouseConfig:
    """Where the projections are stored: chdb:///path (embedded) or http(s)://host:8123.

    http_port: the read-only ClickHouse HTTP endpoint for analysts' own tools, served by the process that holds
    the embedded store (0 turns it off); on http_bind, with TLS 1.3 when http_tls_cert and http_tls_key are set.

    max_memory_bytes and cache_bytes bound the embedded engine (chdb) inside the process that holds it: all its
    queries, inserts, merges and caches together stay under max_memory_bytes (a query or insert that would pass
    it fails, and the worker retries its insert); cache_bytes is shared by its mark and index caches, which
    ClickHouse would otherwise let grow to 5 GiB each. A ClickHouse server keeps its own configuration.
    """

    dsn: str = ""
    database: str = "netobs"
    retention_days: int = 90
    http_port: int = 8123
    http_bind: str = "127.0.0.1"
    http_tls_cert: str = ""
    http_tls_key: str = ""
    max_memory_bytes: int = 2 * 1024**3
    cache_bytes: int = 256 * 1024**2


@dataclass(frozen=True)
class SyslogConfig:
    """The syslog receivers. A port of 0 turns that receiver off."""

    bind: str = "127.0.0.1"
    udp_port: int = 5514
    tcp_port: int = 5514
    tls_port: int = 6514
    relp_port: int = 2514
    """RELP (rsyslog's omrelp): each line is answered only once the broker has it."""
    tls_cert: str = ""
    tls_key: str = ""
    max_line_bytes: int = 65536
    max_tcp_connections: int = 512
    max_tcp_connections_per_source: int = 32
    tcp_partial_timeout_s: float = 30.0
    """A TCP/TLS frame left incomplete this long closes its connection (its bytes are kept, flagged)."""
    tcp_idle_timeout_s: float = 3600.0
    """A TCP/TLS connection silent this long is closed (senders reconnect); 0: never."""
    tcp_evictable_after_s: float = 10.0
    """When every connection slot is taken, one stalled at least this long gives its slot to a newcomer."""
    batch_lines: int = 5000
    batch_ms: int = 100
    queue_bytes: int = 32 * 1024 * 1024
    """Encoded records waiting in memory for the broker's acknowledgement; past it TCP/TLS/RELP readers wait (the
    senders are slowed) and UDP lines go to the spool (or are dropped, counted, without one)."""
    spool_max_bytes: int = 1024 * 1024 * 1024
    """UDP lines the broker cannot take yet wait in <data_dir>/spool/syslog up to this size; the newest past it are
    dropped (counted). 0: no spool, UDP lines past the memory queue are dropped."""


@dataclass(frozen=True)
class SnmpConfig:
    """SNMP credentials (by name, see common.snmp.credentials) and the trap receiver; port 0 turns it off.

    Traps with a community outside trap_communities, or from a v3 user not in the credentials file,
    are rejected and counted.
    """

    credentials_file: str = ""
    trap_bind: str = "127.0.0.1"
    trap_port: int = 1162
    trap_communities: tuple[str, ...] = ("public",)
    trap_batch: int = 500
    trap_batch_ms: int = 100
    trap_spool_max_bytes: int = 256 * 1024 * 1024
    """Traps the broker cannot take yet wait in <data_dir>/spool/traps up to this size (0: no spool)."""


@dataclass(frozen=True)
class PollerConfig:
    """The poller: runs the pollings of the inventory on their schedules, bounded in concurrency."""

    enabled: bool = True
    concurrency: int = 256
    jitter: float = 0.1
    """Start offsets are spread over this fraction of each interval (0-0.5)."""
    batch_ms: int = 200


@dataclass(frozen=True)
class InventoryConfig:
    """A TOML file of nodes, pollings and networks published at start when they are not defined yet."""

    seed_file: str = ""


@dataclass(frozen=True)
class ActionsConfig:
    """Actions over MCP (snmpset, snmpwalk, do_ping, add_node, update_node, add_event_log) and their executor.

    The executor acts only on managed nodes, on addresses inside the inventory's networks, or inside
    networks (CIDRs) here. snmpset may write an OID only under a snmpset_allow prefix and under no
    snmpset_deny prefix (deny wins). rate_per_actor commands per minute per principal (0: no limit).
    Tools in approval_tools wait for a second principal (approve scope) to approve them, at most
    approval_timeout_s; so does an update_node that moves a node holding an SNMP credential to another
    address, unless approve_credential_moves is off. The MCP service waits wait_seconds for an outcome, then
    answers with the command id. key_file holds the key that seals secrets between them (default DATA_DIR/command.key).
    """

    enabled: bool = True
    networks: tuple[str, ...] = ()
    snmpset_allow: tuple[str, ...] = ("1.3.6.1.2.1.1.4", "1.3.6.1.2.1.1.5", "1.3.6.1.2.1.1.6")
    """sysContact, sysName, sysLocation."""
    snmpset_deny: tuple[str, ...] = ("1.3.6.1.6.3",)
    """The SNMP framework (engine, USM users and keys, VACM access, targets)."""
    rate_per_actor: int = 30
    approval_tools: tuple[str, ...] = ()
    approval_timeout_s: float = 900.0
    approve_credential_moves: bool = True
    """An update_node that changes the address of a node holding an SNMP credential waits for approval."""
    wait_seconds: float = 10.0
    key_file: str = ""
    snmp_port: int = 161
    snmp_timeout_s: float = 3.0
    snmp_retries: int = 1
    walk_max_rows: int = 2000
    group_id: str = "netobs-executor"


@dataclass(frozen=True)
class KeysConfig:
    """Files of the signing keys (common.signing), each created on first start when missing; empty: the file
    DATA_DIR/keys/<name>.key. For scale-out, give each service only the files of the keys it holds: commands
    (MCP service, executor), steps (executor, worker, audit verify), inventory (executor, seed, poller,
    worker), mcp_audit (MCP service, worker, audit verify)."""

    commands: str = ""
    steps: str = ""
    inventory: str = ""
    mcp_audit: str = ""


@dataclass(frozen=True)
class WorkerConfig:
    """The Faust worker: how many Kafka records one ClickHouse insert gathers, and how long it waits; how many
    parse processes parse and mine syslog beside it (0: in the worker's own process).

    Its memory is bounded by records, whose size the receivers cap (about 1 MB): each agent holds at most
    buffer_records fetched records or batch_bytes / 4 bytes per partition waiting (then that partition is not
    fetched), and one insert is cut at batch_bytes of raw records, so a burst waits in the broker instead of the
    worker's heap. A batch takes about batch_seconds of work, shared evenly among the partitions with records
    waiting, so a flood in one partition does not hold back the others.
    """

    group_id: str = "netobs-worker"
    batch_records: int = 200
    batch_seconds: float = 0.5
    batch_bytes: int = 16 * 1024**2
    buffer_records: int = 128
    snapshot_seconds: float = 30.0
    parse_processes: int = 2


@dataclass(frozen=True)
class MemoryConfig:
    """The resident-memory (RSS) ceiling of each process of a single node, which the node samples and enforces.

    Past soft_fraction of its ceiling a process that can shed is told to (the worker stops fetching, so a backlog
    waits in the broker; the receivers take nothing more into memory: TCP senders wait, UDP goes to the spool),
    for at most shed_seconds unless it is past its ceiling. Past its ceiling a child that can be restarted is
    (parse processes, receivers, trap receiver, poller, executor; at most once per shed_seconds each); the node
    itself and the broker are reported, not restarted. 0 for broker_bytes or ingest_bytes: derived from
    kafka.heap and syslog.queue_bytes.
    """

    enabled: bool = True
    node_bytes: int = 3 * 1024**3
    parse_bytes: int = 512 * 1024**2
    broker_bytes: int = 0
    ingest_bytes: int = 0
    traps_bytes: int = 256 * 1024**2
    poller_bytes: int = 256 * 1024**2
    executor_bytes: int = 256 * 1024**2
    soft_fraction: float = 0.8
    sample_seconds: float = 1.0
    shed_seconds: float = 30.0


SQL_SESSIONS = 2  # ClickHouse sessions of run_select_query, shared by all callers


@dataclass(frozen=True)
class McpConfig:
    """The MCP service. transport is http (Streamable HTTP at /mcp), stdio or off; sse adds the legacy
    HTTP+SSE endpoints (/sse, /messages/) beside /mcp. The admin token is generated when empty.

    Credentials: the admin token (every scope), named tokens from tokens_file (hashed, with scopes; see
    `netobs token`), and JWTs (HS256 with a secret file, or RS256/ES256 with a JWKS file) whose iss, aud,
    exp and nbf are checked. TLS (1.3 only) when tls_cert and tls_key are set; plain HTTP is refused on
    a non-loopback bind unless allow_plain_http is set.
    """

    transport: str = "http"
    sse: bool = False
    bind: str = "127.0.0.1"
    port: int = 8765
    token: str = ""
    tokens_file: str = ""
    jwt_secret_file: str = ""
    jwt_jwks_file: str = ""
    jwt_issuer: str = ""
    jwt_audience: str = ""
    resource_url: str = ""
    """The public URL of /mcp for OAuth protected-resource metadata (RFC 9728); derived from bind when empty."""
    authorization_servers: tuple[str, ...] = ()
    tls_cert: str = ""
    tls_key: str = ""
    allow_plain_http: bool = False
    allow_from: tuple[str, ...] = ("127.0.0.1/32", "::1/128")
    trusted_proxies: tuple[str, ...] = ()
    allowed_hosts: tuple[str, ...] = ()
    allowed_origins: tuple[str, ...] = ()
    max_body_bytes: int = 1_048_576
    rate_per_client: float = 20.0
    """Requests per second per client address (burst: twice as many)."""
    rate_per_tool: float = 5.0
    """Tool calls per second per principal and tool (burst: twice as many)."""
    max_concurrent_calls: int = 16
    max_result_bytes: int = 1_048_576
    query_timeout_seconds: int = 30
    sql_concurrency_per_credential: int = 1
    """run_select_query calls of one credential running at once (of SQL_SESSIONS); the rest wait their turn."""
    metrics: str = "token"
    """/metrics: token (a credential with the metrics scope), open (anyone the allowlist admits) or off."""
    stdio_scopes: tuple[str, ...] = ("read:logs", "read:inventory", "read:sql", "probe", "write")


@dataclass(frozen=True)
class MetricsConfig:
    """The Prometheus endpoint every netobs process serves (a single node: one for all its processes)."""

    bind: str = "127.0.0.1"
    port: int = 9464
    """0 turns the endpoint off."""
    access: str = "token"
    """token (a credential with the metrics scope, as MCP /metrics) or open (anyone who reaches the port)."""
