"""The batcher: partitions by source, cuts at lines, bytes and age, and keeps every line in order."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.syslog.batcher import LINE_OVERHEAD, Batcher
from schemas.raw_syslog import WIRE_VERSION, LineFlag, decode, encode
from schemas.topics import partition_for


def lines_of(batches):
    return [line for _, batch in batches for line in batch.lines]


def test_cuts_at_batch_lines_and_keeps_the_rest_pending():
    batcher = Batcher("udp", 1, batch_lines=3, batch_ms=100)
    assert batcher.add("10.0.0.1", [1, 2], [b"a", b"b"], now=0.0) == []
    out = batcher.add("10.0.0.1", [3, 4], [b"c", b"d"], now=0.0)
    assert [(p, b.lines) for p, b in out] == [(0, [b"a", b"b", b"c"])]
    assert out[0][1].received_ns == [1, 2, 3]
    assert batcher.pending_lines == 1


def test_one_large_add_gives_several_full_records():
    batcher = Batcher("udp", 1, batch_lines=2, batch_ms=100)
    lines = [b"%d" % i for i in range(7)]
    out = batcher.add("h", list(range(7)), lines, now=0.0)
    assert [b.lines for _, b in out] == [lines[0:2], lines[2:4], lines[4:6]]
    assert [b.lines for _, b in batcher.drain()] == [lines[6:]]


def test_records_carry_columns_transport_and_version():
    batcher = Batcher("tcp", 4, batch_lines=2, batch_ms=100)
    flags = [int(LineFlag.OVERSIZED), int(LineFlag.TRUNCATED)]
    ((partition, batch),) = batcher.add("192.0.2.7", [10, 20], [b"x", b"y"], flags, now=0.0)
    assert partition == partition_for("192.0.2.7", 4)
    assert batch.version == WIRE_VERSION and batch.transport == "tcp"
    assert batch.sources == ["192.0.2.7"] * 2 and batch.flags == flags
    assert decode(encode(batch)) == batch


def test_missing_flags_mean_zero():
    batcher = Batcher("udp", 1, batch_lines=2, batch_ms=100)
    ((_, batch),) = batcher.add("h", [1, 2], [b"x", b"y"], now=0.0)
    assert batch.flags == [0, 0]


def test_sources_go_to_their_partitions():
    sources = [f"10.0.0.{i}" for i in range(40)]
    batcher = Batcher("udp", 8, batch_lines=1000, batch_ms=100)
    for i, source in enumerate(sources):
        batcher.add(source, [i], [source.encode()], now=0.0)
    out = batcher.drain()
    assert sorted(lines_of(out)) == sorted(s.encode() for s in sources)
    for partition, batch in out:
        assert all(partition_for(s, 8) == partition for s in batch.sources)
    assert len({p for p, _ in out}) > 1


def test_cuts_by_age_only_partitions_that_waited():
    batcher = Batcher("udp", 256, batch_lines=1000, batch_ms=100)
    old, new = "10.0.0.1", "10.0.0.2"
    assert batcher.place(old, 1) != batcher.place(new, 1)
    batcher.add(old, [1], [b"old"], now=0.0)
    batcher.add(new, [2], [b"new"], now=0.08)
    assert batcher.expired(now=0.09) == []
    assert lines_of(batcher.expired(now=0.1)) == [b"old"]
    assert lines_of(batcher.expired(now=0.2)) == [b"new"]
    assert batcher.pending_lines == 0


def test_age_counts_from_the_oldest_pending_line():
    batcher = Batcher("udp", 1, batch_lines=1000, batch_ms=100)
    batcher.add("h", [1], [b"a"], now=0.0)
    batcher.add("h", [2], [b"b"], now=0.09)
    assert lines_of(batcher.expired(now=0.1)) == [b"a", b"b"]


def test_cuts_by_bytes():
    per_line = 100 + LINE_OVERHEAD
    batcher = Batcher("udp", 1, batch_lines=1000, batch_ms=100, batch_bytes=per_line * 3)
    lines = [bytes([65 + i]) * 100 for i in range(7)]
    out = batcher.add("h", list(range(7)), lines, now=0.0)
    assert [len(b.lines) for _, b in out] == [3, 3]
    assert lines_of(out + batcher.drain()) == lines


def test_a_line_above_the_byte_limit_goes_alone():
    batcher = Batcher("udp", 1, batch_lines=1000, batch_ms=100, batch_bytes=1000)
    lines = [b"a", b"b" * 5000, b"c"]
    out = batcher.add("h", [1, 2, 3], lines, now=0.0) + batcher.drain()
    assert [b.lines for _, b in out] == [[b"a"], [b"b" * 5000], [b"c"]]


def test_empty_add_does_nothing():
    batcher = Batcher("udp", 1, batch_lines=1, batch_ms=100)
    assert batcher.add("h", [], []) == []
    assert batcher.drain() == []


adds = st.lists(
    st.tuples(
        st.sampled_from(["10.0.0.1", "10.0.0.2", "10.0.0.3", "::1"]),
        st.lists(st.binary(max_size=60), min_size=0, max_size=12),
        st.floats(min_value=0, max_value=0.05),
    ),
    max_size=30,
)


@settings(max_examples=300, deadline=None)
@given(adds, st.integers(1, 10), st.integers(200, 2000), st.integers(1, 8))
def test_every_line_comes_out_once_in_order_per_source(adds, batch_lines, batch_bytes, partitions):
    batcher = Batcher("udp", partitions, batch_lines=batch_lines, batch_ms=20, batch_bytes=batch_bytes)
    sent: dict[str, list[bytes]] = {}
    out = []
    now = 0.0
    for source, lines, step in adds:
        now += step
        sent.setdefault(source, []).extend(lines)
        out += batcher.add(source, [0] * len(lines), lines, now=now)
        out += batcher.expired(now=now)
    out += batcher.drain()
    got: dict[str, list[bytes]] = {}
    for partition, batch in out:
        assert 1 <= len(batch) <= batch_lines
        size = sum(len(line) + LINE_OVERHEAD for line in batch.lines)
        assert size <= batch_bytes or len(batch) == 1
        for source, line in zip(batch.sources, batch.lines, strict=True):
            assert partition_for(source, partitions) == partition
            got.setdefault(source, []).append(line)
    assert got == {s: lines for s, lines in sent.items() if lines}
