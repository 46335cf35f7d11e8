"""Splits a syslog TCP byte stream into lines, whatever the chunking of the reads.

Two framings share one stream (RFC 6587): octet counting ("<len> <msg>") and newline termination.
Like rsyslog, each frame picks its own: a frame that starts with a digit is octet-counted, anything else
ends at LF (a CR before the LF is framing too). Every byte a sender wrote comes out in some line; a line
that could not be framed cleanly carries a LineFlag saying why. The only thing not emitted is an empty
newline-terminated line, which carries no bytes.
"""

from __future__ import annotations

from schemas.raw_syslog import LineFlag

_LF = 10
_CR = 13
_SPACE = 32
_ZERO = 48
_NINE = 57
_OVERSIZED = int(LineFlag.OVERSIZED)
_TRUNCATED = int(LineFlag.TRUNCATED)
_FRAMING = int(LineFlag.FRAMING)


class Splitter:
    """Incremental splitter for one connection: feed() each read, close() once at end of stream.

    State between reads is the unconsumed tail plus what the current frame turned out to be, so the
    lines and flags never depend on where the reads were cut.
    """

    def __init__(self, max_line: int) -> None:
        if max_line < 1:
            raise ValueError("max_line must be positive")
        self._max = max_line
        self._digits = len(str(max_line))
        """A valid length prefix has at most this many digits."""
        self._buf = b""
        self._need = -1
        """Body length of the octet-counted frame being read, -1 outside one."""
        self._oversized = False
        """The newline frame being read already gave out pieces of the limit."""
        self._framing = False
        """The newline frame being read is a bad octet count, kept up to the next LF."""

    def feed(self, data: bytes) -> tuple[list[bytes], list[int]]:
        """The complete lines in the stream so far and their flags (parallel lists)."""
        buf = self._buf + data if self._buf else bytes(data)
        lines: list[bytes] = []
        flags: list[int] = []
        self._buf = buf[self._scan(buf, lines, flags) :]
        return lines, flags

    @property
    def holds_partial(self) -> bool:
        """A frame is open: bytes wait for the rest of their line."""
        return bool(self._buf) or self._need >= 0 or self._oversized or self._framing

    def close(self) -> tuple[list[bytes], list[int]]:
        """End of stream: a frame still open is emitted, split at the limit if longer; its last piece is TRUNCATED."""
        buf, self._buf = self._buf, b""
        lines: list[bytes] = []
        flags: list[int] = []
        if self._need >= 0:
            lines.append(buf)
            flags.append(_TRUNCATED)
        elif buf:
            flag = _FRAMING if self._framing else 0
            if self._oversized or len(buf) > self._max:
                flag |= _OVERSIZED
            self._pieces(buf, 0, len(buf), flag, lines, flags)
            flags[-1] |= _TRUNCATED
        self._need = -1
        self._oversized = self._framing = False
        return lines, flags

    def _scan(self, buf: bytes, lines: list[bytes], flags: list[int]) -> int:
        """Emit every frame complete in buf; return how many bytes were consumed."""
        limit = self._max
        n = len(buf)
        pos = 0
        append_line = lines.append
        append_flag = flags.append
        while pos < n:
            if self._need >= 0:
                end = pos + self._need
                if end > n:
                    break
                append_line(buf[pos:end])
                append_flag(0)
                pos = end
                self._need = -1
                continue
            if not (self._oversized or self._framing) and _ZERO <= buf[pos] <= _NINE:
                header = self._header(buf, pos)
                if header is None:
                    break
                if header >= 0:
                    pos = header
                    continue
                self._framing = True
            newline = buf.find(b"\n", pos)
            if newline < 0:
                # Give out pieces of the limit only once the line is surely longer than the limit, so
                # the cut points are the same as when the whole line arrives at once.
                certain = n - pos - (1 if buf[n - 1] == _CR else 0)
                if certain > limit:
                    count = (certain - 1) // limit
                    flag = _OVERSIZED | (_FRAMING if self._framing else 0)
                    self._pieces(buf, pos, pos + count * limit, flag, lines, flags)
                    pos += count * limit
                    self._oversized = True
                break
            end = newline - 1 if newline > pos and buf[newline - 1] == _CR else newline
            if self._oversized or self._framing or end - pos > limit:
                flag = _FRAMING if self._framing else 0
                if self._oversized or end - pos > limit:
                    flag |= _OVERSIZED
                self._pieces(buf, pos, end, flag, lines, flags)
                self._oversized = self._framing = False
            elif end > pos:
                append_line(buf[pos:end])
                append_flag(0)
            pos = newline + 1
        return pos

    def _header(self, buf: bytes, pos: int) -> int | None:
        """Parse an octet count at pos: the body's start, -1 if it is unusable, None if more is needed.

        Usable means RFC 6587's MSG-LEN (no leading zero) followed by one space, and at most the limit.
        """
        end = pos
        stop = min(len(buf), pos + self._digits + 1)
        while end < stop and _ZERO <= buf[end] <= _NINE:
            end += 1
        if end == len(buf) and end - pos <= self._digits:
            return None
        if end - pos > self._digits or buf[end] != _SPACE or buf[pos] == _ZERO:
            return -1
        length = int(buf[pos:end])
        if length > self._max:
            return -1
        self._need = length
        return end + 1

    def _pieces(self, buf: bytes, start: int, end: int, flag: int, lines: list[bytes], flags: list[int]) -> None:
        """Emit buf[start:end] in pieces of at most the limit, each with flag."""
        limit = self._max
        for cut in range(start, end, limit):
            lines.append(buf[cut : min(cut + limit, end)])
            flags.append(flag)
