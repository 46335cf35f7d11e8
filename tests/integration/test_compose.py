"""compose.yaml cannot be started here (no Docker engine), so what can be checked is: every netobs service's
command and environment pass netobs's own configuration check (`netobs --check-config COMMAND`), the files it
names are the ones compose mounts, each stage connects as its own principal with only its own password and the
keys it holds, and the images are pinned."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "compose.yaml").read_text())
NETOBS = {name: s for name, s in COMPOSE["services"].items() if s.get("build") == "."}
REQUIRED = {"KAFKA_ADMIN_PASSWORD", "CLICKHOUSE_PASSWORD", "NETOBS_MCP_TOKEN", "GRAFANA_ADMIN_PASSWORD"}
KEYS = {  # which signing keys each stage holds (common.config.KeysConfig)
    "poller": {"inventory"},
    "worker": {"steps", "inventory", "mcp_audit"},
    "executor": {"commands", "steps", "inventory"},
    "mcp": {"commands", "mcp_audit"},
}


def _interpolate(value: str) -> str:
    """Compose's ${VAR}, ${VAR:-default} and ${VAR:?message}, with the required secrets set as an operator would."""

    def one(m: re.Match[str]) -> str:
        name, op, rest = m.group(1), m.group(2) or "", m.group(3) or ""
        if name in REQUIRED:
            return f"test-{name.lower()}-0123456789abcdef"
        assert op != ":?", f"${{{name}}} is required but not documented as such"
        return rest if op == ":-" else ""

    return re.sub(r"\$\{([A-Z_]+)(:-|:\?)?([^}]*)\}", one, value)


def _mounts(service: dict[str, Any], tmp_path: Path) -> dict[str, Path]:
    """Container path -> a stand-in file or directory on this machine, for every bind mount of ./secrets or ./tls."""
    found = {}
    for volume in service.get("volumes", []):
        source, target = volume.split(":")[:2]
        if source.startswith(("./secrets", "./tls")):
            stand_in = tmp_path / "mounts" / source.removeprefix("./")
            if "." in Path(source).name or "kafka-credentials" in source:
                stand_in.parent.mkdir(parents=True, exist_ok=True)
                stand_in.write_text("stand-in\n")
            else:
                stand_in.mkdir(parents=True, exist_ok=True)
                for name in ("mcp.crt", "mcp.key"):
                    (stand_in / name).write_text("stand-in\n")
            found[target] = stand_in
    return found


def _environment(service: dict[str, Any], mounts: dict[str, Path]) -> dict[str, str]:
    env = {k: _interpolate(str(v)) for k, v in service["environment"].items()}
    for key, value in env.items():
        for target, stand_in in mounts.items():
            if value == target or value.startswith(target + "/"):
                env[key] = str(stand_in) + value.removeprefix(target)
    return env


@pytest.mark.parametrize("name", sorted(NETOBS))
def test_each_netobs_service_passes_the_configuration_check(name: str, tmp_path: Path) -> None:
    service = NETOBS[name]
    env = _environment(service, _mounts(service, tmp_path))
    for secret in service.get("secrets", []):  # compose's secrets land in /run/secrets/<name>
        stand_in = tmp_path / "run-secrets" / secret
        stand_in.parent.mkdir(parents=True, exist_ok=True)
        stand_in.write_text("stand-in\n")
        env = {k: v.replace(f"/run/secrets/{secret}", str(stand_in)) for k, v in env.items()}
    env["NETOBS_DATA_DIR"] = str(tmp_path / "data")
    run_env = {k: v for k, v in os.environ.items() if not k.startswith("NETOBS_")} | env
    run_env["PYTHONPATH"] = str(ROOT)
    done = subprocess.run(
        [sys.executable, "-m", "netobs", "--check-config", *service["command"]],
        env=run_env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, f"{name}: {done.stderr}"
    assert f"netobs {service['command'][0]}: configuration ok" in done.stdout


@pytest.mark.parametrize("name", ["ingest", "traps", "poller", "worker", "executor", "mcp"])
def test_each_stage_is_its_own_principal_with_only_its_own_secrets(name: str) -> None:
    service = NETOBS[name]
    env = service["environment"]
    assert env["NETOBS_KAFKA_SASL_USERNAME"] == f"netobs-{name}"
    assert env["NETOBS_KAFKA_SASL_MECHANISM"] == "SCRAM-SHA-512"
    mounted = [v.split(":")[0] for v in service.get("volumes", [])]
    passwords = [m for m in mounted if "kafka-credentials" in m]
    assert passwords == [f"./secrets/kafka-credentials/netobs-{name}"], "its own password and no other"
    keys = {Path(m).stem for m in mounted if m.startswith("./secrets/keys/")}
    assert keys == KEYS.get(name, set()), f"{name} holds exactly the keys it needs"
    assert not any(m == "./secrets" for m in mounted), "the whole secrets folder only in setup"


def test_the_broker_authenticates_and_authorises() -> None:
    env = COMPOSE["services"]["kafka"]["environment"]
    listeners = env["KAFKA_LISTENERS"].split(",")
    assert not any(listener.startswith("PLAINTEXT://") for listener in listeners), "no unauthenticated listener"
    assert env["KAFKA_AUTHORIZER_CLASS_NAME"].endswith("StandardAuthorizer")
    assert env["KAFKA_ALLOW_EVERYONE_IF_NO_ACL_FOUND"] == "false"
    assert "CONTROLLER://localhost:" in env["KAFKA_LISTENERS"], "the unauthenticated controller stays in-container"


def test_images_are_pinned() -> None:
    for name, service in COMPOSE["services"].items():
        if "image" in service:
            assert ":" in service["image"] and not service["image"].endswith(":latest"), name
    assert COMPOSE["services"]["clickhouse"]["image"] == "clickhouse/clickhouse-server:26.9"
