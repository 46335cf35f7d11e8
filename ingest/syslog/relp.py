"""RELP (rsyslog's Reliable Event Logging Protocol) frames: an incremental parser and the server's replies.

A frame is `TXNR SP COMMAND SP DATALEN [SP DATA] LF`: a transaction number of 1-9 digits, a command of 1-32
letters, the data length in 1-9 digits, then that many bytes of data (preceded by a space when there are
any) and a newline. The sender numbers its frames and keeps each until the receiver answers it with an
`rsp` frame of the same number whose data starts with a status code (200 OK); unanswered frames are sent
again on the next connection. So a receiver must answer only once a line is safe.

Pure: bytes in, frames out. The socket is ingest.syslog.relp_server.
"""

from __future__ import annotations

from dataclasses import dataclass

MAX_TXNR_DIGITS = 9
MAX_COMMAND = 32
MAX_DATALEN_DIGITS = 9
HEADER_MAX = MAX_TXNR_DIGITS + 1 + MAX_COMMAND + 1 + MAX_DATALEN_DIGITS + 1
"""The longest possible header with the separator after DATALEN; more bytes without one are not RELP."""
RELP_VERSION = "0"
SOFTWARE = "netobs"
COMMANDS = ("syslog",)
"""The commands this receiver offers besides open, close and rsp."""


class RelpError(ValueError):
    """The bytes are not a RELP frame; the session cannot go on because the frame boundaries are lost."""


@dataclass(frozen=True)
class Frame:
    txnr: int
    command: str
    data: bytes


class FrameReader:
    """Cuts a byte stream into frames; holds at most one incomplete frame of at most max_data data bytes."""

    def __init__(self, max_data: int) -> None:
        self.max_data = max_data
        self._buffer = bytearray()

    @property
    def buffered(self) -> int:
        """Bytes of an incomplete frame held."""
        return len(self._buffer)

    def feed(self, data: bytes) -> list[Frame]:
        """The frames completed by data, in order; RelpError at the first malformed one (the frames before
        it in the same data are lost with it: the caller ends the session, and the sender resends them)."""
        self._buffer += data
        frames: list[Frame] = []
        pos = 0
        buffer = self._buffer
        while True:
            parsed = parse_frame(buffer, pos, self.max_data)
            if parsed is None:
                break
            frame, pos = parsed
            frames.append(frame)
        del buffer[:pos]
        return frames


def parse_frame(buffer: bytes | bytearray, pos: int, max_data: int) -> tuple[Frame, int] | None:
    """The frame starting at pos and the position after it; None if it is not complete yet."""
    txnr_field = _field(buffer, pos, MAX_TXNR_DIGITS, "transaction number")
    if txnr_field is None:
        return None
    txnr_bytes, pos, separator = txnr_field
    if separator != 0x20 or not txnr_bytes.isdigit():
        raise RelpError(f"transaction number must be 1-{MAX_TXNR_DIGITS} digits and a space: {bytes(txnr_bytes)!r}")
    command_field = _field(buffer, pos, MAX_COMMAND, "command")
    if command_field is None:
        return None
    command_bytes, pos, separator = command_field
    if separator != 0x20 or not (command_bytes.isascii() and command_bytes.isalpha()):
        raise RelpError(f"command must be 1-{MAX_COMMAND} letters and a space: {bytes(command_bytes)!r}")
    length_field = _field(buffer, pos, MAX_DATALEN_DIGITS, "data length")
    if length_field is None:
        return None
    length_bytes, pos, separator = length_field
    if not length_bytes.isdigit():
        raise RelpError(f"data length must be 1-{MAX_DATALEN_DIGITS} digits: {bytes(length_bytes)!r}")
    length = int(length_bytes)
    if length > max_data:
        raise RelpError(f"frame of {length} data bytes is over the limit of {max_data}")
    if separator == 0x0A:
        if length:
            raise RelpError(f"data length {length} but no data")
        return Frame(int(txnr_bytes), command_bytes.decode(), b""), pos
    if separator != 0x20:
        raise RelpError("data length must be followed by a space or a newline")
    end = pos + length
    if len(buffer) <= end:
        return None
    if buffer[end] != 0x0A:
        raise RelpError(f"frame {int(txnr_bytes)}: no newline after {length} data bytes")
    return Frame(int(txnr_bytes), command_bytes.decode(), bytes(buffer[pos:end])), end + 1


def _field(buffer: bytes | bytearray, pos: int, longest: int, what: str) -> tuple[bytes, int, int] | None:
    """The bytes up to the next space or newline (not included), the position after that separator, and the
    separator; None if neither has arrived yet and the field could still be valid."""
    end = len(buffer)
    limit = min(end, pos + longest + 1)
    for i in range(pos, limit):
        c = buffer[i]
        if c == 0x20 or c == 0x0A:
            if i == pos:
                raise RelpError(f"empty {what}")
            return bytes(buffer[pos:i]), i + 1, c
    if limit - pos > longest:
        raise RelpError(f"{what} longer than {longest} characters")
    return None


def encode(txnr: int, command: str, data: bytes = b"") -> bytes:
    """One frame."""
    if data:
        return b"%d %s %d %s\n" % (txnr, command.encode(), len(data), data)
    return b"%d %s 0\n" % (txnr, command.encode())


def ok(txnr: int) -> bytes:
    """The answer to a frame whose line is safe."""
    return encode(txnr, "rsp", b"200 OK")


def refused(txnr: int, reason: str) -> bytes:
    """The answer to a frame that was not taken: the sender keeps it and tries again."""
    return encode(txnr, "rsp", b"500 " + reason.encode())


SERVER_CLOSE = encode(0, "serverclose")
"""Sent before the receiver drops a session (malformed input, shutdown); the sender reconnects and resends."""


def offers(data: bytes) -> dict[str, str]:
    """The offers of an open frame (`name=value` lines)."""
    found: dict[str, str] = {}
    for line in data.decode("utf-8", "replace").splitlines():
        name, _, value = line.partition("=")
        if name:
            found[name.strip()] = value.strip()
    return found


def open_refusal(data: bytes) -> str | None:
    """Why an open frame's offers cannot be served (this side speaks version 0 and the syslog command), or None."""
    offered = offers(data)
    if offered.get("relp_version") != RELP_VERSION:
        return f"relp_version {offered.get('relp_version')!r} is not supported, only {RELP_VERSION}"
    if "syslog" not in offered.get("commands", "").split(","):
        return "the commands offered do not include syslog"
    return None


def open_accepted(txnr: int) -> bytes:
    """The answer to an acceptable open: 200 and this side's offers."""
    ours = f"200 OK\nrelp_version={RELP_VERSION}\nrelp_software={SOFTWARE}\ncommands={','.join(COMMANDS)}"
    return encode(txnr, "rsp", ours.encode())
