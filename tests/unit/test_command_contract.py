"""schemas.commands and schemas.command_args: the wire format, sealed secrets and argument checks."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import msgspec
import pytest

from common import sealing
from schemas import command_args, commands
from schemas.command_args import ArgError, check
from schemas.commands import Command, Step


def test_command_and_step_round_trip() -> None:
    command = Command(id="c1", time_ns=5, actor="ops", tool="do_ping", args={"target": "127.0.0.1"})
    assert commands.decode_command(commands.encode(command)) == command
    step = Step(command_id="c1", step="executed", time_ns=6, actor="executor", result='{"a":1}')
    assert commands.decode_step(commands.encode(step)) == step
    assert step.final and not Step(command_id="c1", step="executing", time_ns=1, actor="x").final


@pytest.mark.parametrize(
    "raw",
    [
        b"not json",
        b'{"id":"c","time_ns":1,"actor":"a","tool":"rm -rf"}',
        b'{"kind":"approve","id":"c","time_ns":1,"actor":"a"}',
        b'{"id":"c","actor":"a","tool":"do_ping"}',
    ],
)
def test_bad_commands_are_refused(raw: bytes) -> None:
    with pytest.raises((msgspec.DecodeError, msgspec.ValidationError)):
        commands.decode_command(raw)


def test_unknown_step_is_refused() -> None:
    with pytest.raises(msgspec.ValidationError):
        commands.decode_step(b'{"command_id":"c","step":"teleported","time_ns":1,"actor":"a"}')


def test_sealed_secrets_open_only_for_their_command_and_key(tmp_path: Path) -> None:
    key = sealing.load_or_create_key(tmp_path / "command.key")
    assert stat.S_IMODE(os.stat(tmp_path / "command.key").st_mode) == 0o600
    assert sealing.load_or_create_key(tmp_path / "command.key") == key
    sealed = sealing.seal(key, "c1", {"community": "s3cret-community"})
    assert "s3cret" not in sealed
    assert sealing.unseal(key, "c1", sealed) == {"community": "s3cret-community"}
    with pytest.raises(sealing.SealError):
        sealing.unseal(key, "c2", sealed)
    with pytest.raises(sealing.SealError):
        sealing.unseal(os.urandom(32), "c1", sealed)
    with pytest.raises(sealing.SealError):
        sealing.unseal(key, "c1", sealed[:-4] + "AAAA")
    assert sealing.unseal(key, "c1", "") == {}


def test_a_bad_key_file_is_named(tmp_path: Path) -> None:
    (tmp_path / "k").write_text("short\n")
    with pytest.raises(ValueError, match="k: expected 64 hex digits"):
        sealing.load_or_create_key(tmp_path / "k")


def test_audit_args_name_secrets_without_values() -> None:
    command = Command(
        id="c", time_ns=1, actor="a", tool="snmpset", args={"target": "n1"}, secret_keys=["community"], sealed="x"
    )
    assert commands.audit_args(command) == '{"community":"(sealed)","target":"n1"}'


def test_ping_defaults_and_bounds() -> None:
    assert check("do_ping", {"target": " 127.0.0.1 "}) == {"target": "127.0.0.1", "size": 64, "ttl": 254, "timeout": 2}
    for name, bad in (("size", 63), ("size", 1501), ("ttl", 0), ("ttl", 255), ("timeout", 11), ("size", "x")):
        with pytest.raises(ArgError, match=f"^{name}: an integer"):
            check("do_ping", {"target": "h", name: bad})
    with pytest.raises(ArgError, match=r"^target: required"):
        check("do_ping", {})


def test_snmpset_types_and_values() -> None:
    ok = check("snmpset", {"target": "n", "mib_object_name": "sysContact.0", "type": "STRING", "value": " a b "})
    assert ok["oid"] == "1.3.6.1.2.1.1.4.0" and ok["type"] == "string" and ok["value"] == " a b "
    assert check("snmpset", {"target": "n", "mib_object_name": "1.3.6.1.2.1.1.6.0", "type": "integer", "value": "-5"})
    for set_type, value in (
        ("integer", "2147483648"),
        ("counter32", "-1"),
        ("gauge32", "4294967296"),
        ("timeticks", "x"),
        ("ipaddress", "300.1.1.1"),
        ("oid", "iso"),
    ):
        with pytest.raises(ArgError, match=f"^value: {set_type}"):
            check("snmpset", {"target": "n", "mib_object_name": "sysContact.0", "type": set_type, "value": value})
    with pytest.raises(ArgError, match=r"^type: required"):
        check("snmpset", {"target": "n", "mib_object_name": "sysContact.0", "value": "v"})
    with pytest.raises(ArgError, match=r"^mib_object_name: unknown MIB object"):
        check("snmpwalk", {"target": "n", "mib_object_name": "noSuchThing"})
    with pytest.raises(ArgError, match=r"^snmp_mode: one of"):
        check("snmpwalk", {"target": "n", "mib_object_name": "system", "snmp_mode": "v4"})


def test_node_arguments() -> None:
    added = check("add_node", {"name": "sw1", "ip": "192.0.2.1"})
    assert added == {"name": "sw1", "ip": "192.0.2.1", "icon": "desktop", "description": "", "x": 64, "y": 64}
    with pytest.raises(ArgError, match=r"^ip: an IPv4 or IPv6 address"):
        check("add_node", {"name": "sw1", "ip": "sw1.example"})
    with pytest.raises(ArgError, match=r"^x: an integer 1-1000"):
        check("add_node", {"name": "sw1", "ip": "192.0.2.1", "x": 1001})
    updated = check("update_node", {"id": "sw1", "ip": "192.0.2.9", "x": 0, "name": ""})
    assert updated == {"id": "sw1", "ip": "192.0.2.9"}
    with pytest.raises(ArgError, match="at least one of"):
        check("update_node", {"id": "sw1"})
    assert check("add_event_log", {"event": "hello"}) == {"level": "info", "node": "", "event": "hello"}
    with pytest.raises(ArgError, match=r"^level: one of"):
        check("add_event_log", {"event": "hello", "level": "panic"})
    with pytest.raises(ArgError, match=r"^reason: at most"):
        command_args.check_reason("x" * 501)
