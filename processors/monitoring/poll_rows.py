"""Poll results and the states they lead to -> rows of polling_log, polling_state, node_state, ip_address
and certificates. Pure: shaping only; the state machine (processors.monitoring.state_machine) decides the states.

Every time written comes from the results, never from the clock, so replaying the poll topic writes the
same rows. The states' updated_at (their ReplacingMergeTree version) is the caller's partition
watermark, the newest result time seen so far in the partition: it never goes back, even when a slow
poll completes after a later one, and it is the same on every replay.
"""

from __future__ import annotations

import datetime as dt

import msgspec

from processors.monitoring.state_machine import NodeState, PollingState
from processors.projector import Row
from processors.tables.column_values import UINT16, bounded, micros
from schemas.polls import PollResult

ARP_PREFIX = "arp:"
"""SNMP results name ARP entries (ipNetToMediaPhysAddress) as texts "arp:<ip>" = "<mac>"."""
DEFAULT_TLS_PORT = 443
_json = msgspec.json.Encoder(order="sorted")


def log_row(result: PollResult, state: str, reason: str, partition: int, offset: int, seq: int) -> Row:
    """The polling_log row of one result; state is the polling's state after it, reason why."""
    return {
        "time": micros(result.time_ns),
        "polling_id": result.polling_id,
        "node_id": result.node_id,
        "polling_name": result.polling_name,
        "node_name": result.node_name,
        "kind": result.kind,
        "outcome": result.outcome,
        "state": state,
        "reason": reason,
        "duration_ms": result.duration_ns / 1e6,
        "values": dict(result.values),
        "texts": dict(result.texts),
        "error": result.error,
        "kafka_partition": partition,
        "kafka_offset": offset,
        "seq": seq,
    }


def polling_state_row(polling_id: str, state: PollingState, last: PollResult, version_ns: int) -> Row:
    """The polling_state row of a polling after its newest result `last`."""
    return {
        "polling_id": polling_id,
        "node_id": state.node_id,
        "state": state.state,
        "since": micros(state.since_ns),
        "last_time": micros(state.last_result_ns),
        "last_reason": state.last_reason,
        "last_result": result_json(last),
        "updated_at": micros(version_ns),
    }


def node_state_row(node_id: str, state: NodeState, version_ns: int) -> Row:
    """The node_state row of a node."""
    return {
        "node_id": node_id,
        "node_name": state.node_name,
        "state": state.state,
        "since": micros(state.since_ns),
        "updated_at": micros(version_ns),
    }


def result_json(result: PollResult) -> str:
    """A result as TWSNMP's Result: JSON of what the poll found, keys sorted so it is the same on replay."""
    return _json.encode(
        {
            "time_ns": result.time_ns,
            "outcome": result.outcome,
            "duration_ms": result.duration_ns / 1e6,
            "values": result.values,
            "texts": result.texts,
            "error": result.error,
        }
    ).decode()


def arp_rows(result: PollResult) -> list[Row]:
    """ip_address rows from the ARP entries an SNMP result carries; learnt_from is the polled node's id."""
    t = micros(result.time_ns)
    return [
        {
            "ip": key[len(ARP_PREFIX) :],
            "mac": mac.lower(),
            "first_seen": t,
            "last_seen": t,
            "learnt_from": result.node_id,
        }
        for key, mac in result.texts.items()
        if key.startswith(ARP_PREFIX) and len(key) > len(ARP_PREFIX) and mac
    ]


def certificate_row(result: PollResult) -> Row | None:
    """The certificates row of a tls result that saw a certificate (texts has a serial), else None.

    The server and port come from the result's texts "server" and "port" (the poller fills them from the
    polling's params); without them, the node's name and port 443.
    """
    if result.kind != "tls" or not result.texts.get("serial"):
        return None
    texts = result.texts
    t = micros(result.time_ns)
    return {
        "server": texts.get("server") or result.node_name,
        "port": _port(texts.get("port", "")),
        "serial": texts["serial"],
        "polling_id": result.polling_id,
        "subject": texts.get("subject", ""),
        "issuer": texts.get("issuer", ""),
        "not_before": cert_time_us(texts.get("not_before", "")),
        "not_after": cert_time_us(texts.get("not_after", "")),
        "verified": texts.get("verified", "").strip().lower() in ("true", "1", "yes"),
        "error": texts.get("error", "") or result.error,
        "first_seen": t,
        "last_seen": t,
    }


def cert_time_us(text: str) -> int:
    """A certificate time as microseconds: ISO 8601 (naive means UTC), OpenSSL's "Jun  1 12:00:00 2030 GMT",
    or epoch seconds; 0 (1970) when it is none of these."""
    text = text.strip()
    if not text:
        return 0
    try:
        return micros(int(float(text) * 1e9))
    except (ValueError, OverflowError):
        pass
    for parse in (dt.datetime.fromisoformat, lambda s: dt.datetime.strptime(s, "%b %d %H:%M:%S %Y %Z")):
        try:
            when = parse(text)
        except ValueError:
            continue
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.UTC)
        return micros((when - _EPOCH) // dt.timedelta(microseconds=1) * 1000)
    return 0


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def _port(text: str) -> int:
    try:
        return bounded(int(text), *UINT16)
    except ValueError:
        return DEFAULT_TLS_PORT
