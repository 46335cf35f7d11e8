"""Opaque cursors for the log tools: where a page ended, bound to the query that produced it. Pure.

A cursor carries the tool, a digest of the query's arguments, the resolved window (so "-1h" still means
the same hour on the next page) and the sort key of the last row returned; the next page starts strictly
after that key. It is signed with the service's key: a cursor that was altered, cut short, made by another
service (or before a restart) or that belongs to other arguments is refused with a message saying so.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MAC_BYTES = 16
_TIME = "t"


class CursorError(ValueError):
    """A cursor the service will not continue from; the message says why and what to do."""


@dataclass(frozen=True, slots=True)
class Position:
    """Where the next page starts: the first call's window and the last key returned."""

    start: datetime
    end: datetime
    after: tuple[Any, ...]


def micros(value: datetime) -> int:
    """Microseconds since the epoch of a UTC time, with or without its zone attached (the driver omits it)."""
    return (value.replace(tzinfo=UTC) - _EPOCH) // timedelta(microseconds=1)


def from_micros(value: int) -> datetime:
    return _EPOCH + timedelta(microseconds=value)


def query_digest(tool: str, arguments: Mapping[str, Any]) -> str:
    """What makes two calls the same query: the tool and every argument but cursor, limit and fields."""
    kept = {k: v for k, v in arguments.items() if k not in ("cursor", "limit", "fields")}
    text = json.dumps([tool, kept], sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:24]


class Cursors:
    """Issues and opens cursors under one signing key (random per service unless one is given)."""

    def __init__(self, key: bytes | None = None) -> None:
        self._key = key or secrets.token_bytes(32)

    def issue(self, digest: str, start: datetime, end: datetime, last: Sequence[Any]) -> str:
        """A cursor continuing after the row whose sort key is last."""
        key = [[_TIME, micros(v)] if isinstance(v, datetime) else v for v in last]
        body = json.dumps([digest, micros(start), micros(end), key], separators=(",", ":")).encode()
        return _b64(body) + "." + _b64(self._mac(body))

    def open(self, cursor: str, digest: str) -> Position:
        """The position a cursor names; CursorError when it is not one this service issued for this query."""
        body_text, _, mac_text = cursor.strip().partition(".")
        try:
            body = _unb64(body_text)
            mac = _unb64(mac_text)
        except ValueError:
            body, mac = b"", b""
        if not body or not hmac.compare_digest(mac, self._mac(body)):
            raise CursorError(
                "cursor: not a cursor this service issued (altered, cut short, or from before a restart); "
                "repeat the call without cursor"
            )
        issued_for, start, end, key = json.loads(body)
        if issued_for != digest:
            raise CursorError(
                "cursor: it belongs to another query; pass the same arguments as the call that returned it "
                "(only limit and fields may change)"
            )
        after = tuple(from_micros(v[1]) if isinstance(v, list) and v[:1] == [_TIME] else v for v in key)
        return Position(from_micros(start), from_micros(end), after)

    def _mac(self, body: bytes) -> bytes:
        return hmac.new(self._key, body, hashlib.sha256).digest()[:_MAC_BYTES]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, TypeError) as exc:
        raise ValueError(str(exc)) from None
