"""TCP probe: can a connection be opened, and how long did the handshake take.

A bare non-blocking socket and loop.sock_connect rather than asyncio streams: no transport, protocol or
reader is built for a connection that is closed at once, which halves the poller's CPU per TCP poll.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import time
from collections.abc import Mapping

from ingest.pollers.probe import BadParam, Measurement, Unpollable, fail, int_param, ms_since, ok, os_error


async def probe(ip: str, params: Mapping[str, str], timeout: float) -> Measurement:
    """Connect to ip:port (param port, required) and close at once; values connect_ms."""
    if not params.get("port", "").strip():
        raise BadParam("param port: required for a tcp polling")
    port = int_param(params, "port", 0, 1, 65535)
    try:
        family = socket.AF_INET6 if ipaddress.ip_address(ip).version == 6 else socket.AF_INET
    except ValueError:
        raise Unpollable(f"node address {ip!r} is not an IP address") from None
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setblocking(False)
    started = time.perf_counter()
    try:
        async with asyncio.timeout(timeout):
            await asyncio.get_running_loop().sock_connect(sock, (ip, port))
        return ok({"connect_ms": ms_since(started, time.perf_counter())})
    except TimeoutError:
        return fail(f"no answer from {ip}:{port} within {timeout:g}s")
    except OSError as exc:
        return fail(f"{ip}:{port}: {os_error(exc)}")
    finally:
        sock.close()
