"""SNMP credentials, by name, from their own TOML file (mode 0600 advised), never from a topic or table.

Nodes name a credential; the trap receiver takes its v3 users and communities from here too. The file:

    [core-v2]
    mode = "v2c"
    community = "s3cret"

    [core-v3]
    mode = "v3authpriv"          # v3auth (authNoPriv), v3authpriv (AES-128), v3authprivex (AES-256)
    user = "netobs"
    auth_protocol = "SHA"        # MD5, SHA, SHA224, SHA256, SHA384, SHA512
    auth_password = "..."        # at least 8 characters
    priv_protocol = "AES"        # AES (128), AES192, AES256; taken from mode when absent
    priv_password = "..."

repr() of a credential never shows a secret, so one cannot leak through a log line. auth_data turns a
credential into pysnmp's security parameters, for every stage that speaks SNMP with one.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from pysnmp.hlapi.v3arch.asyncio import (
    CommunityData,
    UsmUserData,
    usmAesBlumenthalCfb192Protocol,
    usmAesBlumenthalCfb256Protocol,
    usmAesCfb128Protocol,
    usmHMAC128SHA224AuthProtocol,
    usmHMAC192SHA256AuthProtocol,
    usmHMAC256SHA384AuthProtocol,
    usmHMAC384SHA512AuthProtocol,
    usmHMACMD5AuthProtocol,
    usmHMACSHAAuthProtocol,
)

from common.config import ConfigError

MODES = ("v1", "v2c", "v3auth", "v3authpriv", "v3authprivex")
AUTH_PROTOCOLS = ("MD5", "SHA", "SHA224", "SHA256", "SHA384", "SHA512")
PRIV_PROTOCOLS = ("AES", "AES192", "AES256")
AUTH = {
    "MD5": usmHMACMD5AuthProtocol,
    "SHA": usmHMACSHAAuthProtocol,
    "SHA224": usmHMAC128SHA224AuthProtocol,
    "SHA256": usmHMAC192SHA256AuthProtocol,
    "SHA384": usmHMAC256SHA384AuthProtocol,
    "SHA512": usmHMAC384SHA512AuthProtocol,
}
PRIV = {
    "AES": usmAesCfb128Protocol,
    "AES192": usmAesBlumenthalCfb192Protocol,
    "AES256": usmAesBlumenthalCfb256Protocol,
}
"""AES-192/256 keys are extended as net-snmp's AES-192/AES-256 do (Blumenthal draft), not Cisco's (Reeder)."""


@dataclass(frozen=True)
class SnmpCredential:
    """One named credential; secrets are excluded from repr and comparison output."""

    name: str
    mode: str
    community: str = field(default="", repr=False)
    user: str = ""
    auth_protocol: str = "SHA"
    auth_password: str = field(default="", repr=False)
    priv_protocol: str = ""
    priv_password: str = field(default="", repr=False)

    @property
    def is_v3(self) -> bool:
        return self.mode.startswith("v3")


def auth_data(credential: SnmpCredential) -> CommunityData | UsmUserData:
    """pysnmp's security parameters for a credential."""
    if not credential.is_v3:
        return CommunityData(credential.community, mpModel=0 if credential.mode == "v1" else 1)
    if credential.mode == "v3auth":
        return UsmUserData(credential.user, credential.auth_password, authProtocol=AUTH[credential.auth_protocol])
    return UsmUserData(
        credential.user,
        credential.auth_password,
        credential.priv_password,
        authProtocol=AUTH[credential.auth_protocol],
        privProtocol=PRIV[credential.priv_protocol],
    )


def load(path: str | Path) -> dict[str, SnmpCredential]:
    """Read and check the credentials file; a mistake names the credential and the key."""
    try:
        raw = tomllib.loads(Path(path).read_text())
    except FileNotFoundError:
        raise ConfigError(f"SNMP credentials file {path} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"SNMP credentials file {path} is not valid TOML: {exc}") from None
    return {name: _credential(name, table, str(path)) for name, table in raw.items()}


def _credential(name: str, table: object, origin: str) -> SnmpCredential:
    where = f"[{name}] in {origin}"
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: must be a table")
    known = {"mode", "community", "user", "auth_protocol", "auth_password", "priv_protocol", "priv_password"}
    unknown = set(table) - known
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {sorted(unknown)}; known: {sorted(known)}")
    values = {k: str(v) for k, v in table.items()}
    mode = values.get("mode", "v2c")
    if mode not in MODES:
        raise ConfigError(f"{where}: mode is one of {MODES}, got {mode!r}")
    if not mode.startswith("v3"):
        if not values.get("community"):
            raise ConfigError(f"{where}: mode {mode} needs a community")
        return SnmpCredential(name=name, mode=mode, community=values["community"])
    if not values.get("user"):
        raise ConfigError(f"{where}: mode {mode} needs a user")
    auth = values.get("auth_protocol", "SHA").upper()
    if auth not in AUTH_PROTOCOLS:
        raise ConfigError(f"{where}: auth_protocol is one of {AUTH_PROTOCOLS}, got {auth!r}")
    if len(values.get("auth_password", "")) < 8:
        raise ConfigError(f"{where}: auth_password needs at least 8 characters (RFC 3414)")
    priv = ""
    if mode != "v3auth":
        priv = values.get("priv_protocol", "AES256" if mode == "v3authprivex" else "AES").upper()
        if priv not in PRIV_PROTOCOLS:
            raise ConfigError(f"{where}: priv_protocol is one of {PRIV_PROTOCOLS}, got {priv!r}")
        if len(values.get("priv_password", "")) < 8:
            raise ConfigError(f"{where}: priv_password needs at least 8 characters (RFC 3414)")
    return SnmpCredential(
        name=name,
        mode=mode,
        user=values["user"],
        auth_protocol=auth,
        auth_password=values["auth_password"],
        priv_protocol=priv,
        priv_password=values.get("priv_password", "") if priv else "",
    )
