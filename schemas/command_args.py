"""The arguments of each action tool: names, bounds and defaults (TWSNMP FK's), checked the same way twice.

The MCP service checks them to give an agent a message it can act on before anything is published; the
executor checks them again, because it trusts nothing it reads from a topic. Pure.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import Any

from schemas.mib_names import oid_of

SNMP_MODES = ("", "v2c", "v3auth", "v3authpriv", "v3authprivex")
"""Blank: the node's own credential."""
SET_TYPES = ("integer", "string", "oid", "ipaddress", "counter32", "gauge32", "timeticks")
EVENT_LEVELS = ("info", "normal", "warn", "low", "high")
MAX_TEXT = 1024
MAX_EVENT = 4096
MAX_REASON = 500


class ArgError(ValueError):
    """An argument is missing or out of bounds; the message names it."""


def _text(
    args: Mapping[str, Any], name: str, *, required: bool = False, limit: int = MAX_TEXT, strip: bool = True
) -> str:
    value = args.get(name, "")
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise ArgError(f"{name}: a string, got {type(value).__name__}")
    value = value.strip() if strip else value
    if required and not value:
        raise ArgError(f"{name}: required")
    if len(value) > limit or "\x00" in value:
        raise ArgError(f"{name}: at most {limit} characters and no NUL")
    return value


def _int(args: Mapping[str, Any], name: str, default: int, low: int, high: int) -> int:
    value = args.get(name)
    if value is None or value == "":
        return default
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ArgError(f"{name}: an integer {low}-{high}, got {value!r}")
    try:
        number = int(value) if not isinstance(value, float) or value.is_integer() else None
    except ValueError:
        number = None
    if number is None or not low <= number <= high:
        raise ArgError(f"{name}: an integer {low}-{high}, got {value!r}")
    return number


def _choice(args: Mapping[str, Any], name: str, choices: tuple[str, ...], default: str) -> str:
    value = _text(args, name).lower() or default
    if value not in choices:
        raise ArgError(f"{name}: one of {', '.join(c for c in choices if c)}, got {value!r}")
    return value


def _ip(value: str, name: str) -> str:
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        raise ArgError(f"{name}: an IPv4 or IPv6 address, got {value!r}") from None


def _oid(args: Mapping[str, Any]) -> str:
    name = _text(args, "mib_object_name", required=True, limit=256)
    oid = oid_of(name)
    if oid is None:
        raise ArgError(
            f"mib_object_name: unknown MIB object {name!r}; give a name such as sysContact.0 or a dotted OID"
        )
    return oid


def _snmp_common(args: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "target": _text(args, "target", required=True, limit=256),
        "mib_object_name": _text(args, "mib_object_name", required=True, limit=256),
        "oid": _oid(args),
        "snmp_mode": _choice(args, "snmp_mode", SNMP_MODES, ""),
        "user": _text(args, "user", limit=128),
    }


def _set_value(set_type: str, value: str) -> None:
    """The value fits its type (the executor builds the SNMP value from the same rules)."""
    if set_type in ("integer", "counter32", "gauge32", "timeticks"):
        low, high = (-(2**31), 2**31 - 1) if set_type == "integer" else (0, 2**32 - 1)
        try:
            number = int(value, 0)
        except ValueError:
            number = None
        if number is None or not low <= number <= high:
            raise ArgError(f"value: {set_type} takes an integer {low}..{high}, got {value!r}")
    elif set_type == "ipaddress":
        try:
            ipaddress.IPv4Address(value)
        except ValueError:
            raise ArgError(f"value: ipaddress takes a dotted IPv4 address, got {value!r}") from None
    elif set_type == "oid" and (value.count(".") < 1 or not all(p.isdigit() for p in value.strip(".").split("."))):
        raise ArgError(f"value: oid takes a dotted OID such as 1.3.6.1.4.1.8072, got {value!r}")


def check(tool: str, args: Mapping[str, Any]) -> dict[str, Any]:
    """The tool's arguments, normalised, with defaults filled in; ArgError names the first bad one.

    Secrets (community, password) are not part of args: they travel sealed (schemas.commands).
    """
    if tool == "do_ping":
        return {
            "target": _text(args, "target", required=True, limit=256),
            "size": _int(args, "size", 64, 64, 1500),
            "ttl": _int(args, "ttl", 254, 1, 254),
            "timeout": _int(args, "timeout", 2, 1, 10),
        }
    if tool == "snmpwalk":
        return _snmp_common(args)
    if tool == "snmpset":
        setting = _snmp_common(args)
        if not _text(args, "type"):
            raise ArgError(f"type: required, one of {', '.join(SET_TYPES)}")
        setting["type"] = _choice(args, "type", SET_TYPES, "")
        setting["value"] = _text(args, "value", limit=65535, strip=False)
        _set_value(setting["type"], setting["value"])
        return setting
    if tool == "add_node":
        return {
            "name": _text(args, "name", required=True, limit=256),
            "ip": _ip(_text(args, "ip", required=True, limit=64), "ip"),
            "icon": _text(args, "icon", limit=64) or "desktop",
            "description": _text(args, "description"),
            "x": _int(args, "x", 64, 1, 1000),
            "y": _int(args, "y", 64, 1, 1000),
        }
    if tool == "update_node":
        checked: dict[str, Any] = {"id": _text(args, "id", required=True, limit=256)}
        for name, limit in (("name", 256), ("icon", 64), ("description", MAX_TEXT)):
            if _text(args, name, limit=limit):
                checked[name] = _text(args, name, limit=limit)
        if _text(args, "ip", limit=64):
            checked["ip"] = _ip(_text(args, "ip", limit=64), "ip")
        for name in ("x", "y"):
            if args.get(name) not in (None, "", 0):
                checked[name] = _int(args, name, 64, 1, 1000)
        if len(checked) == 1:
            raise ArgError("update_node: give at least one of name, ip, icon, description, x, y to change")
        return checked
    if tool == "add_event_log":
        return {
            "level": _choice(args, "level", EVENT_LEVELS, "info"),
            "node": _text(args, "node", limit=256),
            "event": _text(args, "event", required=True, limit=MAX_EVENT),
        }
    raise ArgError(f"unknown action tool {tool!r}")


def check_reason(reason: str | None) -> str:
    """The caller's optional reason for an action, kept in the audit."""
    return _text({"reason": reason}, "reason", limit=MAX_REASON)
