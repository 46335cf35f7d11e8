"""SNMP probe (pysnmp 7, v3arch asyncio): gets, a walk, host resources and the ARP table of one agent.

Keys are MIB names without their module (schemas.mib_names: "sysUpTime.0", "ifOperStatus.2"), dotted
OIDs where the table knows no name. Numeric types (integers, counters, gauges, time ticks) go to values,
everything else to texts. The credential is looked up by the name the node gives; its secrets go to
pysnmp and nowhere else.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

from pyasn1.type import univ
from pysnmp.hlapi.v3arch.asyncio import (
    ContextData,
    ObjectIdentity,
    ObjectType,
    SnmpEngine,
    Udp6TransportTarget,
    UdpTransportTarget,
    bulk_walk_cmd,
    get_cmd,
    walk_cmd,
)

from common.snmp_credentials import SnmpCredential, auth_data
from common.snmp_text import hex_text, value_text
from ingest.pollers.probe import BadParam, Measurement, Unpollable, bool_param, fail, int_param, ok, port_param
from schemas.mib_names import oid_of, short_name

SYS_UPTIME = "1.3.6.1.2.1.1.3.0"
HR_PROCESSOR_LOAD = "1.3.6.1.2.1.25.3.3.1.2"
HR_STORAGE_TYPE = "1.3.6.1.2.1.25.2.3.1.2"
HR_STORAGE_RAM = "1.3.6.1.2.1.25.2.1.2"
HR_STORAGE_UNITS, HR_STORAGE_SIZE, HR_STORAGE_USED = (f"1.3.6.1.2.1.25.2.3.1.{n}" for n in (4, 5, 6))
IP_NET_TO_MEDIA_PHYS = "1.3.6.1.2.1.4.22.1.2"
MAX_REPETITIONS = 25


class SnmpFailed(Exception):
    """The agent did not answer, or answered with an error: the poll fails."""


def resolve(name: str) -> str:
    """Dotted OID of a name or OID from the params; BadParam if the MIB table does not know it."""
    oid = oid_of(name)
    if oid is None:
        raise BadParam(f"param oids/walk: unknown MIB object {name!r} (use a dotted OID)")
    return oid


def store(values: dict[str, float], texts: dict[str, str], oid: str, value: Any) -> None:
    """Put one varbind in values (numeric types) or texts (the rest); noSuchObject and the like become texts."""
    key = short_name(oid)
    if isinstance(value, univ.Null):
        name = type(value).__name__
        texts[key] = name[:1].lower() + name[1:]
    elif isinstance(value, univ.Integer):
        values[key] = float(int(value))
    else:
        texts[key] = value_text(value)


def arp_texts(rows: Sequence[tuple[str, bytes]]) -> dict[str, str]:
    """ipNetToMediaPhysAddress rows (OID ifIndex.a.b.c.d, MAC bytes) as {"arp:a.b.c.d": "aa:bb:..."}."""
    prefix = IP_NET_TO_MEDIA_PHYS + "."
    texts = {}
    for oid, mac in rows:
        arcs = oid[len(prefix) :].split(".") if oid.startswith(prefix) else []
        if len(arcs) == 5 and mac:
            texts[f"arp:{'.'.join(arcs[1:])}"] = hex_text(mac)
    return texts


def memory_values(storage: Mapping[str, Mapping[str, int]]) -> dict[str, float]:
    """mem_* values from hrStorage rows of type RAM: {index: {"units", "size", "used"}} (several are summed)."""
    size = sum(row["units"] * row["size"] for row in storage.values())
    used = sum(row["units"] * row["used"] for row in storage.values())
    if not size:
        return {}
    return {"mem_size_bytes": float(size), "mem_used_bytes": float(used), "mem_used_pct": round(100 * used / size, 2)}


class SnmpProber:
    """One SNMP engine for all SNMP polls of a poller, and the named credentials."""

    def __init__(self, credentials: Mapping[str, SnmpCredential]) -> None:
        self.credentials = credentials
        self._engine: SnmpEngine | None = None

    async def probe(
        self, ip: str, credential: str, params: Mapping[str, str], timeout: float, interval_s: int
    ) -> Measurement:
        """Get sysUpTime.0 plus params oids; walk params walk; resources=true adds CPU and memory, arp=true
        the ARP table (texts "arp:<ip>"). port (161) and max_rows (1000 per walk) may be set.

        values uptime_s, and restarted = 1 when the agent has been up for less than the polling interval,
        that is, it restarted since the previous poll (known without remembering that poll, so this holds
        across poller restarts and when another poller ran the previous poll).
        """
        if not credential:
            raise Unpollable("the node names no SNMP credential")
        if credential not in self.credentials:
            raise Unpollable(f"SNMP credential {credential!r} is not in the credentials file")
        oids = [SYS_UPTIME, *(resolve(n) for n in params.get("oids", "").split(",") if n.strip())]
        walk = params.get("walk", "").strip()
        subtree = resolve(walk) if walk else ""
        max_rows = int_param(params, "max_rows", 1000, 1, 100_000)
        resources, arp = bool_param(params, "resources", False), bool_param(params, "arp", False)
        session = _Session(self._engine_now(), self.credentials[credential], ip, port_param(params, 161), timeout)
        values: dict[str, float] = {}
        texts: dict[str, str] = {}
        try:
            await session.transport()
            for oid, value in await session.get(list(dict.fromkeys(oids))):
                store(values, texts, oid, value)
            if subtree:
                async for oid, value in session.walk(subtree, max_rows):
                    store(values, texts, oid, value)
            if resources:
                values.update(await _resources(session, max_rows))
            if arp:
                rows = [
                    (oid, bytes(v.asOctets()))
                    async for oid, v in session.walk(IP_NET_TO_MEDIA_PHYS, max_rows)
                    if isinstance(v, univ.OctetString) and not isinstance(v, univ.Null)
                ]
                table = arp_texts(rows)
                texts.update(table)
                values["arp_entries"] = float(len(table))
        except SnmpFailed as exc:
            return fail(str(exc), values, texts)
        uptime = values.get(short_name(SYS_UPTIME))
        if uptime is not None:
            values["uptime_s"] = uptime / 100
            values["restarted"] = 1.0 if uptime / 100 < interval_s else 0.0
        return ok(values, texts)

    def _engine_now(self) -> SnmpEngine:
        if self._engine is None:
            self._engine = SnmpEngine()
        return self._engine

    def close(self) -> None:
        if self._engine is not None:
            self._engine.close_dispatcher()
            self._engine = None


class _Session:
    """The requests of one poll to one agent."""

    def __init__(self, engine: SnmpEngine, credential: SnmpCredential, ip: str, port: int, timeout: float) -> None:
        self.engine = engine
        self.credential = credential
        self.auth = auth_data(credential)
        self.ip, self.port, self.timeout = ip, port, timeout
        self.target: UdpTransportTarget | Udp6TransportTarget | None = None

    async def transport(self) -> None:
        kind = Udp6TransportTarget if ":" in self.ip else UdpTransportTarget
        try:
            self.target = await kind.create((self.ip, self.port), timeout=self.timeout, retries=0)
        except Exception as exc:
            raise Unpollable(f"bad SNMP address {self.ip}:{self.port}: {exc}") from None

    async def get(self, oids: list[str]) -> list[tuple[str, Any]]:
        error, status, index, varbinds = await get_cmd(
            self.engine, self.auth, self.target, ContextData(), *map(_object, oids), lookupMib=False
        )
        self._check(error, status, index, oids)
        return [(str(oid), value) for oid, value in varbinds]

    async def walk(self, subtree: str, max_rows: int) -> AsyncIterator[tuple[str, Any]]:
        """The rows under subtree, at most max_rows; v1 walks with GETNEXT, later versions with GETBULK."""
        if self.credential.mode == "v1":
            rows = walk_cmd(self.engine, self.auth, self.target, ContextData(), _object(subtree), **_WALK)
        else:
            rows = bulk_walk_cmd(
                self.engine, self.auth, self.target, ContextData(), 0, MAX_REPETITIONS, _object(subtree), **_WALK
            )
        seen = 0
        async for error, status, index, varbinds in rows:
            self._check(error, status, index, [subtree])
            for oid, value in varbinds:
                if seen >= max_rows:
                    return
                seen += 1
                yield str(oid), value

    def _check(self, error: object, status: object, index: object, oids: Sequence[str]) -> None:
        if error:
            raise SnmpFailed(f"{self.ip}:{self.port}: {error}")
        if status:
            at = int(str(index or 0)) - 1
            where = f" at {short_name(oids[at])}" if 0 <= at < len(oids) else ""
            text = status.prettyPrint() if hasattr(status, "prettyPrint") else str(status)
            raise SnmpFailed(f"{self.ip}:{self.port}: {text}{where}")


_WALK = {"lookupMib": False, "lexicographicMode": False}


def _object(oid: str) -> ObjectType:
    return ObjectType(ObjectIdentity(oid))


async def _resources(session: _Session, max_rows: int) -> dict[str, float]:
    """cpu_load_pct (hrProcessorLoad averaged over processors) and mem_* (hrStorage RAM), where the agent has them."""
    values: dict[str, float] = {}
    loads = [int(v) async for _, v in session.walk(HR_PROCESSOR_LOAD, max_rows) if isinstance(v, univ.Integer)]
    if loads:
        values["cpu_load_pct"] = round(sum(loads) / len(loads), 2)
        values["cpu_count"] = float(len(loads))
    ram = [
        oid.rpartition(".")[2]
        async for oid, v in session.walk(HR_STORAGE_TYPE, max_rows)
        if isinstance(v, univ.ObjectIdentifier) and str(v) == HR_STORAGE_RAM
    ]
    if ram:
        columns = {"units": HR_STORAGE_UNITS, "size": HR_STORAGE_SIZE, "used": HR_STORAGE_USED}
        oids = [f"{column}.{index}" for index in ram for column in columns.values()]
        got = dict(await session.get(oids))
        storage = {
            index: {name: int(got[f"{column}.{index}"]) for name, column in columns.items()}
            for index in ram
            if all(isinstance(got.get(f"{column}.{index}"), univ.Integer) for column in columns.values())
        }
        values.update(memory_values(storage))
    return values
