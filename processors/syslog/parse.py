"""Syslog line parser: RFC 5424, RFC 3164/BSD and the vendor variants seen in the field.

Pure and total: every byte string gives a ParsedLine, never an exception, because one bad sender must
not stop a partition. It runs once per received line, so the common BSD path is one anchored regex
(bounded quantifiers only, no nested repetition, so no backtracking blow-up) plus str slicing, and
everything derivable from the PRI is looked up in precomputed tuples.

Best effort, never silent: a line that breaks its RFC is taken apart as far as it goes, and compliance and
parse_issues say how it broke it, so analysts can filter on senders that do.
"""

from __future__ import annotations

import json
import re
from typing import Any, NamedTuple

__all__ = ["ParsedLine", "level_of", "mining_text", "parse", "type_of"]

_SEVERITY_NAMES = ("emerg", "alert", "crit", "err", "warning", "notice", "info", "debug")
# TWSNMP FK's names, so that its "Type" filters (e.g. "err:daemon") work unchanged; 13-15 are what it
# calls log audit, log alert and the clock daemon.
_FACILITY_NAMES = (
    "kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron", "authpriv", "ftp",
    "ntp", "logaudit", "logalert", "clock",
    "local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7",
)  # fmt: skip
_LEVELS = ("high", "high", "high", "low", "warn", "info", "info", "debug")
# Indexed by PRI (facility * 8 + severity): no string building per line.
_TYPES = tuple(f"{_SEVERITY_NAMES[p & 7]}:{_FACILITY_NAMES[p >> 3]}" for p in range(192))
_PRI_LEVELS = tuple(_LEVELS[p & 7] for p in range(192))

_DEFAULT_PRI = 13  # user.notice: RFC 3164 section 4.3.3 for lines without a PRI
_STRIP = " \t\r\n\x00"
_BOM = "\ufeff"
_NS = 1_000_000_000
_DAY_NS = 86_400 * _NS
# A BSD timestamp has no year. Take the received year, unless that puts the line more than a month in the
# future (then it is from last year: a December line received in January) or more than eleven months in
# the past (then it is from next year: a sender ahead of us across New Year).
_MAX_AHEAD_NS = 31 * _DAY_NS
_MAX_BEHIND_NS = 334 * _DAY_NS
# event_time is a ClickHouse DateTime64: a timestamp outside its range is no use.
_MIN_YEAR, _MAX_YEAR = 1900, 2299

_MONTHS = {m: i for i, m in enumerate(("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct",
                                       "Nov", "Dec"), 1)}  # fmt: skip
_MONTHS.update({m.upper(): i for m, i in _MONTHS.items()})
_MONTH_DAYS = (0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
_FRAC_SCALE = tuple(10 ** (9 - n) for n in range(10))  # ns per unit of an n-digit fraction
# Zone names Cisco devices print after the time ("clock timezone JST 9"), where unambiguous. Others are
# read as UTC, as are BSD timestamps without a zone.
_ZONES = {
    "UTC": 0, "GMT": 0, "UT": 0, "WET": 0, "WEST": 3600, "CET": 3600, "CEST": 7200, "EET": 7200,
    "EEST": 10800, "MSK": 10800, "SGT": 28800, "HKT": 28800, "JST": 32400, "KST": 32400, "AEST": 36000,
    "AEDT": 39600, "NZST": 43200, "NZDT": 46800, "EST": -18000, "EDT": -14400, "CDT": -18000,
    "MST": -25200, "MDT": -21600, "PST": -28800, "PDT": -25200,
}  # fmt: skip

_ISO = (
    r"(\d{4})-(\d\d)-(\d\d)[Tt](\d\d):(\d\d):(\d\d)(?:[.,](\d{1,9})\d*)?"  # date, time, fraction (ns kept)
    r"([Zz]|[+-]\d\d:?\d\d)?"  # offset; missing means UTC
)
_ISO_RE = re.compile(_ISO, re.ASCII)
# Everything a BSD-style line may carry before HOSTNAME. Cisco IOS prefixes a sequence number (NX-OS an
# empty one), may add its hostname, and marks an unsynchronised clock with "*" (or a synchronised one that
# lost its peer with "."); ASA puts the year after the day, NX-OS before the month, some after the time;
# IOS appends a zone name and a colon. Some devices print the month in capitals.
_BSD_HEAD_RE = re.compile(
    r"(?:(\d{0,10}): )?"  # 1 sequence number
    r"(?:([^\s:]{1,255}): )?"  # 2 origin hostname
    r"([*.]?)"  # 3 clock mark
    r"(?:"
    r"(?:(\d{4}) )?(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec|"  # 4 year, 5 month
    r"JAN|FEB|MAR|APR|MAY|JUN|JUL|AUG|SEP|OCT|NOV|DEC) {1,2}(\d{1,2})(?: (\d{4}))?"  # 6 day, 7 year
    r" (\d\d):(\d\d):(\d\d)(?:\.(\d{1,9})\d*)?([+-]\d\d:\d\d)?"  # 8-12, Huawei VRP's offset
    r"(?: (\d{4})(?= ))?"  # 13 year after the time
    r"(?: ([A-Z]{2,5})(?=: %))?"  # 14 zone name, only before a Cisco mnemonic: "su:" is a tag
    r"|" + _ISO + r")"  # 15-22
    r":?(?: +|$)",
    re.ASCII,
)
# A Cisco sequence number (and timestamp) inside the content, as relays forward it: "123: *Mar  1 ...: %..."
_CISCO_SEQ_RE = re.compile(
    r"\d{1,10}: (?:[*.]?[A-Z][a-z]{2} {1,2}\d{1,2}(?: \d{4})? \d\d:\d\d:\d\d(?:\.\d{1,9})?"
    r"(?: [A-Za-z]{1,6})?: )?(?=%)",
    re.ASCII,
)
_VERSION_RE = re.compile(r"\d{1,2} (?=[-\d])", re.ASCII)
# FortiGate (FortiOS) puts key=value pairs where the header should be: date=... time=... devname="..."
_FORTI_RE = re.compile(
    r'date=(\d{4})-(\d\d)-(\d\d) time=(\d\d):(\d\d):(\d\d) (?:devname="?([^" ]{1,255})"?)?', re.ASCII
)
_FORTI_TZ_RE = re.compile(r' tz="?([+-]\d\d):?(\d\d)', re.ASCII)
_BAD_UTF8 = ("invalid-utf8",)
# A program name without its colon: what rsyslog and syslog-ng take as TAG too. Only a word that looks like a
# program (no digits first, no punctuation but . _ - /), so that "1,2025/11/20,..." stays in the message.
_BARE_TAG_RE = re.compile(r"([A-Za-z][\w./-]{0,63}) +(?=\S)", re.ASCII)
_BSD_STAMP_LEN = 16
_MNEMONIC_RE = re.compile(r"([A-Za-z0-9_]+)-[0-7]-[A-Za-z0-9_]+", re.ASCII)
_MAX_TAG = 64  # RFC 3164 says 32; a longer first word is text, not a program name
_sd_json = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


class ParsedLine(NamedTuple):
    """One syslog line, split into the columns of the syslog table. A named tuple: as immutable as a frozen
    dataclass, and made in a fifth of the time (a frozen dataclass sets each field through object.__setattr__,
    which was about 1.7 µs of a line's 10 µs of parsing)."""

    event_time_ns: int
    host: str
    facility: int
    severity: int
    level: str
    type: str
    tag: str
    pid: str
    msgid: str
    structured_data: str
    message: str
    parse_error: bool
    compliance: str  # rfc5424, rfc3164, non-standard (taken apart as far as it goes) or unparsed
    parse_issues: tuple[str, ...]  # short reasons the line breaks its RFC, for analysts to filter on


def level_of(severity: int) -> str:
    """TWSNMP FK's level for a severity: 0-2 high, 3 low, 4 warn, 5-6 info, 7 debug."""
    return _LEVELS[severity] if 0 <= severity <= 7 else "unknown"


def type_of(severity: int, facility: int) -> str:
    """TWSNMP FK's syslog type, "<severity name>:<facility name>", e.g. "err:daemon"."""
    if 0 <= severity <= 7 and 0 <= facility <= 23:
        return _TYPES[facility << 3 | severity]
    sev = _SEVERITY_NAMES[severity] if 0 <= severity <= 7 else "unknown"
    fac = _FACILITY_NAMES[facility] if 0 <= facility <= 23 else "unknown"
    return f"{sev}:{fac}"


def mining_text(parsed: ParsedLine) -> str:
    """What the template miner sees: the tag keeps one program's templates apart from another's.

    For a Cisco event (its mnemonic "FAC-SEV-NAME" as msgid) the facility stands in for the tag, so the
    text is the same whatever framing carried it: "%BGP-5-ADJCHANGE: neighbor 10.0.0.1 Up" in an RFC 3164
    line, or after an RFC 5424 header with or without an APP-NAME, is mined as "BGP neighbor 10.0.0.1 Up".
    """
    msgid = parsed.msgid
    if msgid and (m := _MNEMONIC_RE.fullmatch(msgid)) is not None:
        return f"{m[1]} {parsed.message}"
    return f"{parsed.tag} {parsed.message}" if parsed.tag else parsed.message


def parse(line: bytes, received_ns: int, source: str) -> ParsedLine:
    """Parse one line (framing already removed); never raises.

    A line that is not syslog at all (empty, or a broken PRI) comes back with parse_error set and the whole
    stripped line as its message, so nothing is lost. Bytes that are not UTF-8 become U+FFFD in the columns
    and the line gets the issue "invalid-utf8": raw keeps the sender's bytes.
    """
    try:
        text = line.decode("utf-8").strip(_STRIP)
        issues: tuple[str, ...] = ()
    except UnicodeDecodeError:
        text = line.decode("utf-8", "replace").strip(_STRIP)
        issues = _BAD_UTF8
    if not text:
        return _unparsed(text, received_ns, source, (*issues, "empty"))
    if text[0] != "<":
        return _parse_bsd(text, 0, _DEFAULT_PRI, False, received_ns, source, (*issues, "no-pri"))
    gt = text.find(">", 1, 5)
    pri_text = text[1:gt]
    if gt < 2 or not (pri_text.isascii() and pri_text.isdigit()) or int(pri_text) > 191:
        return _unparsed(text, received_ns, source, (*issues, "bad-pri"))
    pri = int(pri_text)
    if text.startswith("1 ", gt + 1):
        parsed = _parse_5424(text, gt + 3, pri, received_ns, source, issues)
        if parsed is not None:
            return parsed
    elif (
        "0" <= text[gt + 1 : gt + 2] <= "9" and (m := _VERSION_RE.match(text, gt + 1)) is not None
    ):  # RFC 5424 knows only VERSION 1
        parsed = _parse_5424(text, m.end(), pri, received_ns, source, (*issues, "bad-version"))
        if parsed is not None:
            return parsed
    return _parse_bsd(text, gt + 1, pri, True, received_ns, source, issues)


def _unparsed(text: str, received_ns: int, source: str, issues: tuple[str, ...]) -> ParsedLine:
    p = _DEFAULT_PRI
    return ParsedLine(
        received_ns, source, p >> 3, p & 7, _PRI_LEVELS[p], _TYPES[p], "", "", "", "", text, True, "unparsed", issues
    )


def _parse_5424(
    text: str, pos: int, pri: int, received_ns: int, source: str, issues: tuple[str, ...]
) -> ParsedLine | None:
    """RFC 5424 after "<PRI>VERSION "; None when the timestamp field is not one, so the line is read as BSD."""
    fields = text[pos:].split(" ", 5)
    stamp = fields[0]
    if stamp == "-":
        event_ns = received_ns
    else:
        m = _ISO_RE.fullmatch(stamp)
        if m is None:
            return None
        event_ns = _iso_ns(m.groups(), received_ns)
    if len(fields) < 6:
        issues += ("truncated-header",)
        fields += [""] * (6 - len(fields))
    _, host, app, procid, msgid, rest = fields
    sd = ""
    if rest[:1] == "[":
        sd, end = _parse_sd(rest)
        if end == 0:
            issues += ("bad-sd",)
        rest = rest[end:]
    elif rest[:1] == "-":
        rest = rest[1:]
    elif rest:
        issues += ("no-sd",)
    if rest[:1] == " ":
        rest = rest[1:]
    if rest[:1] == _BOM:
        rest = rest[1:]
    app = "" if app == "-" else app
    msgid = "" if msgid == "-" else msgid
    if rest[:1] == "%":  # a Cisco mnemonic: taken off the message as in BSD framing, even after an APP-NAME
        tag, _, mnemonic, after = _split_tag(rest)
        if mnemonic:
            app, msgid, rest = app or tag, mnemonic, after
    return ParsedLine(
        event_ns,
        host if host and host != "-" else source,
        pri >> 3,
        pri & 7,
        _PRI_LEVELS[pri],
        _TYPES[pri],
        app,
        "" if procid == "-" else procid,
        msgid,
        sd,
        rest,
        False,
        "non-standard" if issues else "rfc5424",
        issues,
    )


def _parse_sd(s: str) -> tuple[str, int]:
    """Structured data at the start of s as compact JSON, and where it ends.

    Malformed SD gives ("", 0): the caller then keeps it in the message rather than dropping it. A repeated
    SD-ID merges into one object and a repeated PARAM-NAME keeps its last value (JSON objects have unique
    keys).
    """
    out: dict[str, dict[str, str]] = {}
    n = len(s)
    i = 0
    while i < n and s[i] == "[":
        close = s.find("]", i)
        space = s.find(" ", i, close)
        end_id = close if space < 0 else space
        sd_id = s[i + 1 : end_id]
        if close < 0 or not sd_id or '"' in sd_id or "=" in sd_id:
            return "", 0
        params = out.setdefault(sd_id, {})
        i = end_id
        while s[i] == " ":
            eq = s.find("=", i)
            name = s[i + 1 : eq]
            if eq < 0 or not name or s[eq + 1 : eq + 2] != '"' or any(c in name for c in ' ]"'):
                return "", 0
            start = eq + 2
            quote = start
            while True:
                quote = s.find('"', quote)
                if quote < 0:
                    return "", 0
                back = quote - 1
                while s[back] == "\\":  # stops at the opening quote at the latest
                    back -= 1
                if (quote - 1 - back) % 2 == 0:
                    break
                quote += 1
            value = s[start:quote]
            params[name] = _sd_unescape(value) if "\\" in value else value
            i = quote + 1
            if i >= n:
                return "", 0
        if s[i] != "]":
            return "", 0
        i += 1
    return _sd_json(out), i


def _sd_unescape(value: str) -> str:
    """RFC 5424 6.3.3: \\" \\\\ and \\] stand for the character; any other backslash is literal."""
    parts: list[str] = []
    i = 0
    while (j := value.find("\\", i)) >= 0 and j + 1 < len(value):
        c = value[j + 1]
        parts.append(value[i:j] + c if c in '"\\]' else value[i : j + 2])
        i = j + 2
    parts.append(value[i:])
    return "".join(parts)


def _parse_bsd(
    text: str, pos: int, pri: int, has_pri: bool, received_ns: int, source: str, issues: tuple[str, ...]
) -> ParsedLine:
    """RFC 3164 and its relatives from pos on; what cannot be recognised becomes the message (RFC 3164 4.3)."""
    if has_pri and text.startswith(" ", pos):  # "<13> Oct 11 ...": some embedded senders
        pos += 1
    m = _BSD_HEAD_RE.match(text, pos)
    host = ""
    if m is None:
        event_ns = received_ns
        content = text[pos:]
        if content[:5] == "date=" and (f := _FORTI_RE.match(content)) is not None:
            return _forti(f, content, pri, received_ns, source, (*issues, "vendor-header"))
        issues += ("no-timestamp",)
    else:
        g = m.groups()
        if g[4] is not None:
            event_ns = _bsd_ns(g, received_ns)
            # RFC 3164's "Mmm dd hh:mm:ss " is 16 characters: a vendor's additions make it longer, a day
            # without its padding space shorter.
            if m.end() - pos != _BSD_STAMP_LEN or g[4][1] < "a":
                issues += ("vendor-timestamp",)
        else:
            event_ns = _iso_ns(g[14:], received_ns)
            issues += ("iso-timestamp",)
        content = text[m.end() :]
        host = g[1] or ""
        if not host:  # HOSTNAME is missing when the first word is already a tag or a Cisco mnemonic
            space = content.find(" ")
            if space > 0:
                token = content[:space]
                if token[-1] != ":" and token[0] != "%" and token.find("[") <= 0:
                    host = token
                    content = content[space + 1 :].lstrip(" ")
                    if content[:2] == ": ":  # Cisco ASA: "fw1 : %ASA-6-..."
                        content = content[2:]
        if not host:
            issues += ("no-hostname",)
    # Plain text (no PRI, no timestamp) is all content (RFC 3164 4.3.3): no guessing at a tag.
    tag, pid, msgid, message = _split_tag(content) if has_pri or m is not None else ("", "", "", content)
    if not tag and host and not msgid and (b := _BARE_TAG_RE.match(message)) is not None:
        tag, message = b[1], message[b.end() :]  # "TAG MSG": a space ends the TAG too (RFC 3164 4.1.3)
    if message[:1] == _BOM:
        message = message[1:]
    sd = ""
    # rsyslog and others put RFC 5424 SD in BSD content ("[origin software=... ]"); "[12.3] text" is not SD.
    if message[:1] == "[" and message.find('="', 0, message.find("]")) > 0:
        sd, end = _parse_sd(message)
        message = message[end:].lstrip(" ")
    return ParsedLine(
        event_ns, host or source, pri >> 3, pri & 7, _PRI_LEVELS[pri], _TYPES[pri], tag, pid, msgid, sd,
        message, False, "non-standard" if issues else "rfc3164", issues,
    )  # fmt: skip


def _forti(
    f: re.Match[str], content: str, pri: int, received_ns: int, source: str, issues: tuple[str, ...]
) -> ParsedLine:
    """A FortiGate line: its date, time (and tz, when sent) and devname, the key=value pairs as the message."""
    g = f.groups()
    offset = 0
    if (tz := _FORTI_TZ_RE.search(content)) is not None:
        offset = (int(tz[1][1:]) * 3600 + int(tz[2]) * 60) * (-1 if tz[1][0] == "-" else 1)
    ns = _civil_ns(int(g[0]), int(g[1]), int(g[2]), int(g[3]), int(g[4]), int(g[5]), None, offset)
    return ParsedLine(
        received_ns if ns is None else ns, g[6] or source, pri >> 3, pri & 7, _PRI_LEVELS[pri], _TYPES[pri],
        "", "", "", "", content, False, "non-standard", issues,
    )  # fmt: skip


def _split_tag(content: str) -> tuple[str, str, str, str]:
    """(tag, pid, msgid, message) from "TAG[PID]: MSG", "TAG: MSG" or Cisco "%FAC-SEV-MNEMONIC: MSG"."""
    if content[:1].isdigit() and (m := _CISCO_SEQ_RE.match(content)) is not None:
        content = content[m.end() :]
    space = content.find(" ")
    token = content if space < 0 else content[:space]
    rest = "" if space < 0 else content[space + 1 :]
    if len(token) < 2 or len(token) > _MAX_TAG + 1:
        return "", "", "", content
    last = token[-1]
    if last == ":":
        head = token[:-1]
    elif last == "]":
        head = token
    else:
        return "", "", "", content
    if head[-1:] == "]" and (bracket := head.find("[")) > 0:
        return head[:bracket], head[bracket + 1 : -1], "", rest
    if last == "]":
        return "", "", "", content
    if head[0] == "%":
        parts = head[1:].rsplit("-", 2)
        if len(parts) == 3 and parts[0] and parts[2] and len(parts[1]) == 1 and parts[1] in "01234567":
            return head, "", head[1:], rest
    return head, "", "", rest


def _bsd_ns(g: tuple[Any, ...], received_ns: int) -> int:
    """Time of a "Mmm dd hh:mm:ss" timestamp; the year, when the line has none, is inferred (see above).

    The start of the minute is memoised: a sender's consecutive lines mostly share it, and the calendar
    arithmetic is most of the cost of a BSD line.
    """
    global _minute_memo
    year_text = g[3] or g[6] or g[12]
    year = int(year_text) if year_text else _year_of(received_ns)
    key = (year, g[4], g[5], g[7], g[8], g[11], g[13])
    memo_key, base = _minute_memo
    if key != memo_key:
        base = _civil_ns(year, _MONTHS[g[4]], int(g[5]), int(g[7]), int(g[8]), 0, None, _offset_of(g[11], g[13]))
        _minute_memo = (key, base)
    ss, frac = int(g[9]), g[10]
    if base is None or ss > 60:
        return received_ns
    ns = base + ss * _NS + (int(frac) * _FRAC_SCALE[len(frac)] if frac else 0)
    if not year_text and (ns - received_ns > _MAX_AHEAD_NS or received_ns - ns > _MAX_BEHIND_NS):
        other = _civil_ns(
            year - 1 if ns > received_ns else year + 1, _MONTHS[g[4]], int(g[5]), int(g[7]), int(g[8]), ss, frac,
            _offset_of(g[11], g[13]),
        )  # fmt: skip
        return received_ns if other is None else other
    return ns


def _offset_of(off_text: str | None, zone: str | None) -> int:
    """Seconds east of UTC from a "+hh:mm" offset (Huawei) or a zone name (Cisco); UTC when neither."""
    if off_text:
        return (int(off_text[1:3]) * 3600 + int(off_text[4:]) * 60) * (-1 if off_text[0] == "-" else 1)
    return _ZONES.get(zone, 0) if zone else 0


_minute_memo: tuple[tuple[Any, ...], int | None] = ((), None)


def _iso_ns(g: tuple[Any, ...], received_ns: int) -> int:
    """Time of an ISO 8601 / RFC 3339 timestamp from _ISO's groups; the received time if invalid."""
    off_text = g[7]
    offset = 0
    if off_text and len(off_text) > 1:
        oh, om = int(off_text[1:3]), int(off_text[-2:])
        if oh > 23 or om > 59:
            return received_ns
        offset = oh * 3600 + om * 60
        if off_text[0] == "-":
            offset = -offset
    ns = _civil_ns(int(g[0]), int(g[1]), int(g[2]), int(g[3]), int(g[4]), int(g[5]), g[6], offset)
    return received_ns if ns is None else ns


def _civil_ns(
    year: int, month: int, day: int, hh: int, mi: int, ss: int, frac: str | None, offset_s: int
) -> int | None:
    """UTC ns for a local date and time at offset_s east of UTC; None when it is not a real date."""
    if not (_MIN_YEAR <= year <= _MAX_YEAR and 1 <= month <= 12 and day >= 1 and hh < 24 and mi < 60 and ss <= 60):
        return None
    if day > 28 and (
        day > _MONTH_DAYS[month] or (month == 2 and not (year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)))
    ):
        return None
    # Days since 1970-01-01 (H. Hinnant's days_from_civil), leap years counted from March.
    y = year - (month <= 2)
    era = y // 400
    yoe = y - era * 400
    doy = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    days = era * 146097 + yoe * 365 + yoe // 4 - yoe // 100 + doy - 719468
    ns = (((days * 24 + hh) * 60 + mi) * 60 + ss - offset_s) * _NS
    return ns + int(frac) * _FRAC_SCALE[len(frac)] if frac else ns


_year_span = (0, 0, 1970)  # [start_ns, end_ns) of the last year _year_of computed, and that year


def _year_of(ns: int) -> int:
    """UTC calendar year of ns; cached because consecutive lines almost always share it."""
    global _year_span
    start, end, year = _year_span
    if start <= ns < end:
        return year
    year = 1970 + ns // (_DAY_NS * 36524 // 100)  # estimate, then correct against real year starts
    while (start := _year_start_ns(year)) > ns:
        year -= 1
    while (end := _year_start_ns(year + 1)) <= ns:
        year += 1
    _year_span = (start, end, year)
    return year


def _year_start_ns(year: int) -> int:
    y = year - 1
    return (365 * (year - 1970) + y // 4 - y // 100 + y // 400 - 477) * _DAY_NS
