"""SNMPv3 notifications through pysnmp's own engine: USM authentication, decryption, time windows, reports.

netobs does no SNMPv3 crypto itself. Each v3 datagram is handed to a pysnmp SnmpEngine as if its
transport had received it; the engine calls back with the decrypted PDU (or reports why not), and
anything it sends (Reports for engine-id discovery and time sync, Responses to informs) goes out
through the receiver's socket. The PDU is then rendered by ingest.traps.decode like v1/v2c.

Engine ids. A trap's authoritative engine is its sender, so the keys must be localised to the
sender's engine id (RFC 3414 2.6). pysnmp 7.1 looks a user up by (engine id, user name) and then by a
wildcard engine id whose keys are localised to that wildcard, which cannot authenticate anything else;
net-snmp's snmptrapd wants `createUser -e ENGINEID` per sender. Here a configured user is localised to
a new engine id on first sight (the master keys are hashed once, so this is two short hashes) and
the entry is dropped again if that message fails authentication, so spoofed engine ids do not pile up;
at most max_engines learned entries are kept, oldest evicted. An inform's authoritative engine is this
receiver: the sender discovers our engine id and time through a Report, and the user entry
localised to our own engine id answers it.

pysnmp accepts an unauthenticated message for a known user when it is not the authoritative engine
(traps), so the security level each credential asks for (v3auth: authNoPriv, v3authpriv: authPriv) is
enforced here before anything is accepted or acknowledged.
"""

from __future__ import annotations

import collections
import logging
import time
from collections.abc import Callable, Iterable
from typing import Any

from pyasn1.codec.ber import encoder
from pyasn1.error import PyAsn1Error
from pysnmp.carrier.asyncio.dgram import udp, udp6
from pysnmp.carrier.base import AbstractTransportDispatcher
from pysnmp.entity import config
from pysnmp.entity.engine import SnmpEngine
from pysnmp.error import PySnmpError
from pysnmp.proto import errind, rfc3411
from pysnmp.proto.api import v2c

from common.snmp.credentials import SnmpCredential
from ingest.traps.decode import AUTH, DISCOVERY, MALFORMED, UNSUPPORTED, Accepted, Rejected, trap_from_pdu, v3_security

log = logging.getLogger("netobs.ingest")

Send = Callable[[bytes, tuple[str, int]], object]
"""Send a datagram to (host, port) from the receiver's socket."""

MAX_ENGINES = 4096
AUTH_PROTOCOLS = {
    "MD5": config.USM_AUTH_HMAC96_MD5,
    "SHA": config.USM_AUTH_HMAC96_SHA,
    "SHA224": config.USM_AUTH_HMAC128_SHA224,
    "SHA256": config.USM_AUTH_HMAC192_SHA256,
    "SHA384": config.USM_AUTH_HMAC256_SHA384,
    "SHA512": config.USM_AUTH_HMAC384_SHA512,
}
PRIV_PROTOCOLS = {
    "": config.USM_PRIV_NONE,
    "AES": config.USM_PRIV_CFB128_AES,
    "AES192": config.USM_PRIV_CFB192_AES_BLUMENTHAL,
    "AES256": config.USM_PRIV_CFB256_AES_BLUMENTHAL,
}
"""AES-192/256 key extension as net-snmp and gosnmp do it (draft-blumenthal-aes-usm-04)."""
NOTIFICATIONS = (v2c.SNMPv2TrapPDU.tagSet, v2c.InformRequestPDU.tagSet)
AUTH_NO_PRIV, AUTH_PRIV = 2, 3
AUTH_FLAG = 0x01
"""msgFlags bit of an authenticated message (RFC 3412 6.4)."""
_MALFORMED_INDICATIONS = (errind.ParseError, errind.InvalidMsg, errind.SerializationError)


class _SocketDispatcher(AbstractTransportDispatcher):
    """The transport side pysnmp's engine talks to: it sends through the receiver's socket, never receives."""

    def __init__(self, send: Send) -> None:
        super().__init__()
        self._send = send
        self.set_timer_resolution(1.0)

    def send_message(self, outgoingMessage: Any, transportDomain: Any, transportAddress: Any) -> None:
        self._send(bytes(outgoingMessage), (str(transportAddress[0]), int(transportAddress[1])))


class UsmReceiver:
    """Decodes SNMPv3 notifications for the configured v3 users; call from one thread only."""

    def __init__(self, users: Iterable[SnmpCredential], send: Send, max_engines: int = MAX_ENGINES) -> None:
        self._engine = SnmpEngine()
        self._dispatcher = _SocketDispatcher(send)
        self._engine.register_transport_dispatcher(self._dispatcher)
        self._engine.message_dispatcher.register_context_engine_id(b"", NOTIFICATIONS, self._notification)
        self._engine.observer.register_observer(self._security_failure, "rfc3412.prepareDataElements:sm-failure")
        self._local_id = bytes(self._engine.snmpEngineID)
        self._users: dict[bytes, tuple[SnmpCredential, dict[str, Any]]] = {}
        for credential in users:
            name = credential.user.encode()
            if name in self._users:
                first = self._users[name][0].name
                log.warning("v3 user %r is in the credentials file twice: traps use [%s]", credential.user, first)
                continue
            keys = _master_keys(credential)
            self._users[name] = (credential, keys)
            config.add_v3_user(self._engine, name, **keys)
        self._learned: collections.OrderedDict[tuple[bytes, bytes], None] = collections.OrderedDict()
        self._max_engines = max_engines
        self._outcome: Accepted | Rejected | None = None
        self._source = ""
        self._received_ns = 0
        (self._parse_errors,) = self._engine.get_mib_builder().import_symbols("__SNMPv2-MIB", "snmpInASNParseErrs")

    @property
    def engine_id(self) -> str:
        """This receiver's engine id in hex, for senders of informs that want it configured."""
        return self._local_id.hex()

    @property
    def users(self) -> int:
        return len(self._users)

    @property
    def learned_engines(self) -> int:
        """(sender engine id, user) pairs whose keys are localised now."""
        return len(self._learned)

    def tick(self) -> None:
        """Let the engine expire its caches (engine time lines, pending states); call about once a second."""
        self._dispatcher.handle_timer_tick(time.time())

    def receive(self, datagram: bytes, source: str, address: tuple[str, int], received_ns: int) -> Accepted | Rejected:
        """Run one v3 datagram from address (source is the sender as recorded) through the engine."""
        header = v3_security(datagram)
        if isinstance(header, Rejected):
            return header
        engine_id, user, flags = header
        if user and user not in self._users:
            return Rejected(AUTH, f"unknown v3 user {user.decode(errors='replace')!r}")
        if user and not flags & AUTH_FLAG:
            return Rejected(AUTH, f"v3 user {user.decode(errors='replace')!r} without authentication")
        learned = bool(user) and self._learn(engine_id, user)
        self._outcome = None
        self._source, self._received_ns = source, received_ns
        parse_errors = int(self._parse_errors.syntax)
        domain = udp6.DOMAIN_NAME if ":" in address[0] else udp.DOMAIN_NAME
        try:
            self._engine.message_dispatcher.receive_message(self._engine, domain, address, datagram)
        except (PySnmpError, PyAsn1Error, ValueError, TypeError, KeyError, IndexError) as exc:
            # the engine's own checks raise a few of these past its handlers on hostile input
            self._outcome = Rejected(MALFORMED, f"{type(exc).__name__}: {exc}")
        outcome = self._outcome
        if outcome is None:
            if int(self._parse_errors.syntax) != parse_errors:
                outcome = Rejected(MALFORMED, "undecodable SNMPv3 message")
            else:
                outcome = Rejected(UNSUPPORTED, "SNMPv3 message without a notification PDU")
        if learned and not isinstance(outcome, Accepted):
            self._forget(engine_id, user)
        return outcome

    def _learn(self, engine_id: bytes, user: bytes) -> bool:
        """Localise a configured user's keys to a sender's engine id not seen before; True if added now."""
        if engine_id == self._local_id or not 5 <= len(engine_id) <= 32:
            return False
        key = (engine_id, user)
        if key in self._learned:
            self._learned.move_to_end(key)
            return False
        if len(self._learned) >= self._max_engines:
            self._forget(*next(iter(self._learned)))
        config.add_v3_user(self._engine, user, securityEngineId=v2c.OctetString(engine_id), **self._users[user][1])
        self._learned[key] = None
        return True

    def _forget(self, engine_id: bytes, user: bytes) -> None:
        config.delete_v3_user(self._engine, user, securityEngineId=v2c.OctetString(engine_id))
        self._learned.pop((engine_id, user), None)

    def _security_failure(self, _engine: SnmpEngine, _point: str, variables: dict[str, Any], _ctx: Any) -> None:
        """Observer of USM failures: discovery and time-sync Reports are part of the protocol, the rest is auth."""
        indication = variables["statusInformation"].get("errorIndication")
        if isinstance(indication, errind.UnknownEngineID):
            self._outcome = Rejected(DISCOVERY, "engine id discovery")
        elif isinstance(indication, _MALFORMED_INDICATIONS):
            self._outcome = Rejected(MALFORMED, str(indication))
        else:
            self._outcome = Rejected(AUTH, str(indication))

    def _notification(
        self,
        engine: SnmpEngine,
        message_model: Any,
        security_model: Any,
        security_name: Any,
        security_level: int,
        context_engine_id: Any,
        context_name: Any,
        pdu_version: Any,
        pdu: Any,
        max_response_size: Any,
        state_reference: Any,
    ) -> None:
        """The engine's callback for an authenticated (or plain) notification: check the level, render, ack."""
        name = bytes(security_name)
        credential = self._users.get(name, (None, None))[0]
        required = AUTH_NO_PRIV if credential is None or credential.mode == "v3auth" else AUTH_PRIV
        if security_level < required:
            self._outcome = Rejected(AUTH, f"v3 user {name.decode(errors='replace')!r} below its security level")
            return
        outcome = trap_from_pdu(encoder.encode(pdu), self._source, self._received_ns, name.decode(errors="replace"))
        self._outcome = outcome
        if isinstance(outcome, Accepted) and pdu.tagSet in rfc3411.CONFIRMED_CLASS_PDUS:
            response = v2c.apiPDU.get_response(pdu)
            v2c.apiPDU.set_varbinds(response, v2c.apiPDU.get_varbinds(pdu))
            engine.message_dispatcher.return_response_pdu(
                engine,
                message_model,
                security_model,
                security_name,
                security_level,
                context_engine_id,
                context_name,
                pdu_version,
                response,
                max_response_size,
                state_reference,
                {},
            )


def _master_keys(credential: SnmpCredential) -> dict[str, Any]:
    """add_v3_user arguments with master keys (hashed once per user, RFC 3414 A.2), never the passphrases."""
    auth = AUTH_PROTOCOLS[credential.auth_protocol]
    priv = PRIV_PROTOCOLS[credential.priv_protocol]
    keys: dict[str, Any] = {
        "authProtocol": auth,
        "authKey": config.AUTH_SERVICES[auth].hash_passphrase(credential.auth_password.encode()),
        "authKeyType": config.USM_KEY_TYPE_MASTER,
        "privProtocol": priv,
    }
    if priv != config.USM_PRIV_NONE:
        keys["privKey"] = config.PRIV_SERVICES[priv].hash_passphrase(auth, credential.priv_password.encode())
        keys["privKeyType"] = config.USM_KEY_TYPE_MASTER
    return keys
