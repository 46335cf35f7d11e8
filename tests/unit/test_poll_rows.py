"""Poll results -> polling_log, state, ip_address and certificates rows."""

import json

from processors.monitoring import poll_rows
from processors.monitoring.state_machine import NodeState, PollingState
from schemas.polls import PollResult

T = 1_732_250_000_000_000_000


def _result(**over) -> PollResult:
    fields = dict(
        polling_id="p1",
        node_id="n1",
        polling_name="ping",
        node_name="router",
        kind="ping",
        level="low",
        thresholds=[],
        logging=True,
        time_ns=T,
        duration_ns=2_500_000,
        outcome="ok",
        values={"rtt_ms": 1.5},
        texts={},
        error="",
    )
    fields.update(over)
    return PollResult(**fields)


def test_log_row_keeps_values_typed():
    row = poll_rows.log_row(_result(), "normal", "ok", 1, 2, 3)
    assert row["values"] == {"rtt_ms": 1.5}
    assert (row["time"], row["duration_ms"], row["state"], row["reason"]) == (T // 1000, 2.5, "normal", "ok")
    assert (row["kafka_partition"], row["kafka_offset"], row["seq"]) == (1, 2, 3)


def test_state_rows_take_times_from_results_and_version_from_the_caller():
    ps = PollingState("n1", "ping", "repair", T - 10_000, T, "ok", 0)
    row = poll_rows.polling_state_row("p1", ps, _result(), T + 5000)
    assert (row["state"], row["since"], row["last_time"], row["updated_at"]) == (
        "repair",
        (T - 10_000) // 1000,
        T // 1000,
        (T + 5000) // 1000,
    )
    assert json.loads(row["last_result"]) == {
        "duration_ms": 2.5,
        "error": "",
        "outcome": "ok",
        "texts": {},
        "time_ns": T,
        "values": {"rtt_ms": 1.5},
    }
    assert poll_rows.result_json(_result(values={"b": 1.0, "a": 2.0})) == poll_rows.result_json(
        _result(values={"a": 2.0, "b": 1.0})
    )
    ns = NodeState("router", "high", T, T, "ping: timeout", T)
    assert poll_rows.node_state_row("n1", ns, T) == {
        "node_id": "n1",
        "node_name": "router",
        "state": "high",
        "since": T // 1000,
        "updated_at": T // 1000,
    }


def test_arp_texts_become_ip_address_rows():
    result = _result(
        kind="snmp", texts={"arp:192.0.2.5": "AA:BB:CC:00:11:22", "arp:": "x", "arp:192.0.2.6": "", "sysName": "r1"}
    )
    t = T // 1000
    assert poll_rows.arp_rows(result) == [
        {"ip": "192.0.2.5", "mac": "aa:bb:cc:00:11:22", "first_seen": t, "last_seen": t, "learnt_from": "n1"}
    ]


def test_certificate_row_from_tls_texts():
    texts = {
        "subject": "CN=example.test",
        "issuer": "CN=Test CA",
        "serial": "0A1B",
        "verified": "false",
        "not_before": "Jun  1 12:00:00 2024 GMT",
        "not_after": "2034-06-01T12:00:00+00:00",
        "error": "self-signed",
        "server": "example.test",
        "port": "8443",
    }
    values = poll_rows.certificate_row(_result(kind="tls", polling_id="pt", texts=texts))
    assert values is not None
    assert (values["server"], values["port"], values["serial"], values["polling_id"]) == (
        "example.test",
        8443,
        "0A1B",
        "pt",
    )
    assert values["not_before"] == 1_717_243_200_000_000
    assert values["not_after"] == 2_032_776_000_000_000
    assert (values["verified"], values["error"], values["first_seen"]) == (False, "self-signed", T // 1000)
    defaults = poll_rows.certificate_row(_result(kind="tls", texts={"serial": "01", "port": "x", "not_after": "soon"}))
    assert defaults is not None
    assert (defaults["server"], defaults["port"], defaults["not_after"]) == ("router", 443, 0)
    assert poll_rows.certificate_row(_result(kind="tls", texts={})) is None
    assert poll_rows.certificate_row(_result(kind="http", texts={"serial": "01"})) is None
