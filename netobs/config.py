"""The one configuration object: defaults, then an optional TOML file, then NETOBS_* variables.

Every stage takes only its own section (common.config), so a stage never learns about another's settings.
Values are checked once, at start, and a bad one is reported with where it came from.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
import re
import tomllib
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from common import signing
from common.config import (
    SQL_SESSIONS,
    ActionsConfig,
    ClickHouseConfig,
    ConfigError,
    InventoryConfig,
    KafkaConfig,
    KeysConfig,
    McpConfig,
    MemoryConfig,
    MetricsConfig,
    PollerConfig,
    SnmpConfig,
    SyslogConfig,
    WorkerConfig,
)
from common.kafka_client import SASL_MECHANISMS
from netobs.broker import SEGMENT_BYTES as KAFKA_SEGMENT_BYTES
from schemas.commands import TOOLS as ACTION_TOOLS
from schemas.scopes import SCOPES


@dataclass(frozen=True)
class Config:
    """Everything netobs reads at start."""

    data_dir: Path = Path("data")
    log_level: str = "INFO"
    kafka: KafkaConfig = field(default_factory=KafkaConfig)
    clickhouse: ClickHouseConfig = field(default_factory=ClickHouseConfig)
    syslog: SyslogConfig = field(default_factory=SyslogConfig)
    snmp: SnmpConfig = field(default_factory=SnmpConfig)
    poller: PollerConfig = field(default_factory=PollerConfig)
    inventory: InventoryConfig = field(default_factory=InventoryConfig)
    worker: WorkerConfig = field(default_factory=WorkerConfig)
    mcp: McpConfig = field(default_factory=McpConfig)
    actions: ActionsConfig = field(default_factory=ActionsConfig)
    metrics: MetricsConfig = field(default_factory=MetricsConfig)
    keys: KeysConfig = field(default_factory=KeysConfig)
    memory: MemoryConfig = field(default_factory=MemoryConfig)

    @property
    def clickhouse_dsn(self) -> str:
        """The configured DSN, or the embedded engine under the data directory."""
        return self.clickhouse.dsn or f"chdb://{(self.data_dir / 'clickhouse').resolve()}"

    @property
    def command_key_path(self) -> Path:
        """The key sealing secrets between the MCP service and the executor."""
        return Path(self.actions.key_file) if self.actions.key_file else self.data_dir / "command.key"

    def signing_key(self, purpose: str, create: bool = True) -> bytes:
        """The signing key of a purpose (commands, steps, inventory, mcp_audit) from its file: created (0600) by
        whichever stage starts first, unless create is off (`netobs audit verify` only reads)."""
        return signing.load_key(signing.key_path(self.data_dir, purpose, getattr(self.keys, purpose)), create)


ALIASES = {"NETOBS_KAFKA": "NETOBS_KAFKA_BOOTSTRAP", "NETOBS_CLICKHOUSE": "NETOBS_CLICKHOUSE_DSN"}
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
TRANSPORTS = ("http", "stdio", "off")
METRICS_ACCESS = ("token", "open", "off")
MIB = 1024 * 1024


def load(path: str | os.PathLike[str] | None = None, environ: Mapping[str, str] | None = None) -> Config:
    """Build the configuration from a TOML file (optional) and the environment, and validate it."""
    env = dict(os.environ if environ is None else environ)
    for short, long in ALIASES.items():
        if short in env and long not in env:
            env[long] = env[short]
    path = path or env.get("NETOBS_CONFIG") or None
    file_values: dict[str, Any] = {}
    if path:
        try:
            file_values = tomllib.loads(Path(path).read_text())
        except FileNotFoundError as exc:
            raise ConfigError(f"configuration file {path} does not exist") from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"configuration file {path} is not valid TOML: {exc}") from exc
    config = _build(Config, file_values, env, "NETOBS", str(path or ""))
    validate(config)
    return config


def _build(cls: type, values: Mapping[str, Any], env: Mapping[str, str], prefix: str, origin: str) -> Any:
    hints = typing.get_type_hints(cls)
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = set(values) - known
    if unknown:
        where = f"in {origin}" if origin else ""
        raise ConfigError(f"unknown setting(s) {sorted(unknown)} under [{prefix}] {where}; known: {sorted(known)}")
    kwargs: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        hint = hints[f.name]
        env_name = f"{prefix}_{f.name.upper()}"
        if isinstance(hint, type) and dataclasses.is_dataclass(hint):
            sub = values.get(f.name, {})
            if not isinstance(sub, Mapping):
                raise ConfigError(f"[{f.name}] in {origin} must be a table")
            kwargs[f.name] = _build(hint, sub, env, env_name, origin)
        elif env_name in env:
            kwargs[f.name] = _coerce(hint, env[env_name], env_name)
        elif f.name in values:
            kwargs[f.name] = _coerce(hint, values[f.name], f"{f.name} in {origin}")
    return cls(**kwargs)


def _coerce(hint: Any, raw: Any, name: str) -> Any:
    try:
        if hint is bool:
            if isinstance(raw, bool):
                return raw
            if str(raw).lower() in ("1", "true", "yes", "on"):
                return True
            if str(raw).lower() in ("0", "false", "no", "off"):
                return False
            raise ValueError
        if hint is int:
            if isinstance(raw, bool):
                raise ValueError
            return int(raw)
        if hint is float:
            return float(raw)
        if hint is Path:
            return Path(str(raw))
        if typing.get_origin(hint) is tuple:
            items = raw if isinstance(raw, list | tuple) else [s for s in str(raw).split(",")]
            return tuple(str(s).strip() for s in items if str(s).strip())
        if isinstance(raw, dict | list):
            raise ValueError
        return str(raw)
    except ValueError:
        expected = getattr(hint, "__name__", str(hint))
        raise ConfigError(f"{name}: expected {expected}, got {raw!r}") from None


def _check_port(name: str, port: int, allow_zero: bool = True) -> None:
    low = 0 if allow_zero else 1
    if not low <= port <= 65535:
        raise ConfigError(f"{name}: a port is {low}-65535, got {port}")


def validate(config: Config) -> None:
    """Reject settings netobs would fail on later, with a message that names the setting."""
    if config.log_level.upper() not in LOG_LEVELS:
        raise ConfigError(f"NETOBS_LOG_LEVEL: one of {LOG_LEVELS}, got {config.log_level!r}")
    _validate_metrics(config.metrics)
    k = config.kafka
    if not 1 <= k.partitions <= 256:
        raise ConfigError(f"NETOBS_KAFKA_PARTITIONS: 1-256, got {k.partitions}")
    _check_port("NETOBS_KAFKA_EMBEDDED_PORT", k.embedded_port, allow_zero=False)
    if k.retention_hours < 1:
        raise ConfigError(f"NETOBS_KAFKA_RETENTION_HOURS: at least 1, got {k.retention_hours}")
    if k.retention_bytes != -1 and k.retention_bytes < KAFKA_SEGMENT_BYTES:
        raise ConfigError(
            f"NETOBS_KAFKA_RETENTION_BYTES: -1 (no cap) or at least {KAFKA_SEGMENT_BYTES} (one log segment), "
            f"got {k.retention_bytes}"
        )
    if not re.fullmatch(r"[1-9][0-9]*[kKmMgG]", k.heap):
        raise ConfigError(f"NETOBS_KAFKA_HEAP: a Java heap size such as 512m or 2g, got {k.heap!r}")
    _validate_kafka_auth(k)
    ch = config.clickhouse
    if ch.dsn and not ch.dsn.startswith(("chdb://", "http://", "https://")):
        raise ConfigError(f"NETOBS_CLICKHOUSE_DSN: chdb:///path or http(s)://host:port, got {ch.dsn!r}")
    if not ch.database.isidentifier():
        raise ConfigError(f"NETOBS_CLICKHOUSE_DATABASE: a plain identifier, got {ch.database!r}")
    if ch.retention_days < 1:
        raise ConfigError(f"NETOBS_CLICKHOUSE_RETENTION_DAYS: at least 1, got {ch.retention_days}")
    if ch.max_memory_bytes < 256 * MIB:
        raise ConfigError(f"NETOBS_CLICKHOUSE_MAX_MEMORY_BYTES: at least 256 MiB, got {ch.max_memory_bytes}")
    if not 16 * MIB <= ch.cache_bytes <= ch.max_memory_bytes // 2:
        raise ConfigError(
            f"NETOBS_CLICKHOUSE_CACHE_BYTES: 16 MiB to half of NETOBS_CLICKHOUSE_MAX_MEMORY_BYTES "
            f"({ch.max_memory_bytes // 2}), got {ch.cache_bytes}"
        )
    _validate_clickhouse_http(ch, config.mcp.allow_plain_http)
    s = config.syslog
    _check_address("NETOBS_SYSLOG_BIND", s.bind)
    for name in ("udp_port", "tcp_port", "tls_port", "relp_port"):
        _check_port(f"NETOBS_SYSLOG_{name.upper()}", getattr(s, name))
    if bool(s.tls_cert) != bool(s.tls_key):
        raise ConfigError("NETOBS_SYSLOG_TLS_CERT and NETOBS_SYSLOG_TLS_KEY go together: set both or neither")
    for name in ("tls_cert", "tls_key"):
        value = getattr(s, name)
        if value and not Path(value).is_file():
            raise ConfigError(f"NETOBS_SYSLOG_{name.upper()}: no such file {value!r}")
    if not 256 <= s.max_line_bytes <= 16 * 1024 * 1024:
        raise ConfigError(f"NETOBS_SYSLOG_MAX_LINE_BYTES: 256 to 16 MiB, got {s.max_line_bytes}")
    if not 1 <= s.max_tcp_connections <= 100_000:
        raise ConfigError(f"NETOBS_SYSLOG_MAX_TCP_CONNECTIONS: 1-100000, got {s.max_tcp_connections}")
    if not 1 <= s.max_tcp_connections_per_source <= 100_000:
        raise ConfigError(
            f"NETOBS_SYSLOG_MAX_TCP_CONNECTIONS_PER_SOURCE: 1-100000, got {s.max_tcp_connections_per_source}"
        )
    if not 1 <= s.tcp_partial_timeout_s <= 3600:
        raise ConfigError(f"NETOBS_SYSLOG_TCP_PARTIAL_TIMEOUT_S: 1-3600 s, got {s.tcp_partial_timeout_s}")
    if s.tcp_idle_timeout_s and not s.tcp_partial_timeout_s <= s.tcp_idle_timeout_s <= 7 * 86400:
        raise ConfigError(
            "NETOBS_SYSLOG_TCP_IDLE_TIMEOUT_S: 0 (never) or from tcp_partial_timeout_s to 7 days, "
            f"got {s.tcp_idle_timeout_s}"
        )
    if not 1 <= s.tcp_evictable_after_s <= 3600:
        raise ConfigError(f"NETOBS_SYSLOG_TCP_EVICTABLE_AFTER_S: 1-3600 s, got {s.tcp_evictable_after_s}")
    if not 1 <= s.batch_lines <= 100_000 or not 1 <= s.batch_ms <= 10_000:
        raise ConfigError("NETOBS_SYSLOG_BATCH_LINES is 1-100000 and NETOBS_SYSLOG_BATCH_MS 1-10000")
    if not 4 * MIB <= s.queue_bytes <= 4096 * MIB:
        raise ConfigError(f"NETOBS_SYSLOG_QUEUE_BYTES: 4 MiB (a few records) to 4 GiB, got {s.queue_bytes}")
    _check_spool("NETOBS_SYSLOG_SPOOL_MAX_BYTES", s.spool_max_bytes)
    sn = config.snmp
    _check_address("NETOBS_SNMP_TRAP_BIND", sn.trap_bind)
    _check_port("NETOBS_SNMP_TRAP_PORT", sn.trap_port)
    for name in ("credentials_file",):
        value = getattr(sn, name)
        if value and not Path(value).is_file():
            raise ConfigError(f"NETOBS_SNMP_{name.upper()}: no such file {value!r}")
    if not 1 <= sn.trap_batch <= 100_000 or not 1 <= sn.trap_batch_ms <= 10_000:
        raise ConfigError("NETOBS_SNMP_TRAP_BATCH is 1-100000 and NETOBS_SNMP_TRAP_BATCH_MS 1-10000")
    _check_spool("NETOBS_SNMP_TRAP_SPOOL_MAX_BYTES", sn.trap_spool_max_bytes)
    p = config.poller
    if not 1 <= p.concurrency <= 100_000:
        raise ConfigError(f"NETOBS_POLLER_CONCURRENCY: 1-100000, got {p.concurrency}")
    if not 0 <= p.jitter <= 0.5:
        raise ConfigError(f"NETOBS_POLLER_JITTER: 0-0.5 (a fraction of the interval), got {p.jitter}")
    if not 1 <= p.batch_ms <= 10_000:
        raise ConfigError(f"NETOBS_POLLER_BATCH_MS: 1-10000, got {p.batch_ms}")
    if config.inventory.seed_file and not Path(config.inventory.seed_file).is_file():
        raise ConfigError(f"NETOBS_INVENTORY_SEED_FILE: no such file {config.inventory.seed_file!r}")
    w = config.worker
    if not w.group_id or not all(ch.isalnum() or ch in "-_." for ch in w.group_id):
        raise ConfigError(f"NETOBS_WORKER_GROUP_ID: letters, digits, '-', '_' and '.', got {w.group_id!r}")
    if not 1 <= w.batch_records <= 100_000 or not 0.01 <= w.batch_seconds <= 60:
        raise ConfigError("NETOBS_WORKER_BATCH_RECORDS is 1-100000 and NETOBS_WORKER_BATCH_SECONDS 0.01-60")
    if not MIB <= w.batch_bytes <= 1024 * MIB:
        raise ConfigError(f"NETOBS_WORKER_BATCH_BYTES: 1 MiB to 1 GiB, got {w.batch_bytes}")
    if not 1 <= w.buffer_records <= 100_000:
        raise ConfigError(f"NETOBS_WORKER_BUFFER_RECORDS: 1-100000, got {w.buffer_records}")
    if not 0 <= w.parse_processes <= 64:
        raise ConfigError(
            f"NETOBS_WORKER_PARSE_PROCESSES: 0-64 (0 parses in the worker itself), got {w.parse_processes}"
        )
    _validate_memory(config.memory)
    _validate_mcp(config.mcp)
    _validate_actions(config.actions)
    for purpose in signing.PURPOSES:
        value = getattr(config.keys, purpose)
        if value and Path(value).is_dir():
            raise ConfigError(f"NETOBS_KEYS_{purpose.upper()}: {value!r} is a directory")


def _validate_clickhouse_http(ch: ClickHouseConfig, allow_plain_http: bool) -> None:
    _check_address("NETOBS_CLICKHOUSE_HTTP_BIND", ch.http_bind)
    _check_port("NETOBS_CLICKHOUSE_HTTP_PORT", ch.http_port)
    if bool(ch.http_tls_cert) != bool(ch.http_tls_key):
        raise ConfigError(
            "NETOBS_CLICKHOUSE_HTTP_TLS_CERT and NETOBS_CLICKHOUSE_HTTP_TLS_KEY go together: set both or neither"
        )
    for name in ("http_tls_cert", "http_tls_key"):
        value = getattr(ch, name)
        if value and not Path(value).is_file():
            raise ConfigError(f"NETOBS_CLICKHOUSE_{name.upper()}: no such file {value!r}")
    if (
        ch.http_port
        and not ch.http_tls_cert
        and not allow_plain_http
        and not ipaddress.ip_address(ch.http_bind).is_loopback
    ):
        raise ConfigError(
            f"NETOBS_CLICKHOUSE_HTTP_BIND={ch.http_bind} is not loopback: configure "
            "NETOBS_CLICKHOUSE_HTTP_TLS_CERT/KEY, or set NETOBS_MCP_ALLOW_PLAIN_HTTP=true if a TLS proxy sits in front"
        )


def _validate_kafka_auth(k: KafkaConfig) -> None:
    if k.sasl_mechanism and k.sasl_mechanism not in SASL_MECHANISMS:
        raise ConfigError(f"NETOBS_KAFKA_SASL_MECHANISM: one of {SASL_MECHANISMS} (or empty), got {k.sasl_mechanism!r}")
    if k.sasl_mechanism and not (k.sasl_username and k.sasl_password_file):
        raise ConfigError(
            "NETOBS_KAFKA_SASL_USERNAME and NETOBS_KAFKA_SASL_PASSWORD_FILE are required "
            "with NETOBS_KAFKA_SASL_MECHANISM"
        )
    if not k.sasl_mechanism and (k.sasl_username or k.sasl_password_file):
        raise ConfigError("NETOBS_KAFKA_SASL_USERNAME/PASSWORD_FILE need NETOBS_KAFKA_SASL_MECHANISM")
    if k.sasl_mechanism and not k.bootstrap:
        raise ConfigError("NETOBS_KAFKA_SASL_MECHANISM is for an existing cluster: set NETOBS_KAFKA too")
    for name in ("sasl_password_file", "tls_ca_file", "tls_cert_file", "tls_key_file"):
        value = getattr(k, name)
        if value and not Path(value).is_file():
            raise ConfigError(f"NETOBS_KAFKA_{name.upper()}: no such file {value!r}")
    if bool(k.tls_cert_file) != bool(k.tls_key_file):
        raise ConfigError("NETOBS_KAFKA_TLS_CERT_FILE and NETOBS_KAFKA_TLS_KEY_FILE go together: set both or neither")


def _validate_actions(a: ActionsConfig) -> None:
    for cidr in a.networks:
        try:
            ipaddress.ip_network(cidr, strict=False)
        except ValueError:
            raise ConfigError(f"NETOBS_ACTIONS_NETWORKS: {cidr!r} is not an address or CIDR") from None
    for name in ("snmpset_allow", "snmpset_deny"):
        for oid in getattr(a, name):
            parts = oid.strip(".").split(".")
            if not all(p.isdigit() for p in parts):
                raise ConfigError(f"NETOBS_ACTIONS_{name.upper()}: {oid!r} is not a dotted OID")
    unknown = set(a.approval_tools) - set(ACTION_TOOLS)
    if unknown:
        raise ConfigError(f"NETOBS_ACTIONS_APPROVAL_TOOLS: unknown tool(s) {sorted(unknown)}; known: {ACTION_TOOLS}")
    if a.rate_per_actor < 0:
        raise ConfigError(f"NETOBS_ACTIONS_RATE_PER_ACTOR: 0 (no limit) or more per minute, got {a.rate_per_actor}")
    if not 1 <= a.approval_timeout_s <= 7 * 86400:
        raise ConfigError(f"NETOBS_ACTIONS_APPROVAL_TIMEOUT_S: 1 s to 7 days, got {a.approval_timeout_s}")
    if not 0.1 <= a.wait_seconds <= 300:
        raise ConfigError(f"NETOBS_ACTIONS_WAIT_SECONDS: 0.1-300, got {a.wait_seconds}")
    _check_port("NETOBS_ACTIONS_SNMP_PORT", a.snmp_port, allow_zero=False)
    if not 0.1 <= a.snmp_timeout_s <= 60 or not 0 <= a.snmp_retries <= 10:
        raise ConfigError("NETOBS_ACTIONS_SNMP_TIMEOUT_S is 0.1-60 and NETOBS_ACTIONS_SNMP_RETRIES 0-10")
    if not 1 <= a.walk_max_rows <= 100_000:
        raise ConfigError(f"NETOBS_ACTIONS_WALK_MAX_ROWS: 1-100000, got {a.walk_max_rows}")
    if a.key_file and Path(a.key_file).is_dir():
        raise ConfigError(f"NETOBS_ACTIONS_KEY_FILE: {a.key_file!r} is a directory")


def _validate_mcp(m: McpConfig) -> None:
    if m.transport not in TRANSPORTS:
        raise ConfigError(f"NETOBS_MCP_TRANSPORT: one of {TRANSPORTS}, got {m.transport!r}")
    _check_address("NETOBS_MCP_BIND", m.bind)
    _check_port("NETOBS_MCP_PORT", m.port, allow_zero=False)
    if m.token and len(m.token) < 16:
        raise ConfigError("NETOBS_MCP_TOKEN: at least 16 characters (or leave empty to have one generated)")
    for name in ("allow_from", "trusted_proxies"):
        for cidr in getattr(m, name):
            try:
                ipaddress.ip_network(cidr, strict=False)
            except ValueError:
                raise ConfigError(f"NETOBS_MCP_{name.upper()}: {cidr!r} is not an address or CIDR") from None
    for name in ("tokens_file", "jwt_secret_file", "jwt_jwks_file", "tls_cert", "tls_key"):
        value = getattr(m, name)
        if value and not Path(value).is_file():
            raise ConfigError(f"NETOBS_MCP_{name.upper()}: no such file {value!r}")
    if bool(m.tls_cert) != bool(m.tls_key):
        raise ConfigError("NETOBS_MCP_TLS_CERT and NETOBS_MCP_TLS_KEY go together: set both or neither")
    if (m.jwt_secret_file or m.jwt_jwks_file) and not (m.jwt_issuer and m.jwt_audience):
        raise ConfigError("NETOBS_MCP_JWT_ISSUER and NETOBS_MCP_JWT_AUDIENCE are required when JWTs are accepted")
    if m.jwt_secret_file and m.jwt_jwks_file:
        raise ConfigError("NETOBS_MCP_JWT_SECRET_FILE and NETOBS_MCP_JWT_JWKS_FILE: choose one")
    if (
        m.transport == "http"
        and not m.tls_cert
        and not m.allow_plain_http
        and not ipaddress.ip_address(m.bind).is_loopback
    ):
        raise ConfigError(
            f"NETOBS_MCP_BIND={m.bind} is not loopback: configure NETOBS_MCP_TLS_CERT/KEY, "
            "or set NETOBS_MCP_ALLOW_PLAIN_HTTP=true if a TLS proxy sits in front"
        )
    if not 1024 <= m.max_body_bytes <= 64 * 1024 * 1024:
        raise ConfigError(f"NETOBS_MCP_MAX_BODY_BYTES: 1 KiB to 64 MiB, got {m.max_body_bytes}")
    if not 1024 <= m.max_result_bytes <= 64 * 1024 * 1024:
        raise ConfigError(f"NETOBS_MCP_MAX_RESULT_BYTES: 1 KiB to 64 MiB, got {m.max_result_bytes}")
    if m.rate_per_client <= 0 or m.rate_per_tool <= 0:
        raise ConfigError("NETOBS_MCP_RATE_PER_CLIENT and NETOBS_MCP_RATE_PER_TOOL: above 0 (requests per second)")
    if not 1 <= m.max_concurrent_calls <= 10_000:
        raise ConfigError(f"NETOBS_MCP_MAX_CONCURRENT_CALLS: 1-10000, got {m.max_concurrent_calls}")
    if not 1 <= m.sql_concurrency_per_credential <= SQL_SESSIONS:
        raise ConfigError(
            f"NETOBS_MCP_SQL_CONCURRENCY_PER_CREDENTIAL: 1-{SQL_SESSIONS} (the SQL tool's sessions), "
            f"got {m.sql_concurrency_per_credential}"
        )
    if m.metrics not in METRICS_ACCESS:
        raise ConfigError(f"NETOBS_MCP_METRICS: one of {METRICS_ACCESS}, got {m.metrics!r}")
    unknown = set(m.stdio_scopes) - set(SCOPES)
    if unknown:
        raise ConfigError(f"NETOBS_MCP_STDIO_SCOPES: unknown scope(s) {sorted(unknown)}; known: {SCOPES}")


MIN_CEILING_BYTES = 16 * MIB
"""About a bare Python interpreter's size: with less, a child would be restarted the moment it starts."""


def _validate_memory(m: MemoryConfig) -> None:
    for kind in ("node", "parse", "broker", "ingest", "traps", "poller", "executor"):
        value = getattr(m, f"{kind}_bytes")
        derived = kind in ("broker", "ingest")
        if (value or not derived) and not MIN_CEILING_BYTES <= value <= 1 << 40:
            zero = "0 (derived) or " if derived else ""
            raise ConfigError(f"NETOBS_MEMORY_{kind.upper()}_BYTES: {zero}16 MiB to 1 TiB, got {value}")
    if not 0.5 <= m.soft_fraction <= 0.95:
        raise ConfigError(f"NETOBS_MEMORY_SOFT_FRACTION: 0.5-0.95 (of each ceiling), got {m.soft_fraction}")
    if not 0.1 <= m.sample_seconds <= 60:
        raise ConfigError(f"NETOBS_MEMORY_SAMPLE_SECONDS: 0.1-60, got {m.sample_seconds}")
    if not m.sample_seconds <= m.shed_seconds <= 3600:
        raise ConfigError(
            f"NETOBS_MEMORY_SHED_SECONDS: from NETOBS_MEMORY_SAMPLE_SECONDS to 3600, got {m.shed_seconds}"
        )


def _validate_metrics(m: MetricsConfig) -> None:
    _check_address("NETOBS_METRICS_BIND", m.bind)
    _check_port("NETOBS_METRICS_PORT", m.port, allow_zero=True)
    if m.access not in ("token", "open"):
        raise ConfigError(f"NETOBS_METRICS_ACCESS: token or open, got {m.access!r}")


def _check_address(name: str, value: str) -> None:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        raise ConfigError(f"{name}: an IP address to bind, got {value!r}") from None


MIN_SPOOL_BYTES = 16 * 1024 * 1024
"""A few segments of whole records (a record is up to 1 MiB)."""


def _check_spool(name: str, value: int) -> None:
    if value and not MIN_SPOOL_BYTES <= value <= 1 << 50:
        raise ConfigError(f"{name}: 0 (no spool) or at least {MIN_SPOOL_BYTES} bytes (16 MiB), got {value}")
