"""SNMP get, walk and set towards one agent, for the command executor (pysnmp 7, v3arch asyncio).

Results are rows an agent can read without knowing SNMP's encoding: {"Name", "OID", "Type", "Value"}, the
name being the MIB name with its index but without its module (schemas.mib_names). TWSNMP FK answers
snmpwalk and snmpset with [{Name, Value}]; OID and Type are added so nothing has to be guessed.

Every call has an SnmpEngine of its own, closed at the end. It costs about 50 ms of MIB loading, which a
command can afford, and it is what makes calls safe side by side: pysnmp keeps one USM entry per user
name in an engine, so two commands naming the same v3 user with different passwords (an agent passes
its own) would overwrite each other's keys in a shared engine; and v3 engine-id discovery starts afresh
each time, so an agent replaced behind the same address is never talked to with a stale engine id.

The requests are common.snmp.session's; this module adds what an action needs around them: the values
to set, the rows of results, and the messages. Messages of ActionFailed and ActionTimeout are meant for an
agent to read: they never carry a community or a password.
"""

from __future__ import annotations

import contextlib
import ipaddress
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from pysnmp.error import PySnmpError
from pysnmp.hlapi.v3arch.asyncio import SnmpEngine
from pysnmp.proto import errind, rfc1902

from common.snmp import session as snmp_session
from common.snmp.credentials import SnmpCredential
from common.snmp.session import NO_SUCH_NAME, Agent, ErrorStatus, NotIncreasing, RequestFailed
from common.snmp.text import value_text
from schemas.mib_names import oid_of, short_name

SET_TYPES = ("integer", "string", "oid", "ipaddress", "counter32", "gauge32", "timeticks")
MODES = ("v2c", "v3auth", "v3authpriv", "v3authprivex")
"""TWSNMP FK's snmp_mode values, for credentials an agent passes itself."""
MIN_PASSWORD = 8
"""RFC 3414 (and net-snmp) refuse shorter v3 passwords."""
MAX_STRING = 65535
INTEGER32 = (-(2**31), 2**31 - 1)
UNSIGNED32 = (0, 2**32 - 1)
_UNSIGNED = {"counter32": rfc1902.Counter32, "gauge32": rfc1902.Gauge32, "timeticks": rfc1902.TimeTicks}
_TYPE_NAMES = {"Integer32": "Integer", "ObjectName": "ObjectIdentifier", "Unsigned32": "Gauge32"}
"""pysnmp class names -> the SNMP type names results show (one name per wire type)."""
_EXCEPTIONS = {"NoSuchObject": "noSuchObject", "NoSuchInstance": "noSuchInstance", "EndOfMibView": "endOfMibView"}
_INDICATIONS = {
    errind.WrongDigest: "authentication failed: wrong SNMPv3 password or authentication protocol",
    errind.UnknownUserName: "the agent does not know this SNMPv3 user",
    errind.UnsupportedSecurityLevel: "the agent does not accept this security level for the user",
}


class ActionFailed(Exception):
    """The agent answered with an error, or the request cannot be made (bad OID, value, address)."""


class ActionTimeout(Exception):
    """No answer within timeout x (retries + 1)."""


def set_value(set_type: str, value: str) -> Any:
    """The pyasn1 value to send for a TWSNMP-style (type, value) pair; ValueError says what the type takes.

    Integers are read as command_args reads them (Python literals: 42, -1, 0x2a), so what the MCP service
    accepted is what is sent.
    """
    kind = set_type.strip().lower()
    if kind == "integer":
        return rfc1902.Integer32(_number(kind, value, *INTEGER32))
    if kind in _UNSIGNED:
        return _UNSIGNED[kind](_number(kind, value, *UNSIGNED32))
    if kind == "string":
        try:
            raw = value.encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError("string takes UTF-8 text; the value has characters UTF-8 cannot encode") from None
        if len(raw) > MAX_STRING:
            raise ValueError(f"string takes at most {MAX_STRING} bytes of UTF-8, got {len(raw)}")
        return rfc1902.OctetString(raw)
    if kind == "ipaddress":
        try:
            return rfc1902.IpAddress(ipaddress.IPv4Address(value.strip()).packed)
        except ValueError:
            raise ValueError(f"ipaddress takes a dotted IPv4 address such as 192.0.2.1, got {value!r}") from None
    if kind == "oid":
        return rfc1902.ObjectName(_dotted(value))
    raise ValueError(f"type is one of {', '.join(SET_TYPES)}, got {set_type!r}")


def _number(kind: str, value: str, low: int, high: int) -> int:
    try:
        number = int(value, 0)
    except ValueError:
        number = None
    if number is None or not low <= number <= high:
        raise ValueError(f"{kind} takes an integer {low}..{high}, got {value!r}")
    return number


def _dotted(value: str) -> str:
    """A dotted numeric OID that BER can encode (first arc 0-2, second below 40 under 0 and 1)."""
    text = value.strip()
    arcs = (text[1:] if text.startswith(".") else text).split(".")
    if len(arcs) < 2 or not all(a.isascii() and a.isdigit() for a in arcs) or int(arcs[0]) > 2:
        raise ValueError(f"oid takes a dotted numeric OID such as 1.3.6.1.4.1.8072, got {value!r}")
    if int(arcs[0]) < 2 and int(arcs[1]) >= 40:
        raise ValueError(f"oid: the second arc is below 40 when the first is 0 or 1, got {value!r}")
    return ".".join(str(int(a)) for a in arcs)


def credential_for(mode: str, community: str, user: str, password: str) -> SnmpCredential:
    """A credential from what an agent passed with the command, with TWSNMP FK's snmp_mode meanings.

    v2c: the community. v3auth: SHA, authNoPriv. v3authpriv: SHA and AES-128. v3authprivex: SHA-256 and
    AES-256 (net-snmp's key extension). One password serves authentication and privacy, as in TWSNMP FK.
    """
    kind = mode.strip().lower()
    if kind not in MODES:
        raise ValueError(f"snmp_mode is one of {', '.join(MODES)}, got {mode!r}")
    if kind == "v2c":
        if not community:
            raise ValueError("community: required with snmp_mode v2c")
        return SnmpCredential(name="(given)", mode=kind, community=community)
    if not user:
        raise ValueError(f"user: required with snmp_mode {kind}")
    if len(password) < MIN_PASSWORD:
        raise ValueError(f"password: required with snmp_mode {kind}, at least {MIN_PASSWORD} characters")
    priv = {"v3auth": "", "v3authpriv": "AES", "v3authprivex": "AES256"}[kind]
    return SnmpCredential(
        name="(given)",
        mode=kind,
        user=user,
        auth_protocol="SHA256" if kind == "v3authprivex" else "SHA",
        auth_password=password,
        priv_protocol=priv,
        priv_password=password if priv else "",
    )


def row(oid: Any, value: Any) -> dict[str, str]:
    """One varbind as a result row."""
    dotted = str(oid)
    kind = type(value).__name__
    if kind in _EXCEPTIONS:
        shown = text = _EXCEPTIONS[kind]
    else:
        shown, text = _TYPE_NAMES.get(kind, kind), value_text(value)
    return {"Name": short_name(dotted), "OID": dotted, "Type": shown, "Value": text}


@dataclass(frozen=True)
class _Call:
    """One call's agent, and what its messages may say about it."""

    agent: Agent
    credential: SnmpCredential
    where: str
    timeout: float
    retries: int

    @contextlib.contextmanager
    def failures(self, op: str, oids: Sequence[str]) -> Iterator[None]:
        """Failed requests about oids as ActionTimeout or ActionFailed, messages an agent may read."""
        label = ", ".join(short_name(o) for o in oids[:3]) + (", ..." if len(oids) > 3 else "")
        try:
            yield
        except PySnmpError as exc:
            raise ActionFailed(self._scrub(f"{op} {label}: {exc}")) from None
        except RequestFailed as exc:
            if isinstance(exc.indication, errind.RequestTimedOut):
                tries = "retry" if self.retries == 1 else "retries"
                raise ActionTimeout(
                    f"no answer from {self.where} within {self.timeout:g} s ({self.retries} {tries}); "
                    "a wrong community or SNMPv3 privacy password goes unanswered too"
                ) from None
            said = _INDICATIONS.get(type(exc.indication), str(exc))
            raise ActionFailed(self._scrub(f"{op} {label}: {said}")) from None
        except ErrorStatus as exc:
            raise ActionFailed(f"{op} {label if exc.oid is None else short_name(exc.oid)}: {exc}") from None
        except NotIncreasing as exc:
            raise ActionFailed(f"{op} {label}: {exc}") from None

    def _scrub(self, text: str) -> str:
        """pysnmp's own words, with any secret of the credential cut out (they are not expected there)."""
        c = self.credential
        for secret in (c.community, c.auth_password, c.priv_password):
            if secret:
                text = text.replace(secret, "(secret)")
        return text


@contextlib.asynccontextmanager
async def _call(ip: str, port: int, credential: SnmpCredential, timeout: float, retries: int) -> AsyncIterator[_Call]:
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        raise ActionFailed(f"not an IP address: {ip!r}") from None
    engine = SnmpEngine()
    try:
        agent = await snmp_session.open_agent(engine, credential, str(address), port, timeout=timeout, retries=retries)
        where = f"[{address}]:{port}" if address.version == 6 else f"{address}:{port}"
        yield _Call(agent, credential, where, timeout, retries)
    finally:
        engine.close_dispatcher()


def _oid(op: str, name: str) -> str:
    oid = oid_of(name)
    if oid is None:
        raise ActionFailed(f"{op}: unknown MIB object {name!r}; give a name such as sysContact.0 or a dotted OID")
    return oid


async def snmp_get(
    ip: str, port: int, credential: SnmpCredential, oids: Sequence[str], *, timeout: float, retries: int
) -> list[dict[str, str]]:
    """The values of oids (names or dotted), in order; a missing one is a row of type noSuchObject/Instance."""
    wanted = [_oid("snmpget", o) for o in oids]
    async with _call(ip, port, credential, timeout, retries) as call:
        with call.failures("snmpget", wanted):
            varbinds = await snmp_session.get(call.agent, wanted)
    return [row(oid, value) for oid, value in varbinds]


async def snmp_walk(
    ip: str, port: int, credential: SnmpCredential, oid: str, *, timeout: float, retries: int, max_rows: int
) -> tuple[list[dict[str, str]], bool]:
    """The rows under oid (at most max_rows) and whether more were there.

    The walk asks for one row more than fits, so truncation is known without fetching the rest. A walk of a
    single instance (sysContact.0) finds nothing under it and answers with the instance itself, as
    net-snmp's snmpwalk does.
    """
    if max_rows < 1:
        raise ValueError(f"max_rows is at least 1, got {max_rows}")
    root = _oid("snmpwalk", oid)
    async with _call(ip, port, credential, timeout, retries) as call:
        with call.failures("snmpwalk", [root]):
            found = [r async for r in snmp_session.walk(call.agent, root, max_rows + 1)]
            if not found:
                found = [(name, value) for name, value in await _instance(call.agent, root) if _exists(value)]
    return [row(name, value) for name, value in found[:max_rows]], len(found) > max_rows


async def _instance(agent: Agent, oid: str) -> list[tuple[str, Any]]:
    """GET of oid itself; SNMPv1's noSuchName means it is not there, as at the end of a walk."""
    try:
        return await snmp_session.get(agent, [oid])
    except ErrorStatus as exc:
        if exc.status != NO_SUCH_NAME:
            raise
        return []


def _exists(value: Any) -> bool:
    return type(value).__name__ not in _EXCEPTIONS


async def snmp_set(
    ip: str,
    port: int,
    credential: SnmpCredential,
    oid: str,
    set_type: str,
    value: str,
    *,
    timeout: float,
    retries: int,
) -> list[dict[str, str]]:
    """Set one object with one SET request; the varbinds the agent answered with.

    A retry resends the same request, so a SET whose answer was lost may be applied twice: harmless for
    the usual writable objects (sysContact, ifAdminStatus), and retries 0 avoids it where it is not.
    """
    target = _oid("snmpset", oid)
    try:
        typed = set_value(set_type, value)
    except ValueError as exc:
        raise ActionFailed(f"snmpset {short_name(target)}: {exc}") from None
    async with _call(ip, port, credential, timeout, retries) as call:
        with call.failures("snmpset", [target]):
            varbinds = await snmp_session.set_object(call.agent, target, typed)
    return [row(name, value) for name, value in varbinds]
