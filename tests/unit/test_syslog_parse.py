"""Unit tests for processors.syslog.parse: RFC 5424, RFC 3164, what logger sends and vendor variants."""

import json
import time
from datetime import UTC, datetime, timezone

import pytest

from processors.syslog.miner import Miner
from processors.syslog.parse import ParsedLine, level_of, mining_text, parse, type_of

SOURCE = "192.0.2.55"
BOM = b"\xef\xbb\xbf"


def ns(*args: int, tz: timezone = UTC) -> int:
    """ns since the epoch for datetime(*args) with microseconds as the 7th argument."""
    dt = datetime(*args, tzinfo=tz)
    return (int(dt.timestamp()) * 1_000_000 + dt.microsecond) * 1000


RECEIVED = ns(2025, 11, 22, 4, 50, 0)


def p(line: bytes, received_ns: int = RECEIVED) -> ParsedLine:
    return parse(line, received_ns, SOURCE)


# --- RFC 5424 -------------------------------------------------------------------------------------------


def test_rfc5424_example_1_nil_sd_and_bom():
    r = p(b"<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - " + BOM
          + b"'su root' failed for lonvick on /dev/pts/8")  # fmt: skip
    assert r == ParsedLine(
        event_time_ns=ns(2003, 10, 11, 22, 14, 15, 3000),
        host="mymachine.example.com",
        facility=4,
        severity=2,
        level="high",
        type="crit:auth",
        tag="su",
        pid="",
        msgid="ID47",
        structured_data="",
        message="'su root' failed for lonvick on /dev/pts/8",
        parse_error=False,
        compliance="rfc5424",
        parse_issues=(),
    )


def test_rfc5424_example_2_offset_and_microseconds():
    r = p(b"<165>1 2003-08-24T05:14:15.000003-07:00 192.0.2.1 myproc 8710 - - %% It's time to make the do-nuts.")
    assert r.event_time_ns == ns(2003, 8, 24, 12, 14, 15, 3)
    assert (r.host, r.tag, r.pid, r.msgid) == ("192.0.2.1", "myproc", "8710", "")
    assert (r.facility, r.severity, r.type, r.level) == (20, 5, "notice:local4", "info")
    assert r.message == "%% It's time to make the do-nuts."


def test_rfc5424_example_3_structured_data_and_message():
    r = p(b'<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" '
          b'eventSource="Application" eventID="1011"] ' + BOM + b"An application event log entry...")  # fmt: skip
    assert json.loads(r.structured_data) == {
        "exampleSDID@32473": {"iut": "3", "eventSource": "Application", "eventID": "1011"}
    }
    assert r.structured_data == (
        '{"exampleSDID@32473":{"iut":"3","eventSource":"Application","eventID":"1011"}}'
    )  # compact
    assert (r.tag, r.msgid, r.message) == ("evntslog", "ID47", "An application event log entry...")


def test_rfc5424_example_4_two_elements_no_message():
    r = p(b'<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" '
          b'eventSource="Application" eventID="1011"][examplePriority@32473 class="high"]')  # fmt: skip
    assert json.loads(r.structured_data) == {
        "exampleSDID@32473": {"iut": "3", "eventSource": "Application", "eventID": "1011"},
        "examplePriority@32473": {"class": "high"},
    }
    assert r.message == ""
    assert not r.parse_error


def test_rfc5424_sd_escapes():
    r = p(rb'<14>1 2025-01-02T03:04:05Z h app - - [esc@1 q="say \"hi\"" b="back\\slash" c="close\] here" '
          rb'o="keep \n as is" e=""][x@2 k="v"] done')  # fmt: skip
    assert json.loads(r.structured_data) == {
        "esc@1": {"q": 'say "hi"', "b": "back\\slash", "c": "close] here", "o": "keep \\n as is", "e": ""},
        "x@2": {"k": "v"},
    }
    assert r.message == "done"


def test_rfc5424_sd_value_ending_in_escaped_backslash():
    r = p(rb'<14>1 2025-01-02T03:04:05Z h app - - [a@1 p="dir\\" q="x"] m')
    assert json.loads(r.structured_data) == {"a@1": {"p": "dir\\", "q": "x"}}
    assert r.message == "m"


def test_rfc5424_sd_non_ascii_value_kept_unescaped_in_json():
    r = p('<14>1 2025-01-02T03:04:05Z h app - - [a@1 name="東京"] m'.encode())
    assert r.structured_data == '{"a@1":{"name":"東京"}}'


def test_rfc5424_repeated_sd_id_merges_and_last_param_wins():
    r = p(b'<14>1 2025-01-02T03:04:05Z h app - - [a@1 x="1" x="2"][a@1 y="3"] m')
    assert json.loads(r.structured_data) == {"a@1": {"x": "2", "y": "3"}}


@pytest.mark.parametrize(
    "sd",
    [
        b"[unterminated",
        b'[a@1 x="no close quote]',
        b"[a@1 x=noquotes]",
        b"[]",
        b'[a@1 x="1"',
        b'[a@1  x="1"]',
        b'[a@1 x="]"',
        b'[a@1 x="1"y]',
    ],
)
def test_rfc5424_malformed_sd_stays_in_message(sd):
    r = p(b"<14>1 2025-01-02T03:04:05Z h app - - " + sd)
    assert not r.parse_error
    assert r.structured_data == ""
    assert r.message == sd.decode()
    assert (r.host, r.tag) == ("h", "app")


def test_rfc5424_nil_values_from_logger():
    # `logger --rfc5424=notime,nohost hi` sends exactly this.
    r = p(b"<13>1 - - root - - - hi")
    assert (r.event_time_ns, r.host, r.tag, r.pid, r.msgid, r.structured_data, r.message) == (
        RECEIVED, SOURCE, "root", "", "", "", "hi",
    )  # fmt: skip


def test_rfc5424_from_logger_with_sd_and_msgid():
    # `logger --rfc5424 --sd-id zoo@123 --sd-param tiger=... --msgid ID47 -i -t app hello sd`
    r = p(b'<13>1 2026-11-22T04:55:55.582080+00:00 vm app 5262 ID47 [timeQuality tzKnown="1" isSynced="0"]'
          b'[zoo@123 tiger="hungry \\"x\\""] hello sd')  # fmt: skip
    assert r.event_time_ns == ns(2026, 11, 22, 4, 55, 55, 582080)
    assert (r.host, r.tag, r.pid, r.msgid, r.message) == ("vm", "app", "5262", "ID47", "hello sd")
    assert json.loads(r.structured_data)["zoo@123"] == {"tiger": 'hungry "x"'}


@pytest.mark.parametrize(
    ("stamp", "expected"),
    [
        (b"2025-10-27T12:00:00Z", ns(2025, 10, 27, 12, 0, 0)),
        (b"2025-10-27T12:00:00.5+09:00", ns(2025, 10, 27, 3, 0, 0, 500000)),
        (b"2025-10-27T12:00:00.123456789-05:30", ns(2025, 10, 27, 17, 30, 0) + 123456789),
        (b"2025-10-27T12:00:00+0900", ns(2025, 10, 27, 3, 0, 0)),
        (b"2025-10-27T12:00:00", ns(2025, 10, 27, 12, 0, 0)),  # no offset: UTC
        (b"2024-02-29T23:59:59.999Z", ns(2024, 2, 29, 23, 59, 59, 999000)),
        (b"2025-02-29T00:00:00Z", RECEIVED),  # not a date
        (b"2025-13-01T00:00:00Z", RECEIVED),
        (b"2025-10-27T24:00:00Z", RECEIVED),
        (b"2025-10-27T12:00:00+24:00", RECEIVED),
        (b"0001-01-01T00:00:00Z", RECEIVED),  # outside DateTime64
    ],
)
def test_rfc5424_timestamps(stamp, expected):
    r = p(b"<13>1 " + stamp + b" h app - - - m")
    assert r.event_time_ns == expected
    assert (r.host, r.message) == ("h", "m")


def test_rfc5424_version_without_timestamp_is_read_as_bsd_content():
    r = p(b"<13>1 packet dropped")
    assert not r.parse_error
    assert (r.event_time_ns, r.host, r.tag, r.message) == (RECEIVED, SOURCE, "", "1 packet dropped")


def test_rfc5424_truncated_header():
    r = p(b"<13>1 2025-10-27T12:00:00Z h")
    assert not r.parse_error
    assert (r.host, r.tag, r.message) == ("h", "", "")


# --- RFC 3164 / BSD -------------------------------------------------------------------------------------


def test_rfc3164_example_1():
    r = p(b"<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8")
    assert r == ParsedLine(
        event_time_ns=ns(2025, 10, 11, 22, 14, 15),
        host="mymachine",
        facility=4,
        severity=2,
        level="high",
        type="crit:auth",
        tag="su",
        pid="",
        msgid="",
        structured_data="",
        message="'su root' failed for lonvick on /dev/pts/8",
        parse_error=False,
        compliance="rfc3164",
        parse_issues=(),
    )


def test_rfc3164_example_2_no_pri_is_user_notice():
    r = p(b"Use the BFG!")
    assert (r.facility, r.severity, r.type, r.level) == (1, 5, "notice:user", "info")
    assert (r.host, r.tag, r.message, r.event_time_ns, r.parse_error) == (
        SOURCE, "", "Use the BFG!", RECEIVED, False,
    )  # fmt: skip


def test_rfc3164_example_3_bad_timestamp_tail_goes_to_host_and_content():
    # The RFC's relay reads "CST" as the HOSTNAME here; so do we, and keep the rest as the message.
    r = p(b"<165>Aug 24 05:34:00 CST 1987 mymachine myproc[10]: %% It's time to make the do-nuts.  %%  "
          b"Ingredients: Mix=OK, Jet=OK, Fat=OK")  # fmt: skip
    assert r.event_time_ns == ns(2025, 8, 24, 5, 34, 0)
    assert (r.facility, r.severity, r.host) == (20, 5, "CST")
    assert r.message.startswith("1987 mymachine myproc[10]: %% It's time")


def test_rfc3164_example_4_never_fails():
    r = p(b"<0>1990 Oct 22 10:52:01 TZ-6 scapegoat.dmz.example.org 10.1.2.3 sched[0]: That's All Folks!")
    assert not r.parse_error
    assert (r.facility, r.severity, r.type, r.level) == (0, 0, "emerg:kern", "high")
    assert r.message.endswith("sched[0]: That's All Folks!")


@pytest.mark.parametrize(
    ("line", "host", "tag", "pid", "message", "type_"),
    [
        # What `logger --rfc3164` sends (captured from util-linux logger over UDP).
        (b"<13>Nov 22 04:55:55 vm root: hello world", "vm", "root", "", "hello world", "notice:user"),
        (b"<187>Nov 22 04:55:55 vm myapp[5260]: hello", "vm", "myapp", "5260", "hello", "err:local7"),
        (b"<38>Nov 22 04:55:55 gw sshd[1234]: Accepted publickey for ops from 10.0.0.5 port 51234 ssh2",
         "gw", "sshd", "1234", "Accepted publickey for ops from 10.0.0.5 port 51234 ssh2", "info:auth"),
        (b"<22>Nov 22 04:55:55 mx postfix/smtpd[77]: connect from unknown[198.51.100.7]",
         "mx", "postfix/smtpd", "77", "connect from unknown[198.51.100.7]", "info:mail"),
        (b"<4>Nov 22 04:55:55 fw kernel: [12345.678] eth0: link up", "fw", "kernel", "",
         "[12345.678] eth0: link up", "warning:kern"),
        (b"<78>Nov 22 04:55:55 h CRON[9]: (root) CMD (run-parts /etc/cron.hourly)", "h", "CRON", "9",
         "(root) CMD (run-parts /etc/cron.hourly)", "info:cron"),
        (b"<30>Nov 22 04:55:55 h app[42] no colon after pid", "h", "app", "42", "no colon after pid",
         "info:daemon"),
        # A space ends the TAG as well (RFC 3164 4.1.3; rsyslog and syslog-ng read it so).
        (b"<13>Nov 22 04:55:55 h just words here", "h", "just", "", "words here", "notice:user"),
        (b"<13>Nov 22 04:55:55 h tag:", "h", "tag", "", "", "notice:user"),
        (b"<13>Nov 22 04:55:55 h [INFO] bracketed level", "h", "", "", "[INFO] bracketed level", "notice:user"),
        (b"<13>Nov 22 04:55:55 h", SOURCE, "", "", "h", "notice:user"),
        (b"<13>Nov 22 04:55:55", SOURCE, "", "", "", "notice:user"),
        (b"<13>Nov 22 04:55:55 h a: " + BOM + b"bom msg", "h", "a", "", "bom msg", "notice:user"),
    ],
)  # fmt: skip
def test_bsd_header_and_tag(line, host, tag, pid, message, type_):
    r = p(line)
    assert (r.host, r.tag, r.pid, r.msgid, r.message, r.type) == (host, tag, pid, "", message, type_)
    assert not r.parse_error


def test_bsd_space_padded_day_and_unpadded_day():
    assert p(b"<13>Oct  1 02:03:04 h a: m").event_time_ns == ns(2025, 10, 1, 2, 3, 4)
    assert p(b"<13>Oct 1 02:03:04 h a: m").event_time_ns == ns(2025, 10, 1, 2, 3, 4)
    assert p(b"<13>Oct 01 02:03:04 h a: m").event_time_ns == ns(2025, 10, 1, 2, 3, 4)


@pytest.mark.parametrize(
    ("stamp", "received", "expected"),
    [
        ("Nov 22 04:49:00", ns(2025, 11, 22, 4, 50), ns(2025, 11, 22, 4, 49)),
        ("Dec 31 23:59:59", ns(2026, 1, 1, 0, 0, 5), ns(2025, 12, 31, 23, 59, 59)),  # December in January
        ("Dec 20 10:00:00", ns(2026, 1, 15), ns(2025, 12, 20, 10)),
        ("Jan  1 00:00:01", ns(2025, 12, 31, 23, 59, 50), ns(2026, 1, 1, 0, 0, 1)),  # sender ahead over New Year
        ("Nov 22 13:50:00", ns(2025, 11, 22, 4, 50), ns(2025, 11, 22, 13, 50)),  # local time, a zone ahead
        ("Dec 25 00:00:00", ns(2025, 11, 22), ns(2024, 12, 25)),  # far in the future: last year
        ("Sep  1 00:00:00", ns(2025, 11, 22), ns(2025, 9, 1)),  # late, but this year
        ("Feb 29 12:00:00", ns(2024, 3, 1), ns(2024, 2, 29, 12)),
        ("Feb 29 12:00:00", ns(2025, 3, 1), ns(2025, 3, 1)),  # no Feb 29 in 2025: received time
        ("Oct 32 12:00:00", ns(2025, 11, 22), ns(2025, 11, 22)),
        ("Oct 11 25:00:00", ns(2025, 11, 22), ns(2025, 11, 22)),
        ("Oct 11 22:14:15.5", ns(2025, 11, 22), ns(2025, 10, 11, 22, 14, 15, 500000)),
    ],
)
def test_bsd_year_inference(stamp, received, expected):
    r = p(f"<13>{stamp} h a: m".encode(), received)
    assert r.event_time_ns == expected
    assert (r.host, r.tag, r.message) == ("h", "a", "m")


def test_bsd_tolerates_extra_spaces():
    r = p(b"<13> Oct 11 22:14:15  host   app[7]: msg")
    assert (r.host, r.tag, r.pid, r.message) == ("host", "app", "7", "msg")
    assert r.event_time_ns == ns(2025, 10, 11, 22, 14, 15)


def test_bsd_missing_hostname():
    r = p(b"<13>Oct 11 22:14:15 su: 'su root' failed")
    assert (r.host, r.tag, r.message) == (SOURCE, "su", "'su root' failed")
    assert r.event_time_ns == ns(2025, 10, 11, 22, 14, 15)
    r = p(b"<13>Oct 11 22:14:15 sshd[42]: Connection closed")
    assert (r.host, r.tag, r.pid, r.message) == (SOURCE, "sshd", "42", "Connection closed")


def test_bsd_with_iso_timestamp():
    r = p(b"<34>2025-10-27T12:00:00.123+09:00 host app[1]: msg")
    assert r.event_time_ns == ns(2025, 10, 27, 3, 0, 0, 123000)
    assert (r.host, r.tag, r.pid, r.message, r.facility, r.severity) == ("host", "app", "1", "msg", 4, 2)


def test_bsd_without_pri():
    r = p(b"Oct 11 22:14:15 host app: msg")
    assert (r.facility, r.severity, r.parse_error) == (1, 5, False)
    assert (r.host, r.tag, r.message) == ("host", "app", "msg")
    assert r.event_time_ns == ns(2025, 10, 11, 22, 14, 15)


def test_plain_text_without_pri_is_all_message():
    r = p(b"error: disk full on /var")
    assert (r.facility, r.severity, r.parse_error) == (1, 5, False)
    assert (r.host, r.tag, r.message, r.event_time_ns) == (SOURCE, "", "error: disk full on /var", RECEIVED)


def test_pri_without_timestamp_keeps_the_tag():
    r = p(b"<13>su: 'su root' failed")
    assert (r.host, r.tag, r.message, r.event_time_ns) == (SOURCE, "su", "'su root' failed", RECEIVED)


# --- Cisco and other vendors ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "host", "tag", "msgid", "message", "event_ns"),
    [
        # "*": the device clock is not synchronised; its time is still the device's (as rsyslog, syslog-ng read it).
        (b"<189>123: *Mar  1 18:46:11.123: %LINK-3-UPDOWN: Interface GigabitEthernet0/1, changed state to up",
         SOURCE, "%LINK-3-UPDOWN", "LINK-3-UPDOWN", "Interface GigabitEthernet0/1, changed state to up",
         ns(2025, 3, 1, 18, 46, 11, 123000)),
        (b"<189>124: Mar  1 18:46:11.123: %LINK-3-UPDOWN: Interface GigabitEthernet0/1, changed state to down",
         SOURCE, "%LINK-3-UPDOWN", "LINK-3-UPDOWN", "Interface GigabitEthernet0/1, changed state to down",
         ns(2025, 3, 1, 18, 46, 11, 123000)),
        # "logging origin-id hostname" and "service timestamps log datetime msec show-timezone".
        (b"<189>125: R1: Mar  1 18:46:11.123 JST: %SYS-5-CONFIG_I: Configured from console by vty0",
         "R1", "%SYS-5-CONFIG_I", "SYS-5-CONFIG_I", "Configured from console by vty0",
         ns(2025, 3, 1, 9, 46, 11, 123000)),
        (b"<189>126: R1: Nov 22 04:40:00 UTC: %SYS-5-CONFIG_I: Configured from console by vty0",
         "R1", "%SYS-5-CONFIG_I", "SYS-5-CONFIG_I", "Configured from console by vty0", ns(2025, 11, 22, 4, 40)),
        (b"<189>127: .Nov 22 04:40:00 XYZ: %SYS-5-CONFIG_I: Configured from console by vty0",
         SOURCE, "%SYS-5-CONFIG_I", "SYS-5-CONFIG_I", "Configured from console by vty0", ns(2025, 11, 22, 4, 40)),
        # Forwarded by a relay that added its own BSD header.
        (b"<189>Nov 22 04:49:59 10.1.1.1 128: *Nov 22 04:49:59.123: %SYS-5-CONFIG_I: Configured from console",
         "10.1.1.1", "%SYS-5-CONFIG_I", "SYS-5-CONFIG_I", "Configured from console", ns(2025, 11, 22, 4, 49, 59)),
        (b"<189>Nov 22 04:49:59 r2 %SYS-5-CONFIG_I: Configured from console",
         "r2", "%SYS-5-CONFIG_I", "SYS-5-CONFIG_I", "Configured from console", ns(2025, 11, 22, 4, 49, 59)),
        # "no service timestamps".
        (b"<189>129: %SYS-5-CONFIG_I: Configured from console by vty0",
         SOURCE, "%SYS-5-CONFIG_I", "SYS-5-CONFIG_I", "Configured from console by vty0", RECEIVED),
        # NX-OS: empty sequence number, year first.
        (b"<189>: 2025 Oct 27 12:00:00 UTC: %ETHPORT-5-IF_UP: Interface Ethernet1/1 is up in mode access",
         SOURCE, "%ETHPORT-5-IF_UP", "ETHPORT-5-IF_UP", "Interface Ethernet1/1 is up in mode access",
         ns(2025, 10, 27, 12)),
        # A facility with a dash (IOS XR).
        (b"<187>Nov 22 04:40:00 xr1 %PKT_INFRA-LINK-3-UPDOWN: Interface Gi0/0/0/0, changed state to Down",
         "xr1", "%PKT_INFRA-LINK-3-UPDOWN", "PKT_INFRA-LINK-3-UPDOWN", "Interface Gi0/0/0/0, changed state to Down",
         ns(2025, 11, 22, 4, 40)),
        # ASA: year after the day, "host :" before the mnemonic; or no header at all.
        (b"<166>Oct 27 2025 12:00:00 fw1 : %ASA-6-302013: Built outbound TCP connection 1 for outside",
         "fw1", "%ASA-6-302013", "ASA-6-302013", "Built outbound TCP connection 1 for outside", ns(2025, 10, 27, 12)),
        (b"<166>Oct 27 2025 12:00:00: %ASA-6-302013: Built outbound TCP connection 1 for outside",
         SOURCE, "%ASA-6-302013", "ASA-6-302013", "Built outbound TCP connection 1 for outside", ns(2025, 10, 27, 12)),
        (b"<166>%ASA-6-302013: Built outbound TCP connection 1 for outside",
         SOURCE, "%ASA-6-302013", "ASA-6-302013", "Built outbound TCP connection 1 for outside", RECEIVED),
        # Not a mnemonic (severity is not a digit 0-7): an ordinary tag.
        (b"<13>Nov 22 04:40:00 h %FOO-BAR: x", "h", "%FOO-BAR", "", "x", ns(2025, 11, 22, 4, 40)),
    ],
)  # fmt: skip
def test_cisco_variants(line, host, tag, msgid, message, event_ns):
    r = p(line)
    assert (r.host, r.tag, r.pid, r.msgid, r.message, r.event_time_ns) == (host, tag, "", msgid, message, event_ns)
    assert not r.parse_error


def test_cisco_severity_comes_from_pri_not_mnemonic():
    r = p(b"<187>131: %LINK-5-CHANGED: Interface Gi0/1, changed state to administratively down")
    assert (r.facility, r.severity, r.type, r.level) == (23, 3, "err:local7", "low")


# --- errors, framing, encodings -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "line",
    [b"<192>Oct 11 22:14:15 h a: m", b"<999>x", b"<abc>x", b"<>x", b"<1234>x", b"<13", b"<", b"<-1>x",
     b"<\xd9\xa3>x", b"<html><body>", b"< 13>x"],
)  # fmt: skip
def test_bad_pri_is_a_parse_error_that_keeps_the_line(line):
    r = p(line)
    assert r == ParsedLine(
        event_time_ns=RECEIVED,
        host=SOURCE,
        facility=1,
        severity=5,
        level="info",
        type="notice:user",
        tag="",
        pid="",
        msgid="",
        structured_data="",
        message=line.decode("utf-8", "replace"),
        parse_error=True,
        compliance="unparsed",
        parse_issues=("bad-pri",),
    )


@pytest.mark.parametrize("line", [b"", b" ", b"\r\n", b"\n", b"\x00\x00", b" \t \r\n"])
def test_empty_and_blank_lines_are_parse_errors(line):
    r = p(line)
    assert r.parse_error
    assert (r.message, r.host, r.event_time_ns) == ("", SOURCE, RECEIVED)


def test_pri_edges():
    assert (p(b"<0>Oct 11 22:14:15 h a: m").facility, p(b"<0>x").severity) == (0, 0)
    r = p(b"<191>Oct 11 22:14:15 h a: m")
    assert (r.facility, r.severity, r.type, r.level, r.parse_error) == (23, 7, "debug:local7", "debug", False)
    assert p(b"<013>Oct 11 22:14:15 h a: m").severity == 5  # leading zero tolerated


@pytest.mark.parametrize("ending", [b"\n", b"\r\n", b"\x00", b"\r\n\x00", b"   \n"])
def test_trailing_framing_is_stripped(ending):
    r = p(b"<13>Oct 11 22:14:15 h a: message" + ending)
    assert r.message == "message"
    r = p(b"<13>1 2025-01-01T00:00:00Z h a - - - message" + ending)
    assert r.message == "message"


def test_invalid_utf8_is_replaced_not_raised():
    sjis = "障害発生".encode("shift_jis")
    r = p(b"<11>Oct 11 22:14:15 h app: " + sjis + b" \xff\xfe end")
    assert not r.parse_error
    assert r.message == (sjis + b" \xff\xfe end").decode("utf-8", "replace")
    assert "\ufffd" in r.message
    assert r.message.endswith(" end")


def test_utf8_message_kept():
    r = p("<13>Oct 11 22:14:15 h app: インターフェース Gi0/1 ダウン".encode())
    assert r.message == "インターフェース Gi0/1 ダウン"


def test_binary_garbage_does_not_raise():
    r = p(bytes(range(256)))
    assert isinstance(r, ParsedLine)


def test_pathological_lines_stay_fast():
    lines = [
        b"<13>" + b"1: " * 30_000,
        b"<13>1 2025-01-01T00:00:00Z h a - - " + b"[a" * 30_000,
        b'<13>1 2025-01-01T00:00:00Z h a - - [a x="' + b"\\" * 60_000,
        b"<13>1 2025-01-01T00:00:00Z h a - - " + b'[a x="\\""]' * 10_000,
        b"<13>" + b"a" * 100_000,
        b"<13>Oct 11 22:14:15 " + b"a[" * 50_000 + b":",
        b"<13>" + b"*" * 100_000,
    ]
    start = time.perf_counter()
    for line in lines:
        p(line)
    assert time.perf_counter() - start < 2.0  # quadratic behaviour would take minutes


# --- helpers --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("severity", "level"),
    [(0, "high"), (1, "high"), (2, "high"), (3, "low"), (4, "warn"), (5, "info"), (6, "info"), (7, "debug")],
)
def test_level_of(severity, level):
    assert level_of(severity) == level


def test_type_of():
    assert type_of(3, 3) == "err:daemon"  # TWSNMP FK's documented example
    assert type_of(6, 23) == "info:local7"
    assert type_of(0, 0) == "emerg:kern"
    assert type_of(4, 10) == "warning:authpriv"
    assert [type_of(7, f).split(":")[1] for f in range(12, 17)] == ["ntp", "logaudit", "logalert", "clock", "local0"]
    assert type_of(8, 0) == "unknown:kern"
    assert type_of(0, 24) == "emerg:unknown"
    assert level_of(-1) == "unknown"


def test_every_pri_maps_to_facility_severity_level_and_type():
    for pri in range(192):
        r = p(f"<{pri}>Oct 11 22:14:15 h a: m".encode())
        assert (r.facility, r.severity) == divmod(pri, 8)
        assert r.level == level_of(r.severity)
        assert r.type == type_of(r.severity, r.facility)


def test_mining_text_is_the_same_whatever_framing_carried_a_cisco_event():
    """Issue 12: one Cisco event, framed as RFC 3164 or RFC 5424 (with or without an APP-NAME), one text."""
    framings = [
        b"<189>Mar  1 18:46:11 r1 %BGP-5-ADJCHANGE: neighbor 10.0.0.1 Up",
        b"<189>123: *Mar  1 18:46:11.123: %BGP-5-ADJCHANGE: neighbor 10.0.0.1 Up",
        b"<189>45: r1: Mar  1 18:46:11 UTC: %BGP-5-ADJCHANGE: neighbor 10.0.0.1 Up",
        b"<189>1 2026-03-01T18:46:11Z r1 - - - - %BGP-5-ADJCHANGE: neighbor 10.0.0.1 Up",
        b"<189>1 2026-03-01T18:46:11Z r1 BGP - - - %BGP-5-ADJCHANGE: neighbor 10.0.0.1 Up",
        b'<189>1 2026-03-01T18:46:11Z r1 IOS 77 ADJCHANGE [meta sequenceId="1"] %BGP-5-ADJCHANGE: neighbor 10.0.0.1 Up',
        b"<189>1 2026-03-01T18:46:11Z r1 - - BGP-5-ADJCHANGE - neighbor 10.0.0.1 Up",
    ]
    texts = {mining_text(p(line)) for line in framings}
    assert texts == {"BGP neighbor 10.0.0.1 Up"}
    assert {p(line).msgid for line in framings} == {"BGP-5-ADJCHANGE"}
    miner = Miner()
    assert len({miner.add(mining_text(p(line)), 0) for line in framings}) == 1


def test_mining_text():
    assert mining_text(p(b"<13>Oct 11 22:14:15 h sshd[1]: Accepted key")) == "sshd Accepted key"
    assert mining_text(p(b"<13>Oct 11 22:14:15 h just words")) == "just words"


def test_parsed_line_is_frozen():
    r = p(b"<13>Oct 11 22:14:15 h a: m")
    with pytest.raises(AttributeError):
        r.host = "x"  # type: ignore[misc]


def test_year_cache_follows_the_received_time():
    # Alternate between years: the cached year of the last line must never leak into the next.
    cases = [
        (ns(2025, 1, 1), ns(2025, 1, 1)),
        (ns(2024, 12, 31, 23, 59, 59), ns(2025, 1, 1)),  # a second before New Year: next year's Jan 1
        (ns(2100, 3, 1), ns(2100, 1, 1)),
        (ns(1970, 1, 1), ns(1970, 1, 1)),
        (ns(2025, 1, 1) - 1, ns(2025, 1, 1)),
        (ns(2024, 6, 1), ns(2024, 1, 1)),
    ]
    for received, expected in cases * 2:
        assert p(b"<13>Jan  1 00:00:00 h a: m", received).event_time_ns == expected


def test_rfc5424_percent_that_starts_no_cisco_mnemonic_keeps_the_header_fields():
    """Found by the round-trip property: a message "%" took the header's MSGID away."""
    r = p(b"<0>1 2026-01-01T00:00:00Z h - 42 ID1 - %")
    assert (r.tag, r.pid, r.msgid, r.message) == ("", "42", "ID1", "%")
    cisco = p(b"<189>1 2026-01-01T00:00:00Z r1 - - - - %BGP-5-ADJCHANGE: neighbor 10.0.0.1 Up")
    assert (cisco.tag, cisco.msgid, cisco.message) == ("%BGP-5-ADJCHANGE", "BGP-5-ADJCHANGE", "neighbor 10.0.0.1 Up")
