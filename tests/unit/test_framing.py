"""The TCP splitter: both framings, the limit, bad counts, end of stream, and chunking independence."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.syslog.framing import Splitter
from schemas.raw_syslog import LineFlag

OV = int(LineFlag.OVERSIZED)
TR = int(LineFlag.TRUNCATED)
FR = int(LineFlag.FRAMING)


def split(data: bytes, max_line: int = 64, chunks: list[int] | None = None) -> list[tuple[bytes, int]]:
    """All (line, flag) pairs of a stream fed in the given chunk sizes (one read if None), then closed."""
    splitter = Splitter(max_line)
    out: list[tuple[bytes, int]] = []
    pos = 0
    for size in chunks or []:
        lines, flags = splitter.feed(data[pos : pos + size])
        out.extend(zip(lines, flags, strict=True))
        pos += size
    lines, flags = splitter.feed(data[pos:])
    out.extend(zip(lines, flags, strict=True))
    lines, flags = splitter.close()
    out.extend(zip(lines, flags, strict=True))
    return out


def test_newline_framing_lf_and_crlf():
    assert split(b"<13>a\n<14>b\r\n<15>c\n") == [(b"<13>a", 0), (b"<14>b", 0), (b"<15>c", 0)]


def test_empty_lines_carry_nothing_and_are_skipped():
    assert split(b"\n\r\n<13>a\n\n") == [(b"<13>a", 0)]


def test_cr_inside_a_line_is_content():
    assert split(b"<13>a\rb\n") == [(b"<13>a\rb", 0)]


def test_octet_counting_keeps_newlines_inside_the_frame():
    assert split(b"5 ab\ncd3 xyz") == [(b"ab\ncd", 0), (b"xyz", 0)]


def test_framings_mix_per_frame():
    data = b"<13>plain\n11 <13>counted<13>again\n"
    assert split(data) == [(b"<13>plain", 0), (b"<13>counted", 0), (b"<13>again", 0)]


def test_octet_count_as_util_linux_logger_sends_it():
    body = b'<13>1 2026-11-22T05:00:49.328453+00:00 vm root - - [timeQuality tzKnown="1"] tcp 5424 oc'
    assert split(b"%d %s" % (len(body), body), max_line=256) == [(body, 0)]


def test_a_newline_after_an_octet_frame_is_tolerated():
    assert split(b"3 abc\n3 def\n") == [(b"abc", 0), (b"def", 0)]


def test_line_of_exactly_the_limit_is_not_oversized():
    assert split(b"<" + b"x" * 7 + b"\n", max_line=8) == [(b"<xxxxxxx", 0)]
    assert split(b"<" + b"x" * 7 + b"\r\n", max_line=8, chunks=[9]) == [(b"<xxxxxxx", 0)]


def test_oversized_line_is_split_into_pieces_of_the_limit():
    line = b"<" + b"x" * 19
    assert split(line + b"\nnext\n", max_line=8) == [
        (line[0:8], OV),
        (line[8:16], OV),
        (line[16:20], OV),
        (b"next", 0),
    ]


def test_oversized_line_is_given_out_before_its_newline_arrives():
    splitter = Splitter(8)
    lines, flags = splitter.feed(b"<" + b"x" * 20)
    assert lines == [b"<xxxxxxx", b"x" * 8] and flags == [OV, OV]
    lines, flags = splitter.feed(b"yy\n")
    assert lines == [b"xxxxxyy"] and flags == [OV]


def test_oversized_line_that_is_a_multiple_of_the_limit():
    assert split(b"a" * 16 + b"\n", max_line=8, chunks=[16]) == [(b"a" * 8, OV), (b"a" * 8, OV)]


def test_octet_count_above_the_limit_is_a_framing_error_kept_to_the_newline():
    assert split(b"9 123456789\n<13>ok\n", max_line=8) == [
        (b"9 123456", FR | OV),
        (b"789", FR | OV),
        (b"<13>ok", 0),
    ]


def test_absurd_octet_count_is_a_framing_error_and_resynchronises():
    assert split(b"99999999999 x\n3 abc", max_line=65536) == [(b"99999999999 x", FR), (b"abc", 0)]


def test_digits_not_followed_by_a_space_are_a_framing_error():
    assert split(b"2024-01-01 host msg\n<13>ok\n") == [(b"2024-01-01 host msg", FR), (b"<13>ok", 0)]


def test_leading_zero_is_not_a_valid_count():
    assert split(b"05 abcde\n") == [(b"05 abcde", FR)]
    assert split(b"0 \n") == [(b"0 ", FR)]


def test_framing_error_at_end_of_stream_is_truncated_too():
    assert split(b"12x", chunks=[1, 1]) == [(b"12x", FR | TR)]


def test_close_mid_octet_frame_keeps_the_partial_body():
    assert split(b"3 abc10 <13>part") == [(b"abc", 0), (b"<13>part", TR)]


def test_close_right_after_the_count_gives_an_empty_truncated_line():
    assert split(b"10 ") == [(b"", TR)]


def test_close_inside_the_count_keeps_the_digits():
    assert split(b"<13>a\n12") == [(b"<13>a", 0), (b"12", TR)]


def test_close_mid_newline_frame_keeps_the_partial_line():
    assert split(b"<13>a\n<13>part") == [(b"<13>a", 0), (b"<13>part", TR)]


def test_close_mid_oversized_line():
    assert split(b"<" + b"x" * 10, max_line=8) == [(b"<xxxxxxx", OV), (b"xxx", OV | TR)]


def test_binary_and_non_utf8_bytes_pass_through():
    garbage = bytes(range(256)).replace(b"\n", b"").replace(b"\r", b"")
    out = split(b"<13>" + garbage + b"\n", max_line=1024)
    assert out == [(b"<13>" + garbage, 0)]


def test_close_resets_for_reuse():
    splitter = Splitter(8)
    splitter.feed(b"5 ab")
    assert splitter.close() == ([b"ab"], [TR])
    assert splitter.feed(b"<1>x\n") == ([b"<1>x"], [0])


# Streams made mostly of the bytes that matter to framing, so shrinking finds the interesting cases.
stream_bytes = st.lists(st.sampled_from(b"0123456789 \r\n<>ax\x00\xff"), max_size=300).map(bytes)


@st.composite
def stream_and_chunks(draw: st.DrawFn) -> tuple[bytes, list[int], int]:
    data = draw(st.one_of(stream_bytes, st.binary(max_size=300)))
    chunks = draw(st.lists(st.integers(min_value=0, max_value=40), max_size=30))
    max_line = draw(st.integers(min_value=1, max_value=24))
    return data, chunks, max_line


@settings(max_examples=1500, deadline=None)
@given(stream_and_chunks())
def test_any_chunking_gives_the_same_lines_and_flags(case):
    data, chunks, max_line = case
    assert split(data, max_line, chunks) == split(data, max_line)


@settings(max_examples=300, deadline=None)
@given(stream_and_chunks())
def test_byte_by_byte_equals_one_read(case):
    data, _, max_line = case
    assert split(data, max_line, [1] * len(data)) == split(data, max_line)


@settings(max_examples=500, deadline=None)
@given(stream_and_chunks())
def test_every_line_respects_the_limit_and_only_the_end_is_truncated(case):
    data, chunks, max_line = case
    out = split(data, max_line, chunks)
    assert all(len(line) <= max_line for line, _ in out)
    assert all(not flag & TR for _, flag in out[:-1])
    assert all(flag & OV for line, flag in out if len(line) > max_line or (flag & TR and flag & OV))


messages = st.lists(st.binary(min_size=1, max_size=40), min_size=1, max_size=20)


@st.composite
def framed(draw: st.DrawFn) -> tuple[list[bytes], bytes]:
    """Well-formed frames: octet counting always works; newline framing for messages it can carry."""
    msgs = draw(messages)
    parts = []
    for msg in msgs:
        newline_ok = b"\n" not in msg and not msg.endswith(b"\r") and not msg[:1].isdigit()
        if newline_ok and draw(st.booleans()):
            parts.append(msg + draw(st.sampled_from([b"\n", b"\r\n"])))
        else:
            parts.append(b"%d %s" % (len(msg), msg))
    return msgs, b"".join(parts)


@settings(max_examples=800, deadline=None)
@given(framed(), st.lists(st.integers(min_value=1, max_value=50), max_size=20))
def test_well_formed_frames_come_back_exactly(case, chunks):
    msgs, data = case
    assert split(data, 64, chunks) == [(msg, 0) for msg in msgs]


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from(b"<>ab x\n\xff\x00"), max_size=300).map(bytes), st.integers(1, 16))
def test_newline_streams_lose_no_byte(data, max_line):
    out = split(data, max_line, [7] * (len(data) // 7))
    assert b"".join(line for line, _ in out) == data.replace(b"\n", b"")
