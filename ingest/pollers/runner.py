"""Runs one polling: picks its probe, bounds it in time, retries a failure, and never raises.

Every attempt ends within the polling's timeout (plus a little grace for the probe to say why), so a dead
target costs at most (retries + 1) * timeout of one concurrency slot and nothing else.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping

from common.snmp.credentials import SnmpCredential
from ingest.pollers import dns, tcp, tls
from ingest.pollers.http import HttpProber
from ingest.pollers.ping import Pinger
from ingest.pollers.probe import Measurement, Unpollable, fail, unknown
from ingest.pollers.snmp import SnmpProber
from schemas.inventory import Node, Polling
from schemas.polls import PollResult

log = logging.getLogger("netobs.poller")

GRACE_S = 0.5
"""Beyond the timeout, time a probe gets to report its own timeout before it is cut off."""
MIN_TIMEOUT_S = 0.1
MAX_RETRIES = 5
WARN_EVERY_S = 60.0


class Probes:
    """The probes of one poller and what they share: ICMP sockets, the SNMP engine, the HTTP session."""

    def __init__(self, credentials: Mapping[str, SnmpCredential]) -> None:
        self.pinger = Pinger()
        self.snmp = SnmpProber(credentials)
        self.http = HttpProber()
        self._last_warning = 0.0

    async def close(self) -> None:
        self.pinger.close()
        self.snmp.close()
        await self.http.close()

    async def measure(self, polling: Polling, node: Node) -> Measurement:
        """Poll once, then again up to `retries` times while the outcome is fail."""
        attempts = 1 + min(max(polling.retries, 0), MAX_RETRIES)
        measurement = unknown("not polled")
        for _ in range(attempts):
            measurement = await self._attempt(polling, node)
            if measurement.outcome != "fail":
                break
        return measurement

    async def _attempt(self, polling: Polling, node: Node) -> Measurement:
        timeout = max(polling.timeout_s, MIN_TIMEOUT_S)
        try:
            async with asyncio.timeout(timeout + GRACE_S):
                return await self._probe(polling, node, timeout)
        except TimeoutError:
            return fail(f"no result within {timeout:g}s")
        except Unpollable as exc:
            return unknown(str(exc))
        except Exception as exc:
            self._warn(polling, exc)
            return unknown(f"probe error: {type(exc).__name__}: {exc}")

    async def _probe(self, polling: Polling, node: Node, timeout: float) -> Measurement:
        params, ip = polling.params, node.ip
        match polling.kind:
            case "ping":
                return await self.pinger.probe(ip, params, timeout)
            case "snmp":
                return await self.snmp.probe(ip, node.snmp_credential, params, timeout, polling.interval_s)
            case "tcp":
                return await tcp.probe(ip, params, timeout)
            case "http":
                return await self.http.probe(ip, params, timeout)
            case "dns":
                return await dns.probe(ip, params, timeout)
            case "tls":
                return await tls.probe(ip, params, timeout)
        raise Unpollable(f"no probe for kind {polling.kind!r}")

    def _warn(self, polling: Polling, exc: Exception) -> None:
        """A probe raised what it should have reported: log it with its traceback, once a minute at most."""
        now = time.monotonic()
        if now - self._last_warning >= WARN_EVERY_S:
            self._last_warning = now
            log.warning("poller: %s probe of %s raised", polling.kind, polling.id, exc_info=exc)


def result(polling: Polling, node: Node, started_ns: int, duration_ns: int, measurement: Measurement) -> PollResult:
    """The wire record of one poll, with a copy of the definition it ran under (for replays)."""
    return PollResult(
        polling_id=polling.id,
        node_id=node.id,
        polling_name=polling.name,
        node_name=node.name,
        kind=polling.kind,
        level=polling.level,
        thresholds=list(polling.thresholds),
        logging=polling.logging,
        time_ns=started_ns,
        duration_ns=duration_ns,
        outcome=measurement.outcome,
        values=measurement.values,
        texts=measurement.texts,
        error=measurement.error,
    )
