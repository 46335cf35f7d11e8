"""A real net-snmp agent (snmpd) on 127.0.0.1 for tests: start, stop, restart, and the credentials to use it.

Each agent has its own directory: the config file, the persistent dir (so its engine id and v3 users
survive a restart, as on a real device, and engineBoots counts up), and its log. v2c read-only and
read-write communities, v1 on the read-only one, and v3 users for authNoPriv (SHA), authPriv (SHA+AES)
and authPriv with AES-256 (net-snmp's Blumenthal key extension). sysContact and sysLocation are not set
in the config, which would make them read-only: they stay writable for snmpset tests.

The net-snmp command-line tools (snmpget) serve as the oracle and as the readiness check.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

from common.snmp.credentials import SnmpCredential
from tests import brokers

SNMPD = shutil.which("snmpd") or "/usr/sbin/snmpd"
SNMPGET = shutil.which("snmpget") or "/usr/bin/snmpget"
HOST = "127.0.0.1"
RO_COMMUNITY = "netobs-ro-community"
RW_COMMUNITY = "netobs-rw-community"
AUTH_PASSWORD = "netobs-auth-pass"
PRIV_PASSWORD = "netobs-priv-pass"
CREDENTIALS = {
    "v1": SnmpCredential(name="v1", mode="v1", community=RO_COMMUNITY),
    "v2c": SnmpCredential(name="v2c", mode="v2c", community=RO_COMMUNITY),
    "v2c-rw": SnmpCredential(name="v2c-rw", mode="v2c", community=RW_COMMUNITY),
    "v3auth": SnmpCredential(
        name="v3auth", mode="v3auth", user="netobs-auth", auth_protocol="SHA", auth_password=AUTH_PASSWORD
    ),
    "v3authpriv": SnmpCredential(
        name="v3authpriv",
        mode="v3authpriv",
        user="netobs-priv",
        auth_protocol="SHA",
        auth_password=AUTH_PASSWORD,
        priv_protocol="AES",
        priv_password=PRIV_PASSWORD,
    ),
    "v3authprivex": SnmpCredential(
        name="v3authprivex",
        mode="v3authprivex",
        user="netobs-priv256",
        auth_protocol="SHA",
        auth_password=AUTH_PASSWORD,
        priv_protocol="AES256",
        priv_password=PRIV_PASSWORD,
    ),
}
"""Named credentials this agent accepts, as the credentials file would define them."""
WRONG_COMMUNITY = SnmpCredential(name="wrong", mode="v2c", community="not-the-community")
_CLI_PRIV = {"AES": "AES", "AES192": "AES-192", "AES256": "AES-256"}


def free_udp_port() -> int:
    """A UDP port on 127.0.0.1 that nothing is bound to right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def cli_args(credential: SnmpCredential) -> list[str]:
    """net-snmp command-line security options for a credential."""
    if not credential.is_v3:
        return ["-v", "1" if credential.mode == "v1" else "2c", "-c", credential.community]
    args = ["-v", "3", "-u", credential.user, "-a", credential.auth_protocol, "-A", credential.auth_password]
    if credential.mode == "v3auth":
        return [*args, "-l", "authNoPriv"]
    return [*args, "-l", "authPriv", "-x", _CLI_PRIV[credential.priv_protocol], "-X", credential.priv_password]


class Snmpd:
    """One snmpd child; start() waits until it answers, stop() and restart() keep its port and state."""

    def __init__(self, directory: Path, port: int | None = None, extra_config: Sequence[str] = ()) -> None:
        self.directory = directory
        self.port = port or free_udp_port()
        self.extra_config = tuple(extra_config)
        self.config = directory / "snmpd.conf"
        self.persistent = directory / "persist"
        self.log = directory / "snmpd.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.credentials = dict(CREDENTIALS)

    @property
    def address(self) -> str:
        return f"{HOST}:{self.port}"

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def _write_config(self) -> None:
        lines = [
            f"agentAddress udp:{HOST}:{self.port}",
            f"rocommunity {RO_COMMUNITY} {HOST}",
            f"rwcommunity {RW_COMMUNITY} {HOST}",
            "dontLogTCPWrappersConnects yes",
        ]
        for credential in CREDENTIALS.values():
            if not credential.is_v3:
                continue
            create = f'createUser {credential.user} {credential.auth_protocol} "{credential.auth_password}"'
            if credential.mode == "v3auth":
                lines += [create, f"rouser {credential.user} auth"]
            else:
                lines += [f'{create} {credential.priv_protocol} "{credential.priv_password}"']
                lines += [f"rwuser {credential.user} priv"]
        self.config.write_text("\n".join([*lines, *self.extra_config]) + "\n")

    def start(self, timeout: float = 15.0) -> None:
        """Start the agent (writing its config on first start) and wait until it answers a get."""
        if not os.path.exists(SNMPD):
            raise RuntimeError("snmpd is not installed (Debian: apt-get install snmpd)")
        if self.running:
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        self.persistent.mkdir(exist_ok=True)
        if not self.config.exists():
            self._write_config()
        env = {**os.environ, "SNMP_PERSISTENT_DIR": str(self.persistent), "MIBS": ""}
        configs = f"{self.config},{self.persistent / 'snmpd.conf'}"  # -C skips the persistent file unless named
        args = [SNMPD, "-f", "-C", "-c", configs, "-Lf", str(self.log), "-I", "-smux"]
        self.proc = brokers.spawn(args, self.directory / "snmpd.out", env=env)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"snmpd exited with {self.proc.returncode}:\n{self._log_tail()}")
            if self.answers():
                return
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"snmpd did not answer on {self.address} within {timeout:g}s:\n{self._log_tail()}")

    def stop(self) -> None:
        if self.proc is not None:
            brokers.stop(self.proc)
            self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def answers(self) -> bool:
        """Does the agent answer a v2c get of sysUpTime.0 within 0.5 s?"""
        return self.get("1.3.6.1.2.1.1.3.0", timeout=0.5) is not None

    def get(self, oid: str, credential: str = "v2c", timeout: float = 2.0) -> str | None:
        """The value of one OID as snmpget prints it (-Oqv: value only), None if there was no answer."""
        args = [SNMPGET, *cli_args(self.credentials[credential]), "-t", str(timeout), "-r", "0", "-Oqv", "-On"]
        done = subprocess.run(
            [*args, self.address, oid],
            capture_output=True,
            text=True,
            env={**os.environ, "MIBS": ""},
            timeout=timeout + 5,
            check=False,
        )
        return done.stdout.strip() if done.returncode == 0 else None

    def _log_tail(self, lines: int = 20) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def __enter__(self) -> Snmpd:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
