"""Real rsyslog as a RELP sender: lines fed to its imptcp input go out through omrelp.

Debian's rsyslog conflicts with syslog-ng-core, so scripts/rsyslog_private.sh unpacks it into a private
root (CI runs it); this module finds that root and runs rsyslogd from it with its own configuration. A
machine without it skips the tests, except under CI or NETOBS_REQUIRE_RSYSLOG=1, where it is a failure.
"""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path

import pytest

from tests import brokers

ROOT_ENV = "NETOBS_RSYSLOG_ROOT"
REQUIRE_ENV = "NETOBS_REQUIRE_RSYSLOG"
DEFAULT_ROOT = Path.home() / ".cache" / "netobs" / "rsyslog"
LIBS = "usr/lib/x86_64-linux-gnu"
MODULES = f"{LIBS}/rsyslog"
SETUP = "scripts/rsyslog_private.sh"


def root() -> Path:
    """The private root with rsyslogd and omrelp; skips (or fails under CI) when there is none."""
    path = Path(os.environ.get(ROOT_ENV) or DEFAULT_ROOT)
    if (path / "usr/sbin/rsyslogd").is_file() and (path / MODULES / "omrelp.so").is_file():
        return path
    why = f"no rsyslog with omrelp under {path}: run {SETUP}"
    if os.environ.get("CI") == "true" or os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(why)
    pytest.skip(why)


def config(work: Path, input_port: int, relp_port: int) -> str:
    """imptcp on input_port -> an in-memory action queue -> omrelp to 127.0.0.1:relp_port, retried forever.

    The queue holds every line while the receiver is away; omrelp resends the frames it had not had an
    answer for when a session breaks.
    """
    return f"""
global(workDirectory="{work}" maxMessageSize="64k")
module(load="imptcp")
module(load="omrelp")
template(name="line" type="string" string="%rawmsg%")
input(type="imptcp" address="127.0.0.1" port="{input_port}" ruleset="forward")
ruleset(name="forward") {{
    action(type="omrelp" target="127.0.0.1" port="{relp_port}" template="line" windowSize="1024"
           queue.type="LinkedList" queue.size="500000" queue.dequeueBatchSize="1024"
           action.resumeRetryCount="-1" action.resumeInterval="1")
}}
"""


class Rsyslog:
    """rsyslogd -n with its own configuration and work directory; stop() ends it."""

    def __init__(self, work: Path, relp_port: int) -> None:
        base = root()
        work.mkdir(parents=True, exist_ok=True)
        self.input_port = brokers.free_port()
        conf = work / "rsyslog.conf"
        conf.write_text(config(work, self.input_port, relp_port))
        env = dict(os.environ, LD_LIBRARY_PATH=str(base / LIBS))
        self.log_path = work / "rsyslogd.log"
        args = [str(base / "usr/sbin/rsyslogd"), "-n", "-f", str(conf), "-i", str(work / "rsyslogd.pid")]
        self.proc = brokers.spawn([*args, "-M", str(base / MODULES)], self.log_path, env=env)
        deadline = time.monotonic() + 30
        while not _listens(self.input_port):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise AssertionError(f"rsyslogd did not start: {self.log_path.read_text()[-2000:]}")
            time.sleep(0.1)

    def send(self, lines: list[bytes], per_second: int = 0) -> None:
        """Feed lines to rsyslog's input over TCP, newline-framed; at most per_second when given."""
        with socket.create_connection(("127.0.0.1", self.input_port)) as sock:
            chunk = max(1, per_second // 20) if per_second else 5000
            started = time.monotonic()
            for i in range(0, len(lines), chunk):
                sock.sendall(b"".join(line + b"\n" for line in lines[i : i + chunk]))
                if per_second:
                    ahead = (i + chunk) / per_second - (time.monotonic() - started)
                    if ahead > 0:
                        time.sleep(ahead)

    def stop(self) -> None:
        brokers.stop(self.proc)


def _listens(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        return True
    except OSError:
        return False

