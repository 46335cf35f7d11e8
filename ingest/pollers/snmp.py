"""SNMP probe (pysnmp 7, v3arch asyncio): gets, a walk, host resources and the ARP table of one agent.

Keys are MIB names without their module (schemas.mib_names: "sysUpTime.0", "ifOperStatus.2"), dotted
OIDs where the table knows no name. Numeric types (integers, counters, gauges, time ticks) go to values,
everything else to texts. The credential is looked up by the name the node gives; its secrets go to
pysnmp and nowhere else. The requests themselves are common.snmp.session's; this module makes a poll of
their answers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pyasn1.type import univ
from pysnmp.hlapi.v3arch.asyncio import SnmpEngine

from common.snmp import session as snmp_session
from common.snmp.credentials import SnmpCredential
from common.snmp.session import Agent, ErrorStatus, SnmpError
from common.snmp.text import hex_text, value_text
from ingest.pollers.probe import BadParam, Measurement, Unpollable, bool_param, fail, int_param, ok, port_param
from schemas.mib_names import oid_of, short_name

SYS_UPTIME = "1.3.6.1.2.1.1.3.0"
HR_PROCESSOR_LOAD = "1.3.6.1.2.1.25.3.3.1.2"
HR_STORAGE_TYPE = "1.3.6.1.2.1.25.2.3.1.2"
HR_STORAGE_RAM = "1.3.6.1.2.1.25.2.1.2"
HR_STORAGE_UNITS, HR_STORAGE_SIZE, HR_STORAGE_USED = (f"1.3.6.1.2.1.25.2.3.1.{n}" for n in (4, 5, 6))
IP_NET_TO_MEDIA_PHYS = "1.3.6.1.2.1.4.22.1.2"


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
        port = port_param(params, 161)
        try:
            agent = await snmp_session.open_agent(
                self._engine_now(), self.credentials[credential], ip, port, timeout=timeout, retries=0
            )
        except Exception as exc:
            raise Unpollable(f"bad SNMP address {ip}:{port}: {exc}") from None
        values: dict[str, float] = {}
        texts: dict[str, str] = {}
        try:
            for oid, value in await snmp_session.get(agent, list(dict.fromkeys(oids))):
                store(values, texts, oid, value)
            if subtree:
                async for oid, value in snmp_session.walk(agent, subtree, max_rows):
                    store(values, texts, oid, value)
            if resources:
                values.update(await _resources(agent, max_rows))
            if arp:
                rows = [
                    (oid, bytes(v.asOctets()))
                    async for oid, v in snmp_session.walk(agent, IP_NET_TO_MEDIA_PHYS, max_rows)
                    if isinstance(v, univ.OctetString) and not isinstance(v, univ.Null)
                ]
                table = arp_texts(rows)
                texts.update(table)
                values["arp_entries"] = float(len(table))
        except SnmpError as exc:
            return fail(failure_text(ip, port, exc), values, texts)
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


def failure_text(ip: str, port: int, exc: SnmpError) -> str:
    """The error of a failed poll: the agent, what went wrong, and at which requested object if the agent said."""
    where = f" at {short_name(exc.oid)}" if isinstance(exc, ErrorStatus) and exc.oid is not None else ""
    return f"{ip}:{port}: {exc}{where}"


async def _resources(agent: Agent, max_rows: int) -> dict[str, float]:
    """cpu_load_pct (hrProcessorLoad averaged over processors) and mem_* (hrStorage RAM), where the agent has them."""
    values: dict[str, float] = {}
    loads = [
        int(v) async for _, v in snmp_session.walk(agent, HR_PROCESSOR_LOAD, max_rows) if isinstance(v, univ.Integer)
    ]
    if loads:
        values["cpu_load_pct"] = round(sum(loads) / len(loads), 2)
        values["cpu_count"] = float(len(loads))
    ram = [
        oid.rpartition(".")[2]
        async for oid, v in snmp_session.walk(agent, HR_STORAGE_TYPE, max_rows)
        if isinstance(v, univ.ObjectIdentifier) and str(v) == HR_STORAGE_RAM
    ]
    if ram:
        columns = {"units": HR_STORAGE_UNITS, "size": HR_STORAGE_SIZE, "used": HR_STORAGE_USED}
        oids = [f"{column}.{index}" for index in ram for column in columns.values()]
        got = dict(await snmp_session.get(agent, oids))
        storage = {
            index: {name: int(got[f"{column}.{index}"]) for name, column in columns.items()}
            for index in ram
            if all(isinstance(got.get(f"{column}.{index}"), univ.Integer) for column in columns.values())
        }
        values.update(memory_values(storage))
    return values
