"""Named bearer tokens with scopes, kept as SHA-256 digests in a TOML file; the admin token beside them.

A token is shown once, when `netobs token add` makes it; the file holds only its digest. A presented
token is hashed and compared with every digest in constant time (hmac.compare_digest, no early exit),
so neither which entry matched nor how much of a token was right leaks through timing, and a substring
or superstring of a real token is simply another wrong token. The file:

    [analyst]
    sha256 = "<hex digest>"
    scopes = ["read:logs", "read:sql"]
    expires = 2027-01-01T00:00:00Z    # optional
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import os
import re
import secrets
import tomllib
from dataclasses import dataclass
from pathlib import Path

from common.config import ConfigError
from query_mcp.auth.scopes import ALL_SCOPES, Principal

TOKEN_PREFIX = "nbo_"
"""Marks netobs tokens, so secret scanners and people recognise a leaked one."""
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


@dataclass(frozen=True)
class NamedToken:
    name: str
    digest: bytes
    scopes: frozenset[str]
    expires: dt.datetime | None = None


def digest(token: str) -> bytes:
    """What netobs keeps of a token: its SHA-256."""
    return hashlib.sha256(token.encode()).digest()


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def load(path: str | Path) -> list[NamedToken]:
    """Read the tokens file; a mistake names the entry."""
    try:
        raw = tomllib.loads(Path(path).read_text())
    except FileNotFoundError:
        return []
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"tokens file {path} is not valid TOML: {exc}") from None
    tokens = []
    for name, entry in raw.items():
        where = f"[{name}] in {path}"
        if not isinstance(entry, dict) or not NAME_RE.match(name):
            raise ConfigError(f"{where}: a table named with letters, digits, '.', '_' or '-'")
        try:
            hexdigest = bytes.fromhex(str(entry["sha256"]))
        except (KeyError, ValueError):
            raise ConfigError(f"{where}: sha256 must be the hex SHA-256 of the token") from None
        scopes = entry.get("scopes", [])
        unknown = set(scopes) - ALL_SCOPES
        if len(hexdigest) != 32 or not isinstance(scopes, list) or unknown:
            raise ConfigError(f"{where}: sha256 is 64 hex digits and scopes a list of {sorted(ALL_SCOPES)}")
        expires = entry.get("expires")
        if expires is not None and not isinstance(expires, dt.datetime):
            raise ConfigError(f"{where}: expires is a TOML date-time, e.g. 2027-01-01T00:00:00Z")
        if isinstance(expires, dt.datetime) and expires.tzinfo is None:
            expires = expires.replace(tzinfo=dt.UTC)
        tokens.append(NamedToken(name, hexdigest, frozenset(scopes), expires))
    return tokens


def add(path: str | Path, name: str, scopes: frozenset[str], expires: dt.datetime | None = None) -> str:
    """Create a token, append its digest to the file (mode 0600), and return the token to show once."""
    if not NAME_RE.match(name):
        raise ConfigError(f"token name {name!r}: letters, digits, '.', '_' or '-', at most 64")
    if any(t.name == name for t in load(path)):
        raise ConfigError(f"a token named {name!r} exists; revoke it first")
    token = new_token()
    _write(Path(path), _entry(NamedToken(name, digest(token), scopes, expires)), os.O_APPEND)
    return token


def revoke(path: str | Path, name: str) -> bool:
    """Remove a named token; True if it existed."""
    tokens = load(path)
    kept = [t for t in tokens if t.name != name]
    if len(kept) == len(tokens):
        return False
    _write(Path(path), "".join(_entry(t) for t in kept), os.O_TRUNC)
    return True


def _entry(token: NamedToken) -> str:
    """A token's table in the file: its digest, scopes and expiry, never the token."""
    scopes = ", ".join(f'"{s}"' for s in sorted(token.scopes))
    text = f'[{token.name}]\nsha256 = "{token.digest.hex()}"\nscopes = [{scopes}]\n'
    if token.expires is not None:
        text += f"expires = {token.expires.astimezone(dt.UTC).strftime('%Y-%m-%dT%H:%M:%SZ')}\n"
    return text + "\n"


def _write(path: Path, text: str, mode: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | mode, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)


class TokenBook:
    """The admin token and the named tokens, checked in constant time."""

    def __init__(self, admin_token: str, named: list[NamedToken]) -> None:
        self._entries = [NamedToken("admin", digest(admin_token), ALL_SCOPES)] if admin_token else []
        self._entries += named

    def verify(self, presented: str, now: dt.datetime | None = None) -> tuple[Principal | None, str]:
        """(principal, "") for a valid token, else (None, reason); every entry is compared."""
        presented_digest = digest(presented)
        match: NamedToken | None = None
        for entry in self._entries:
            if hmac.compare_digest(presented_digest, entry.digest):
                match = entry
        if match is None:
            return None, "unknown token"
        if match.expires is not None and (now or dt.datetime.now(dt.UTC)) >= match.expires:
            return None, f"token {match.name} expired"
        kind = "admin-token" if match.name == "admin" and match is self._entries[0] else "token"
        return Principal(match.name, match.scopes, kind), ""
