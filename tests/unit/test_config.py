from pathlib import Path

import pytest

from common.config import ConfigError
from netobs.config import load


def test_defaults_are_safe():
    config = load(environ={})
    assert config.syslog.bind == "127.0.0.1"
    assert config.mcp.bind == "127.0.0.1"
    assert config.mcp.allow_from == ("127.0.0.1/32", "::1/128")
    assert config.clickhouse_dsn.startswith("chdb://")
    assert (config.kafka.retention_hours, config.kafka.heap) == (168, "512m"), "a week of raw topics, bounded heap"
    assert (config.clickhouse.http_bind, config.clickhouse.http_port) == ("127.0.0.1", 8123)
    assert config.syslog.relp_port == 2514


def test_relp_port_from_env():
    assert load(environ={"NETOBS_SYSLOG_RELP_PORT": "0"}).syslog.relp_port == 0


def test_env_overrides_file(tmp_path: Path):
    f = tmp_path / "netobs.toml"
    f.write_text(
        'data_dir = "/srv/netobs"\n[syslog]\nudp_port = 1514\ntcp_port = 1601\n[mcp]\nallow_from = ["10.0.0.0/8"]\n'
    )
    config = load(f, {"NETOBS_SYSLOG_UDP_PORT": "2514", "NETOBS_KAFKA": "k1:9092,k2:9092"})
    assert config.data_dir == Path("/srv/netobs")
    assert config.syslog.udp_port == 2514
    assert config.syslog.tcp_port == 1601
    assert config.kafka.bootstrap == "k1:9092,k2:9092"
    assert config.mcp.allow_from == ("10.0.0.0/8",)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"NETOBS_SYSLOG_UDP_PORT": "abc"}, "NETOBS_SYSLOG_UDP_PORT: expected int"),
        ({"NETOBS_SYSLOG_UDP_PORT": "70000"}, "0-65535"),
        ({"NETOBS_SYSLOG_RELP_PORT": "-1"}, "NETOBS_SYSLOG_RELP_PORT: a port is 0-65535"),
        ({"NETOBS_MCP_TOKEN": "short"}, "at least 16"),
        ({"NETOBS_MCP_TRANSPORT": "carrier-pigeon"}, "one of"),
        ({"NETOBS_MCP_ALLOW_FROM": "10.0.0.0/8,nonsense"}, "nonsense"),
        ({"NETOBS_SYSLOG_BIND": "localhost"}, "NETOBS_SYSLOG_BIND"),
        ({"NETOBS_SYSLOG_TLS_CERT": "/nonexistent.pem"}, "go together"),
        ({"NETOBS_CLICKHOUSE": "mysql://x"}, "chdb:///path"),
        ({"NETOBS_CLICKHOUSE_DATABASE": "x; DROP"}, "identifier"),
        ({"NETOBS_MCP_SQL_CONCURRENCY_PER_CREDENTIAL": "0"}, "NETOBS_MCP_SQL_CONCURRENCY_PER_CREDENTIAL: 1-2"),
        ({"NETOBS_MCP_SQL_CONCURRENCY_PER_CREDENTIAL": "3"}, "NETOBS_MCP_SQL_CONCURRENCY_PER_CREDENTIAL: 1-2"),
        ({"NETOBS_KAFKA_RETENTION_HOURS": "0"}, "NETOBS_KAFKA_RETENTION_HOURS: at least 1"),
        ({"NETOBS_KAFKA_RETENTION_BYTES": "1000"}, "NETOBS_KAFKA_RETENTION_BYTES: -1 .no cap. or at least"),
        ({"NETOBS_KAFKA_HEAP": "512"}, "NETOBS_KAFKA_HEAP: a Java heap size"),
        ({"NETOBS_CLICKHOUSE_HTTP_PORT": "65536"}, "NETOBS_CLICKHOUSE_HTTP_PORT: a port"),
        ({"NETOBS_CLICKHOUSE_HTTP_BIND": "0.0.0.0"}, "NETOBS_CLICKHOUSE_HTTP_BIND=0.0.0.0 is not loopback"),
        ({"NETOBS_CLICKHOUSE_HTTP_TLS_KEY": "/nonexistent.pem"}, "go together"),
        ({"NETOBS_CLICKHOUSE_MAX_MEMORY_BYTES": "1000000"}, "NETOBS_CLICKHOUSE_MAX_MEMORY_BYTES: at least 256 MiB"),
        ({"NETOBS_CLICKHOUSE_MAX_MEMORY_BYTES": "536870912", "NETOBS_CLICKHOUSE_CACHE_BYTES": "536870912"}, "half of"),
        ({"NETOBS_WORKER_BATCH_BYTES": "1000"}, "NETOBS_WORKER_BATCH_BYTES: 1 MiB to 1 GiB"),
        ({"NETOBS_WORKER_BUFFER_RECORDS": "0"}, "NETOBS_WORKER_BUFFER_RECORDS: 1-100000"),
        ({"NETOBS_WORKER_PARSE_PROCESSES": "-1"}, "NETOBS_WORKER_PARSE_PROCESSES: 0-64"),
    ],
)
def test_bad_values_are_named(env, message):
    with pytest.raises(ConfigError, match=message):
        load(environ=env)


def test_unknown_keys_in_file_are_refused(tmp_path: Path):
    f = tmp_path / "netobs.toml"
    f.write_text("[syslog]\nudp_prot = 1\n")
    with pytest.raises(ConfigError, match="udp_prot"):
        load(f, {})


def test_missing_file_is_named(tmp_path: Path):
    with pytest.raises(ConfigError, match="does not exist"):
        load(tmp_path / "nope.toml", {})


def test_kafka_sasl_and_tls_for_an_existing_cluster(tmp_path: Path):
    secret = tmp_path / "password"
    secret.write_text("s3cret\n")
    ca = tmp_path / "ca.pem"
    ca.write_text("")
    env = {
        "NETOBS_KAFKA": "k1:9093",
        "NETOBS_KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
        "NETOBS_KAFKA_SASL_USERNAME": "netobs-ingest",
        "NETOBS_KAFKA_SASL_PASSWORD_FILE": str(secret),
        "NETOBS_KAFKA_TLS_CA_FILE": str(ca),
    }
    config = load(environ=env)
    from common.kafka_client import access

    kafka = access(config.kafka)
    assert (kafka.username, kafka.password, kafka.tls_ca_file) == ("netobs-ingest", "s3cret", str(ca))
    assert "s3cret" not in repr(kafka), "the password stays out of reprs (and so out of logs)"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"NETOBS_KAFKA": "k:9092", "NETOBS_KAFKA_SASL_MECHANISM": "GSSAPI"}, "NETOBS_KAFKA_SASL_MECHANISM"),
        ({"NETOBS_KAFKA": "k:9092", "NETOBS_KAFKA_SASL_MECHANISM": "PLAIN"}, "NETOBS_KAFKA_SASL_USERNAME"),
        ({"NETOBS_KAFKA": "k:9092", "NETOBS_KAFKA_SASL_USERNAME": "u"}, "NETOBS_KAFKA_SASL_MECHANISM"),
        (
            {
                "NETOBS_KAFKA": "k:9092",
                "NETOBS_KAFKA_SASL_MECHANISM": "PLAIN",
                "NETOBS_KAFKA_SASL_USERNAME": "u",
                "NETOBS_KAFKA_SASL_PASSWORD_FILE": "/nonexistent/password",
            },
            "NETOBS_KAFKA_SASL_PASSWORD_FILE",
        ),
        ({"NETOBS_KAFKA": "k:9092", "NETOBS_KAFKA_TLS_CA_FILE": "/nonexistent/ca.pem"}, "NETOBS_KAFKA_TLS_CA_FILE"),
        ({"NETOBS_KAFKA": "k:9092", "NETOBS_KAFKA_TLS_CERT_FILE": __file__}, "NETOBS_KAFKA_TLS_KEY_FILE"),
    ],
)
def test_bad_kafka_auth_settings_are_named(env, message):
    with pytest.raises(ConfigError, match=message):
        load(environ=env)


def test_signing_keys_default_under_the_data_dir_and_are_configurable(tmp_path: Path):
    config = load(None, {"NETOBS_DATA_DIR": str(tmp_path), "NETOBS_KEYS_STEPS": str(tmp_path / "elsewhere.key")})
    steps = config.signing_key("steps")
    assert (tmp_path / "elsewhere.key").read_text().strip() == steps.hex()
    assert config.signing_key("inventory") != steps and (tmp_path / "keys" / "inventory.key").exists()
    with pytest.raises(FileNotFoundError):
        config.signing_key("commands", create=False)
    with pytest.raises(ConfigError, match="NETOBS_KEYS_MCP_AUDIT"):
        load(None, {"NETOBS_KEYS_MCP_AUDIT": str(tmp_path)})
