"""The RELP frame parser and the receiver's answers (ingest.syslog.relp), without sockets."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ingest.syslog.relp import (
    SERVER_CLOSE,
    Frame,
    FrameReader,
    RelpError,
    encode,
    ok,
    open_accepted,
    open_refusal,
    refused,
)

MAX = 1024
OPEN = b"relp_version=0\nrelp_software=librelp,1.11.0,http://librelp.adiscon.com\ncommands=syslog"

frames = st.builds(
    Frame,
    txnr=st.integers(1, 999_999_999),
    command=st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=1, max_size=32),
    data=st.binary(max_size=MAX),
)


def _cut(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    return [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=True)]


@given(st.lists(frames, max_size=20), st.lists(st.integers(0, 10**6), max_size=30))
def test_frames_come_out_whole_however_the_stream_is_cut(sent: list[Frame], cuts: list[int]) -> None:
    stream = b"".join(encode(f.txnr, f.command, f.data) for f in sent)
    reader = FrameReader(MAX)
    got: list[Frame] = []
    for piece in _cut(stream, cuts):
        got += reader.feed(piece)
    assert got == sent
    assert reader.buffered == 0


def test_what_rsyslog_sends() -> None:
    reader = FrameReader(MAX)
    stream = b"1 open %d %s\n2 syslog 25 <13>host app: line 1 of 2\n3 close 0\n" % (len(OPEN), OPEN)
    assert reader.feed(stream) == [
        Frame(1, "open", OPEN),
        Frame(2, "syslog", b"<13>host app: line 1 of 2"),
        Frame(3, "close", b""),
    ]


def test_an_empty_frame_may_have_a_space_before_its_newline() -> None:
    assert FrameReader(MAX).feed(b"7 close 0 \n") == [Frame(7, "close", b"")]


@given(st.binary(max_size=200))
def test_any_bytes_give_frames_or_a_relp_error_and_nothing_else(data: bytes) -> None:
    reader = FrameReader(MAX)
    try:
        reader.feed(data)
    except RelpError:
        return
    assert reader.buffered <= len(data)


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (b"x syslog 3 abc\n", "transaction number"),
        (b"1234567890 syslog 3 abc\n", "transaction number"),
        (b" syslog 3 abc\n", "empty transaction number"),
        (b"1\nsyslog 3 abc\n", "transaction number"),
        (b"1 sys-log 3 abc\n", "command"),
        (b"1 " + b"a" * 33 + b" 3 abc\n", "command"),
        (b"1 syslog 3x abc\n", "data length"),
        (b"1 syslog 3 abcd\n", "no newline after 3 data bytes"),
        (b"1 syslog 3\n", "data length 3 but no data"),
        (b"1 syslog 3\tabc\n", "data length"),
        (b"1 syslog 1025 " + b"a" * 1025 + b"\n", "over the limit of 1024"),
        (b"1 syslog 999999999 ", "over the limit"),
    ],
)
def test_malformed_frames_are_refused_with_the_reason(data: bytes, why: str) -> None:
    with pytest.raises(RelpError, match=why):
        FrameReader(MAX).feed(data)


def test_an_oversized_frame_is_refused_before_its_data_arrives() -> None:
    """The limit bounds memory: the header alone is enough to refuse it."""
    with pytest.raises(RelpError, match="over the limit"):
        FrameReader(MAX).feed(b"5 syslog 2000000 ")


def test_a_header_without_separators_is_refused_once_it_cannot_be_valid() -> None:
    reader = FrameReader(MAX)
    assert reader.feed(b"123456789") == []  # a 9-digit txnr may still be followed by a space
    with pytest.raises(RelpError, match="longer than 9"):
        reader.feed(b"0")


def test_answers() -> None:
    assert ok(12) == b"12 rsp 6 200 OK\n"
    assert refused(3, "not stored") == b"3 rsp 14 500 not stored\n"
    assert SERVER_CLOSE == b"0 serverclose 0\n"
    (answer,) = FrameReader(MAX).feed(open_accepted(1))
    assert answer.command == "rsp" and answer.data.startswith(b"200 OK\n")
    assert b"commands=syslog" in answer.data


def test_open_is_accepted_only_for_version_0_with_syslog() -> None:
    assert open_refusal(OPEN) is None
    assert "relp_version" in (open_refusal(OPEN.replace(b"relp_version=0", b"relp_version=1")) or "")
    assert "syslog" in (open_refusal(b"relp_version=0\ncommands=other") or "")
