"""The signing keys of a test session: fixed, so records signed in a test and by the netobs parts it starts
verify alike. conftest writes them to 0600 files and points NETOBS_KEYS_* at them for every process."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from common.sealing import KEY_BYTES
from common.signing import PURPOSES
from processors.tables.projector import Keys as WorkerKeys

KEYS = {purpose: hashlib.sha256(f"netobs test {purpose} key".encode()).digest() for purpose in PURPOSES}
assert all(len(key) == KEY_BYTES for key in KEYS.values())
WORKER = WorkerKeys(steps=KEYS["steps"], inventory=KEYS["inventory"], mcp_audit=KEYS["mcp_audit"])


def write(directory: Path) -> dict[str, str]:
    """Write the keys as key files under directory; returns the NETOBS_KEYS_* settings naming them."""
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    env = {}
    for purpose, key in KEYS.items():
        path = directory / f"{purpose}.key"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(key.hex() + "\n")
        env[f"NETOBS_KEYS_{purpose.upper()}"] = str(path)
    return env
