#!/usr/bin/env python3
"""The system packages the tests need (scripts/system-packages.txt): check them, or install the missing ones.

    system_packages.py check     exit 1 naming what is missing and the apt-get command that installs it
    system_packages.py install   apt-get install what is missing (root only; otherwise as check)

`make test` runs `install` so that a fresh clone's test run either sets itself up (as root) or stops before
pytest saying exactly what to install; .ci/run runs the same. Standard library only: it runs before the
virtualenv exists.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

LIST = Path(__file__).with_name("system-packages.txt")
SBIN = ("/usr/local/sbin", "/usr/sbin", "/sbin")
"""snmpd and dnsmasq live here, which a user's PATH often lacks: they are installed all the same."""


def required(path: Path = LIST) -> list[tuple[str, str]]:
    """(command, package) pairs of the list, in order; comments and blank lines are skipped."""
    pairs = []
    for number, raw in enumerate(path.read_text().splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        command, sep, package = line.partition(":")
        if not (sep and command.strip() and package.strip()):
            raise SystemExit(f"{path}:{number}: expected command:package, got {raw!r}")
        pairs.append((command.strip(), package.strip()))
    return pairs


def find(command: str) -> str | None:
    """The command's path on PATH or in the sbin folders, or None."""
    search = os.pathsep.join([os.environ.get("PATH", os.defpath), *SBIN])
    return shutil.which(command, path=search)


def missing_packages() -> list[str]:
    """The packages whose command is missing (each once), plus python3-venv when ensurepip is absent."""
    missing = [package for command, package in required() if find(command) is None]
    try:
        import ensurepip  # noqa: F401  (Debian ships it in python3-venv; `make venv` needs it)
    except ImportError:
        missing.append("python3-venv")
    return list(dict.fromkeys(missing))


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[1] not in ("check", "install"):
        print(__doc__, file=sys.stderr)
        return 2
    missing = missing_packages()
    if not missing:
        print(f"system packages: all present ({', '.join(p for _, p in required())})")
        return 0
    if argv[1] == "install" and os.geteuid() == 0:
        print(f"system packages: installing {' '.join(missing)}", flush=True)
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        apt = ["apt-get", "-q"]
        subprocess.run([*apt, "update"], check=True, env=env, stdin=subprocess.DEVNULL)
        subprocess.run(
            [*apt, "install", "-y", "--no-install-recommends", *missing], check=True, env=env, stdin=subprocess.DEVNULL
        )
        still = missing_packages()
        if still:
            print(f"system packages: still missing after apt-get: {' '.join(still)}", file=sys.stderr)
            return 1
        return 0
    print(
        f"system packages missing: {' '.join(missing)}\n"
        f"the tests use them; install them with:\n"
        f"    sudo apt-get install -y --no-install-recommends {' '.join(missing)}\n"
        f"(or run `make test` as root, which installs them)",
        file=sys.stderr,
    )
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
