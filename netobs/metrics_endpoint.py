"""Where a process's Prometheus metrics are served.

Every netobs process has a registry of the families its stage reads from its counters. A process run on its
own (scale-out) serves it over HTTP at metrics.bind:metrics.port/metrics. In a single node the receivers,
trap receiver, poller and executor are children of the node: each serves its registry on a unix socket
the node named for it (NETOBS_METRICS_SOCKET), and the node's one HTTP endpoint reads them all at each
scrape, labelling every series with process="<name>" (the node's own: process="node"), plus netobs_up per
process. Pulling at scrape time keeps every number as fresh as a process's own endpoint would, with no
files or shared memory to clean up.

Access follows MCP's /metrics: `token` asks for a bearer credential with the metrics scope (the admin token
or a named token, checked like MCP's), `open` answers whoever reaches the port.
"""

from __future__ import annotations

import contextlib
import http.server
import logging
import os
import socket
import socketserver
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, ProcessCollector, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import Collector

from common.metrics import Source, gauge, with_process
from netobs.config import Config
from query_mcp.auth.credentials import Authenticator

if TYPE_CHECKING:
    from processors.app import Worker

log = logging.getLogger(__name__)

SOCKET_ENV = "NETOBS_METRICS_SOCKET"
"""Set by the node for each child: the unix socket the child serves its metrics on."""
CHILD_TIMEOUT = 5.0


def registry() -> CollectorRegistry:
    """A fresh registry with the process's CPU, memory and file descriptors (process_*)."""
    reg = CollectorRegistry(auto_describe=True)
    ProcessCollector(registry=reg)
    return reg


def worker_source(worker: Worker) -> Collector:
    """The worker's families (rows, insert latency, lag per partition), read at each scrape."""
    from processors.app import lag_by_partition
    from processors.metrics import worker_families

    return Source(lambda: worker_families(worker.projectors, lag_by_partition(worker)))


def registry_of(collector: Collector) -> CollectorRegistry:
    """A registry holding only collector (the node's: its process_* come through the merge, labelled)."""
    reg = CollectorRegistry(auto_describe=False)
    reg.register(collector)
    return reg


def read_socket(path: Path, timeout: float = CHILD_TIMEOUT) -> str:
    """The exposition text a child serves on its unix socket."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        sock.connect(str(path))
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks).decode()


class NodeCollector(Collector):
    """The node's families and its children's, read at each scrape; netobs_up says who answered."""

    def __init__(
        self, own: CollectorRegistry, children: Mapping[str, Path], extra: Callable[[], str] | None = None
    ) -> None:
        self._own = own
        self._children = children
        self._extra = extra
        """Exposition text of the node's MCP service, which keeps its own counters."""

    def collect(self) -> Iterable[Metric]:
        node = list(self._own.collect())
        if self._extra is not None:
            node += text_string_to_metric_families(self._extra())
        by_process: dict[str, Iterable[Metric]] = {"node": node}
        up = {"node": 1}
        for name, path in self._children.items():
            try:
                by_process[name] = list(text_string_to_metric_families(read_socket(path)))
                up[name] = 1
            except (OSError, ValueError) as exc:
                log.warning("metrics of %s not read from %s: %s", name, path, exc)
                up[name] = 0
        return [
            *with_process(by_process),
            gauge(
                "netobs_up",
                "1 when the process answered this scrape, else 0.",
                ["process"],
                (([n], v) for n, v in up.items()),
            ),
        ]


class _UnixServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


class _HttpServer(http.server.ThreadingHTTPServer):
    daemon_threads = True


def _unix_server(reg: CollectorRegistry, path: Path) -> socketserver.BaseServer:
    class Handler(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            self.request.sendall(generate_latest(reg))

    with contextlib.suppress(FileNotFoundError):
        path.unlink()
    return _UnixServer(str(path), Handler)


def _http_server(reg: CollectorRegistry, config: Config) -> socketserver.BaseServer:
    allowed = _access_check(config)

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path.split("?", 1)[0] != "/metrics":
                self._answer(404, b"not found: the metrics are at /metrics\n")
            elif not allowed(self.headers.get("Authorization", "")):
                self._answer(401, b"a bearer token with the metrics scope is needed\n", bearer=True)
            else:
                self._answer(200, generate_latest(reg), CONTENT_TYPE_PLAIN_0_0_4)

        def _answer(self, status: int, body: bytes, kind: str = "text/plain", bearer: bool = False) -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            if bearer:
                self.send_header("WWW-Authenticate", 'Bearer scope="metrics"')
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            """Scrapes are not worth a log line each."""

    return _HttpServer((config.metrics.bind, config.metrics.port), Handler)


def _access_check(config: Config) -> Callable[[str], bool]:
    """Whether an Authorization header may read the metrics, per metrics.access."""
    if config.metrics.access == "open":
        return lambda _header: True
    authenticate = Authenticator(config.mcp, config.data_dir)
    lock = threading.Lock()

    def allowed(header: str) -> bool:
        scheme, _, presented = header.partition(" ")
        if scheme.lower() != "bearer" or not presented.strip():
            return False
        with lock:
            principal, _reason = authenticate(presented.strip())
        return principal is not None and principal.may("metrics")

    return allowed


@contextlib.contextmanager
def serving(config: Config, reg: CollectorRegistry, name: str) -> Iterator[None]:
    """Serve reg while the block runs: on the node's socket for this child, else over HTTP (port 0: not at all)."""
    child_socket = os.environ.get(SOCKET_ENV)
    try:
        if child_socket:
            server = _unix_server(reg, Path(child_socket))
        elif config.metrics.port:
            server = _http_server(reg, config)
            log.info("%s metrics on http://%s:%d/metrics", name, config.metrics.bind, config.metrics.port)
        else:
            yield
            return
    except OSError as exc:  # the port is taken (another netobs process?): run on, without metrics
        where = child_socket or f"{config.metrics.bind}:{config.metrics.port} (NETOBS_METRICS_PORT)"
        log.error("%s metrics not served on %s: %s", name, where, exc)
        yield
        return
    thread = threading.Thread(target=server.serve_forever, name=f"{name}-metrics", daemon=True)
    thread.start()
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()
