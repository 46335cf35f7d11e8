"""The data directory: created 0700 with everything in it unreadable by other local users.

It holds syslog, audits, command results (the store and the broker's logs), tokens, keys and the broker's
credentials. netobs sets a umask of 0o077 for itself and its children (the broker's JVM, chdb, the
stages) before anything is written, and tightens a directory an older version left open.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

log = logging.getLogger(__name__)

PRIVATE_UMASK = 0o077


def prepare(data_dir: Path) -> None:
    """Set the private umask, create data_dir 0700, and take group/other bits off anything already in it."""
    os.umask(PRIVATE_UMASK)
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    opened = [path for path in _tree(data_dir) if path.lstat().st_mode & 0o077]
    for path in opened:
        mode = path.lstat().st_mode
        os.chmod(path, stat.S_IMODE(mode) & ~0o077)
    if opened:
        log.warning(
            "data directory %s was readable by other users: removed group/other permissions from %d path(s)",
            data_dir,
            len(opened),
        )


def _tree(root: Path) -> list[Path]:
    """root and everything under it, symbolic links excluded (their targets are not ours to change)."""
    paths = [root]
    for folder, dirs, files in os.walk(root):
        for name in (*dirs, *files):
            path = Path(folder) / name
            if not path.is_symlink():
                paths.append(path)
    return paths
