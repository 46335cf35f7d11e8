"""Requests to one SNMP agent (pysnmp 7, v3arch asyncio): GET, a walk bounded in rows, SET, and the check of
every answer, for the SNMP poller and the executor's SNMP actions alike.

Failures are raised as facts (pysnmp's error indication, or the error status and the OID it names), not as
sentences: what they mean to a poll and what an agent reads in an action result are each stage's to say.
pysnmp's own PySnmpError passes through unchanged. Which engine an agent is asked through is the caller's
choice too: the poller shares one, the executor opens one per call.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from pysnmp.hlapi.v3arch.asyncio import (
    CommunityData,
    ContextData,
    ObjectIdentity,
    ObjectType,
    SnmpEngine,
    Udp6TransportTarget,
    UdpTransportTarget,
    UsmUserData,
    bulk_cmd,
    get_cmd,
    next_cmd,
    set_cmd,
)
from pysnmp.proto import rfc1905

from common.snmp.credentials import SnmpCredential, auth_data

MAX_REPETITIONS = 25
NO_SUCH_NAME = 2
"""SNMPv1's error status at the end of a GETNEXT walk."""


class SnmpError(Exception):
    """A request got no usable answer; str() is what went wrong, in pysnmp's or the agent's words."""


class RequestFailed(SnmpError):
    """pysnmp's error indication: no answer in time, authentication refused, and the like."""

    def __init__(self, indication: Any) -> None:
        super().__init__(str(indication))
        self.indication = indication


class ErrorStatus(SnmpError):
    """The agent answered with an error status (noAccess, wrongType, ...), at oid when it named a requested one."""

    def __init__(self, status: int, text: str, oid: str | None) -> None:
        super().__init__(text)
        self.status, self.oid = status, oid


class NotIncreasing(SnmpError):
    """A walk's answer went backwards, which would walk forever."""

    def __init__(self, oid: str, after: str) -> None:
        super().__init__(f"the agent answered {oid} after {after} (not increasing)")


@dataclass(frozen=True)
class Agent:
    """Where requests go and with what security parameters; v1 walks with GETNEXT, not GETBULK."""

    engine: SnmpEngine
    auth: CommunityData | UsmUserData
    target: UdpTransportTarget | Udp6TransportTarget
    v1: bool


async def open_agent(
    engine: SnmpEngine, credential: SnmpCredential, ip: str, port: int, *, timeout: float, retries: int
) -> Agent:
    """The agent at ip:port (IPv6 when ip has a colon); the transport's own exception if the address is unusable."""
    auth = auth_data(credential)
    kind = Udp6TransportTarget if ":" in ip else UdpTransportTarget
    target = await kind.create((ip, port), timeout=timeout, retries=retries)
    return Agent(engine, auth, target, credential.mode == "v1")


async def get(agent: Agent, oids: Sequence[str]) -> list[tuple[str, Any]]:
    """(dotted OID, value) of each of oids, in one GET; a missing one has a noSuchObject/Instance value."""
    return await _ask(agent, oids, get_cmd, *map(_object, oids))


async def set_object(agent: Agent, oid: str, value: Any) -> list[tuple[str, Any]]:
    """Set oid to value (a pyasn1 value of the right type) in one SET; the varbinds the agent answered with."""
    return await _ask(agent, [oid], set_cmd, ObjectType(ObjectIdentity(oid), value))


async def walk(agent: Agent, subtree: str, max_rows: int) -> AsyncIterator[tuple[str, Any]]:
    """The (dotted OID, value) rows under subtree in order, at most max_rows.

    GETBULK asks for no more rows than still fit; v1 walks with GETNEXT, where noSuchName means the end.
    The walk ends where the agent leaves the subtree or says endOfMibView.
    """
    root = _arcs(subtree)
    last, seen = root, 0
    while seen < max_rows:
        start = ".".join(map(str, last))
        if agent.v1:
            varbinds = await _ask(agent, [subtree], next_cmd, _object(start), end_at_no_such_name=True)
        else:
            wanted = min(MAX_REPETITIONS, max_rows - seen)
            varbinds = await _ask(agent, [subtree], bulk_cmd, 0, wanted, _object(start))
        if not varbinds:
            return
        for oid, value in varbinds:
            arcs = _arcs(oid)
            if arcs[: len(root)] != root or isinstance(value, rfc1905.EndOfMibView):
                return
            if arcs <= last:
                raise NotIncreasing(oid, start)
            yield oid, value
            seen, last = seen + 1, arcs
            if seen >= max_rows:
                return


async def _ask(
    agent: Agent, oids: Sequence[str], command: Callable[..., Any], *args: Any, end_at_no_such_name: bool = False
) -> list[tuple[str, Any]]:
    """Send one request and check its answer; oids are what the request is about, for naming an error's place."""
    error, status, index, varbinds = await command(
        agent.engine, agent.auth, agent.target, ContextData(), *args, lookupMib=False
    )
    if error:
        raise RequestFailed(error)
    if status and end_at_no_such_name and int(status) == NO_SUCH_NAME:
        return []
    if status:
        at = int(index or 0) - 1
        text = status.prettyPrint() if hasattr(status, "prettyPrint") else str(status)
        raise ErrorStatus(int(status), text, oids[at] if 0 <= at < len(oids) else None)
    return [(str(oid), value) for oid, value in varbinds]


def _object(oid: str) -> ObjectType:
    return ObjectType(ObjectIdentity(oid))


def _arcs(oid: str) -> tuple[int, ...]:
    return tuple(int(a) for a in oid.split("."))
