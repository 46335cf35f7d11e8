"""The Apache Kafka jars of the embedded broker: a pinned lock list, fetched from Maven Central with urllib.

The lock list (data/kafka-<version>.lock) is the runtime classpath Maven resolved once, with each jar's
sha256: a fetch is deterministic and auditable, needs neither Maven nor a POM walk, and a jar whose
digest differs (a corrupted download, a tampered mirror) is refused. Standard library only.
"""

from __future__ import annotations

import hashlib
import os
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from common.progress import Progress

KAFKA_VERSION = "4.3.1"
MAVEN_CENTRAL = "https://repo1.maven.org/maven2"
LOCK_FILE = Path(__file__).parent / "data" / f"kafka-{KAFKA_VERSION}.lock"


class FetchError(RuntimeError):
    """A jar could not be fetched or did not match the lock list."""


@dataclass(frozen=True)
class Jar:
    """One pinned artifact: Maven coordinates and the sha256 of its jar."""

    group: str
    artifact: str
    version: str
    sha256: str

    @property
    def filename(self) -> str:
        """The name Maven's copy-dependencies gives it, so a Maven-filled directory is a valid cache."""
        return f"{self.artifact}-{self.version}.jar"

    def url(self, repository: str = MAVEN_CENTRAL) -> str:
        """Where the jar lives in a Maven repository layout."""
        return f"{repository}/{self.group.replace('.', '/')}/{self.artifact}/{self.version}/{self.filename}"


def parse_lock(text: str) -> list[Jar]:
    """The jars of a lock list: `group:artifact:version sha256` per line; # comments and blank lines skipped."""
    jars = []
    for number, line in enumerate(text.splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        try:
            coordinates, digest = line.split()
            group, artifact, version = coordinates.split(":")
        except ValueError:
            raise FetchError(
                f"lock list line {number}: expected 'group:artifact:version sha256', got {line!r}"
            ) from None
        if len(digest) != 64:
            raise FetchError(f"lock list line {number}: not a sha256 digest: {digest!r}")
        jars.append(Jar(group, artifact, version, digest.lower()))
    return jars


def locked_jars() -> list[Jar]:
    """The jars the shipped lock list pins."""
    return parse_lock(LOCK_FILE.read_text())


def classpath(cache: Path, jars: list[Jar] | None = None) -> str:
    """The lock list's jars in `cache`, by name: a stray jar in the directory never joins the classpath."""
    return os.pathsep.join(str(cache / jar.filename) for jar in (locked_jars() if jars is None else jars))


def default_cache() -> Path:
    """$XDG_CACHE_HOME/netobs/kafka-<version>, else ~/.cache/netobs/kafka-<version>: outside any repository."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "netobs" / f"kafka-{KAFKA_VERSION}"


def sha256_of(path: Path) -> str:
    """The hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def verify(path: Path, jar: Jar) -> None:
    """Raise FetchError unless the file's sha256 is the one the lock list pins."""
    actual = sha256_of(path)
    if actual != jar.sha256:
        raise FetchError(f"{jar.filename}: sha256 {actual} does not match the lock list's {jar.sha256}")


def _download(url: str, target: Path, timeout: float = 60.0) -> int:
    with urllib.request.urlopen(url, timeout=timeout) as response, target.open("wb") as out:
        size = 0
        while chunk := response.read(1 << 16):
            out.write(chunk)
            size += len(chunk)
    return size


def fetch(
    cache: Path | None = None,
    jars: list[Jar] | None = None,
    repository: str = MAVEN_CENTRAL,
    log: Callable[[str], None] = print,
) -> Path:
    """Make `cache` hold every jar of the lock list, each verified; returns the directory.

    Jars already there are checked (a hash of ~45 MB, a fraction of a second) rather than trusted. A
    download goes to a .part file that is renamed only once its digest matches, so an interrupted or
    corrupted fetch never leaves a jar on the classpath.
    """
    cache = cache or default_cache()
    jars = locked_jars() if jars is None else jars
    cache.mkdir(parents=True, exist_ok=True)
    missing = []
    for jar in jars:
        path = cache / jar.filename
        if not path.exists():
            missing.append(jar)
            continue
        try:
            verify(path, jar)
        except FetchError:
            path.unlink()
            missing.append(jar)
    if not missing:
        return cache
    log(f"Apache Kafka {KAFKA_VERSION}: fetching {len(missing)} jars from {repository} into {cache}")
    started = time.monotonic()
    # On a terminal a bar replaces the line per jar; logs and pipes keep the lines.
    meter = Progress(f"Apache Kafka {KAFKA_VERSION} jars", len(missing), "jars") if sys.stderr.isatty() else None
    for index, jar in enumerate(missing, 1):
        part = cache / f"{jar.filename}.part"
        try:
            size = _download(jar.url(repository), part)
            verify(part, jar)
        except OSError as exc:
            part.unlink(missing_ok=True)
            raise FetchError(f"{jar.url(repository)}: {exc}") from exc
        except FetchError:
            part.unlink(missing_ok=True)
            raise
        part.rename(cache / jar.filename)
        if meter is None:
            log(f"  [{index}/{len(missing)}] {jar.filename} ({size / 1e6:.1f} MB, sha256 ok)")
        elif index < len(missing):
            meter.update(index, jar.filename)
        else:
            meter.finish(index, "sha256 ok")
    log(f"Apache Kafka {KAFKA_VERSION}: {len(missing)} jars in {time.monotonic() - started:.1f} s")
    return cache


if __name__ == "__main__":
    print(fetch(Path(sys.argv[1]) if len(sys.argv) > 1 else None))
