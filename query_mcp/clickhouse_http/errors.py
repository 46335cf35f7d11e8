"""Errors in ClickHouse's own HTTP form: an exception code, its name, the text clients print and the HTTP status
ClickHouse gives it, so a client shows the same message a ClickHouse server would. Pure."""

from __future__ import annotations

import re

AUTHENTICATION_FAILED = (516, "AUTHENTICATION_FAILED")
ACCESS_DENIED = (497, "ACCESS_DENIED")
READONLY = (164, "READONLY")
SYNTAX_ERROR = (62, "SYNTAX_ERROR")
UNKNOWN_FORMAT = (73, "UNKNOWN_FORMAT")
UNKNOWN_SETTING = (115, "UNKNOWN_SETTING")
UNKNOWN_DATABASE = (81, "UNKNOWN_DATABASE")
UNKNOWN_QUERY_PARAMETER = (456, "UNKNOWN_QUERY_PARAMETER")
BAD_QUERY_PARAMETER = (457, "BAD_QUERY_PARAMETER")
QUOTA_EXCEEDED = (201, "QUOTA_EXCEEDED")
TOO_MANY_SIMULTANEOUS_QUERIES = (202, "TOO_MANY_SIMULTANEOUS_QUERIES")
IP_ADDRESS_NOT_ALLOWED = (195, "IP_ADDRESS_NOT_ALLOWED")
BAD_ARGUMENTS = (36, "BAD_ARGUMENTS")
UNKNOWN_EXCEPTION = (1002, "UNKNOWN_EXCEPTION")

# What ClickHouse's HTTP handler answers for these codes; any other code is a 500.
_STATUS = {
    516: 401, 192: 401, 193: 401, 194: 401,  # authentication
    164: 403, 497: 403, 195: 403,  # readonly, access denied, address not allowed
    60: 404, 81: 404,  # unknown table, database
    201: 429, 202: 503,  # quota (rate), too many queries at once
    62: 400, 73: 400, 115: 400, 456: 400, 457: 400, 27: 400, 36: 400, 43: 400, 46: 400, 47: 400, 53: 400, 70: 400,
    386: 400,  # syntax, format, setting, parameters, parse, bad arguments, unknown names, types
}  # fmt: skip
_ENGINE_CODE = re.compile(r"Code: (\d+)\.")
_ENGINE_NAME = re.compile(r"\(([A-Z][A-Z0-9_]+)\)")


class ClickHouseHttpError(Exception):
    """A request answered with a ClickHouse exception."""

    def __init__(self, kind: tuple[int, str], message: str) -> None:
        super().__init__(message)
        self.code, self.name = kind
        self.message = message

    @property
    def status(self) -> int:
        return _STATUS.get(self.code, 500)

    def text(self, version: str) -> str:
        """The body ClickHouse sends: `Code: N. DB::Exception: message. (NAME) (version V)`."""
        message = self.message.rstrip(". ")
        return f"Code: {self.code}. DB::Exception: {message}. ({self.name}) (version {version})\n"


def from_engine(text: str) -> ClickHouseHttpError:
    """The engine's own exception (clickhouse-connect's text of it) with its code, name and first line."""
    code = _ENGINE_CODE.search(text)
    name = _ENGINE_NAME.findall(text.splitlines()[0] if text.strip() else "")
    line = next((part.strip() for part in text.splitlines() if part.strip()), "query failed")
    while "DB::Exception: " in line:
        line = line[line.find("DB::Exception: ") + len("DB::Exception: ") :]
    if name:
        line = line[: line.rfind(f"({name[-1]})")].strip() or line
    kind = (int(code.group(1)), name[-1] if name else "UNKNOWN_EXCEPTION") if code else UNKNOWN_EXCEPTION
    return ClickHouseHttpError(kind, line)
