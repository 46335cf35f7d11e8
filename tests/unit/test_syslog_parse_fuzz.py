"""Property-based tests for processors.syslog.parse.

The invariants, for any bytes, any receive time and any source:

1. parse() returns a ParsedLine and never raises.
2. 0 <= facility <= 23, 0 <= severity <= 7, and level/type are level_of/type_of of them.
3. parse_error is set exactly when the stripped line (text = line decoded as UTF-8 with errors="replace",
   stripped of spaces, tabs, CR, LF and NUL at both ends) is empty, or starts with "<" without a valid PRI
   ("<" 1-3 ASCII digits ">" with a value of at most 191).
4. A parse error keeps the line: message == text, host == source, facility 1 / severity 5 (user.notice),
   event_time_ns == received_ns, and no other field is filled.
5. Otherwise nothing is invented: message, tag, pid and msgid are slices of text, and host is either a
   slice of text or the source.
6. structured_data is "" or a JSON object of objects of strings.
"""

import json
import re
from datetime import UTC, datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from processors.syslog.parse import ParsedLine, level_of, parse, type_of

STRIP = " \t\r\n\x00"
VALID_PRI = re.compile(r"<([0-9]{1,3})>")
SOURCE = "198.51.100.9"
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

received_times = st.integers(min_value=0, max_value=(2200 - 1970) * 365 * 86_400 * 10**9)

# Pieces that steer the parser into its branches: PRIs (good and bad), versions, timestamps in every
# supported shape (and broken ones), SD punctuation and escapes, Cisco marks, tags, BOM, invalid UTF-8.
PIECES = [
    b"<", b">", b"<13>", b"<191>", b"<192>", b"<0>", b"<1", b"1 ", b"1", b"13", b" ", b"  ", b"-", b"- ",
    b"[", b"]", b'"', b"\\", b"=", b'="', b"\\\"", b"\\]", b"\\\\", b":", b": ", b"%", b"*", b".",
    b"\xef\xbb\xbf", b"\xff", b"\xc3", b"\x00", b"\r\n", b"\n", b"\t",
    b"Oct", b"Oct 11 22:14:15", b"Feb 29 23:59:60.123", b"Mar  1 18:46:11.123", b"2025 ", b" 2025",
    b"2025-10-27T12:00:00.123+09:00", b"2003-10-11T22:14:15.003Z", b"9999-99-99T99:99:99-99:99",
    b" UTC", b" JST", b"host", b"app[1]:", b"su:", b"%LINK-3-UPDOWN:", b"%A-9-B:", b"123: ", b"R1: ",
    b"exampleSDID@32473", b'iut="3"', b"a", b"\xe6\x9d\xb1",
]  # fmt: skip
structured_lines = st.lists(st.sampled_from(PIECES), max_size=24).map(b"".join)


def check_invariants(line: bytes, received_ns: int) -> ParsedLine:
    r = parse(line, received_ns, SOURCE)
    assert isinstance(r, ParsedLine)
    assert 0 <= r.facility <= 23
    assert 0 <= r.severity <= 7
    assert r.level == level_of(r.severity)
    assert r.type == type_of(r.severity, r.facility)
    assert isinstance(r.event_time_ns, int)

    text = line.decode("utf-8", "replace").strip(STRIP)
    m = VALID_PRI.match(text)
    expect_error = not text or (text[0] == "<" and (m is None or int(m.group(1)) > 191))
    assert r.parse_error == expect_error
    if r.parse_error:
        assert r == ParsedLine(
            received_ns, SOURCE, 1, 5, "info", "notice:user", "", "", "", "", text, True, "unparsed", r.parse_issues
        )
        assert r.parse_issues[-1] in ("empty", "bad-pri")
        return r

    for part in (r.message, r.tag, r.pid, r.msgid):
        assert part in text
    assert r.host == SOURCE or r.host in text
    if r.structured_data:
        sd = json.loads(r.structured_data)
        assert isinstance(sd, dict)
        assert all(isinstance(v, dict) for v in sd.values())
        assert all(isinstance(k, str) and isinstance(v, str) for e in sd.values() for k, v in e.items())
    return r


@settings(max_examples=1000, deadline=None)
@given(st.binary(max_size=512), received_times)
def test_any_bytes(line, received_ns):
    check_invariants(line, received_ns)


@settings(max_examples=1000, deadline=None)
@given(structured_lines, received_times)
def test_syslog_shaped_bytes(line, received_ns):
    check_invariants(line, received_ns)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200), received_times)
def test_any_text(text, received_ns):
    check_invariants(text.encode("utf-8", "surrogatepass"), received_ns)


# --- round trips: what a well-formed sender puts in comes back out --------------------------------------

name_text = st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E, exclude_characters='=]" '),
                    min_size=1, max_size=12)  # fmt: skip
values = st.text(max_size=20).map(lambda s: s.replace("\x00", ""))
sd_elements = st.dictionaries(name_text, st.dictionaries(name_text, values, min_size=1, max_size=4), max_size=4)


def sd_escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("]", "\\]")


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.integers(0, 191),
    name_text,
    name_text,
    sd_elements,
    st.text(max_size=60).map(lambda s: s.strip(STRIP)),
    received_times,
)
def test_rfc5424_round_trip(pri, host, app, sd, message, received_ns):
    sd_text = "".join(
        "[" + sd_id + "".join(f' {k}="{sd_escape(v)}"' for k, v in params.items()) + "]" for sd_id, params in sd.items()
    )
    line = f"<{pri}>1 2025-10-27T12:00:00.5+09:00 {host} {app} 42 ID1 {sd_text or '-'} \ufeff{message}"
    r = check_invariants(line.encode("utf-8", "surrogatepass"), received_ns)
    expected_message = message.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
    assert (r.facility, r.severity) == divmod(pri, 8)
    assert (r.host, r.tag, r.pid, r.msgid) == (host if host != "-" else SOURCE, "" if app == "-" else app, "42", "ID1")
    assert r.message == expected_message
    assert r.event_time_ns == 1761534000_500_000_000
    expected_sd = {
        k: {n: v.encode("utf-8", "surrogatepass").decode("utf-8", "replace") for n, v in p.items()}
        for k, p in sd.items()
    }
    assert (json.loads(r.structured_data) if r.structured_data else {}) == expected_sd


tags = st.from_regex(r"[A-Za-z][A-Za-z0-9_\-/.]{1,19}", fullmatch=True)
hosts = st.from_regex(r"[a-z][a-z0-9-]{0,20}(\.[a-z]{2,5}){0,2}", fullmatch=True)


@settings(max_examples=500, deadline=None)
@given(
    st.integers(0, 191),
    st.sampled_from(MONTHS),
    st.integers(1, 28),
    hosts,
    tags,
    st.one_of(st.just(""), st.integers(0, 99999).map(str)),
    st.text(max_size=60).map(lambda s: s.strip(STRIP)),
)
def test_bsd_round_trip(pri, month, day, host, tag, pid, message):
    pid_part = f"[{pid}]" if pid else ""
    line = f"<{pri}>{month} {day:2d} 12:34:56 {host} {tag}{pid_part}: {message}".encode("utf-8", "surrogatepass")
    r = check_invariants(line, 1763787000 * 10**9)
    assert (r.facility, r.severity) == divmod(pri, 8)
    assert (r.host, r.tag, r.pid) == (host, tag, pid)
    assert r.message == message.encode("utf-8", "surrogatepass").decode("utf-8", "replace").removeprefix("\ufeff")


@settings(max_examples=500, deadline=None)
@given(received_times)
def test_bsd_line_stamped_at_receipt_gets_the_receipt_time(received_ns):
    seconds = received_ns // 10**9
    dt = datetime.fromtimestamp(seconds, UTC)
    line = f"<13>{MONTHS[dt.month - 1]} {dt.day:2d} {dt:%H:%M:%S} h a: m".encode()
    assert parse(line, received_ns, SOURCE).event_time_ns == seconds * 10**9
