"""The embedded broker's jar fetcher: a jar is taken only when its sha256 is the lock list's, served over real HTTP."""

from __future__ import annotations

import hashlib
import http.server
import threading
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest

from netobs import kafka_jars
from netobs.kafka_jars import FetchError, Jar


@pytest.fixture
def repository(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A Maven-layout repository served by http.server on 127.0.0.1; yields (url, its root directory)."""
    root = tmp_path / "repo"
    root.mkdir()
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *args: None  # type: ignore[attr-defined]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", root
    server.shutdown()
    server.server_close()


def _publish(root: Path, jar: Jar, content: bytes) -> None:
    path = root / jar.url("").lstrip("/")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)


def _jar(content: bytes) -> Jar:
    return Jar("org.example", "thing", "1.0", hashlib.sha256(content).hexdigest())


def test_a_jar_matching_the_lock_list_is_fetched(repository: tuple[str, Path], tmp_path: Path) -> None:
    url, root = repository
    jar = _jar(b"the real jar")
    _publish(root, jar, b"the real jar")
    cache = kafka_jars.fetch(tmp_path / "cache", [jar], url, log=lambda _m: None)
    assert (cache / "thing-1.0.jar").read_bytes() == b"the real jar"


def test_a_corrupted_jar_is_refused_and_not_left_in_the_cache(repository: tuple[str, Path], tmp_path: Path) -> None:
    url, root = repository
    jar = _jar(b"the real jar")
    _publish(root, jar, b"the real jar, one byte flipped")
    with pytest.raises(FetchError, match="does not match the lock list"):
        kafka_jars.fetch(tmp_path / "cache", [jar], url, log=lambda _m: None)
    assert list((tmp_path / "cache").iterdir()) == []


def test_a_corrupted_jar_already_cached_is_fetched_again(repository: tuple[str, Path], tmp_path: Path) -> None:
    url, root = repository
    jar = _jar(b"the real jar")
    _publish(root, jar, b"the real jar")
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / jar.filename).write_bytes(b"truncated")
    lines: list[str] = []
    kafka_jars.fetch(cache, [jar], url, log=lines.append)
    assert (cache / jar.filename).read_bytes() == b"the real jar"
    assert any("thing-1.0.jar" in line and "sha256 ok" in line for line in lines), lines


def test_a_missing_jar_names_its_url(repository: tuple[str, Path], tmp_path: Path) -> None:
    url, _root = repository
    with pytest.raises(FetchError, match=r"thing/1\.0/thing-1\.0\.jar"):
        kafka_jars.fetch(tmp_path / "cache", [_jar(b"x")], url, log=lambda _m: None)


def test_the_shipped_lock_list_pins_the_broker_classpath() -> None:
    jars = kafka_jars.locked_jars()
    names = {(j.group, j.artifact) for j in jars}
    assert ("org.apache.kafka", "kafka_2.13") in names
    assert ("org.apache.logging.log4j", "log4j-slf4j-impl") in names
    assert all(j.version == kafka_jars.KAFKA_VERSION for j in jars if j.group == "org.apache.kafka")
    assert len({j.filename for j in jars}) == len(jars), "one jar per file name in the cache"


@pytest.mark.parametrize(
    "line", ["org.example:thing 0123", "org.example:thing:1.0", f"org.example:thing:1.0 {'z' * 10}"]
)
def test_a_malformed_lock_line_is_refused(line: str) -> None:
    with pytest.raises(FetchError, match="lock list line 1"):
        kafka_jars.parse_lock(line)
