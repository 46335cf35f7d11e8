"""The UDP/trap spool (hardening finding 11): the format is checked directly; the files through a real directory."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from ingest.spool import format as fmt
from ingest.spool.disk import FULL, Spool, SpoolBusy, SpoolStats


def _payload(i: int, size: int = 1000) -> bytes:
    return (b"record %06d " % i).ljust(size, b"x")


def test_a_frame_reads_back_as_written() -> None:
    data = fmt.frame(3, "udp", 42, b"payload")
    found = fmt.read_frame(data, 0)
    assert found == fmt.Frame(len(data), 3, "udp", 42, b"payload")
    assert len(data) == fmt.frame_size("udp", len(b"payload"))


def test_a_torn_last_frame_is_told_from_whole_ones_at_every_cut() -> None:
    whole = b"".join(fmt.frame(i % 4, "udp", i, _payload(i, 50)) for i in range(3))
    last = fmt.frame(1, "udp", 9, _payload(9, 50))
    for cut in range(len(last)):
        scanned = fmt.scan(whole + last[:cut])
        assert [f.lines for f in scanned.frames] == [0, 1, 2]
        assert scanned.torn_bytes == cut
    assert [f.lines for f in fmt.scan(whole + last).frames] == [0, 1, 2, 9]


@pytest.mark.parametrize("where", [0, 5, fmt.HEADER.size, fmt.HEADER.size + 3, -1])
def test_a_changed_byte_anywhere_makes_the_frame_unreadable(where: int) -> None:
    data = bytearray(fmt.frame(2, "snmp", 7, _payload(1, 100)))
    data[where] ^= 0x01
    assert fmt.read_frame(bytes(data), 0) is None
    assert fmt.scan(bytes(data)) == fmt.Scan([], len(data))


def test_impossible_records_are_refused_when_framed() -> None:
    with pytest.raises(ValueError):
        fmt.frame(70_000, "udp", 1, b"x")
    with pytest.raises(ValueError):
        fmt.frame(0, "", 1, b"x")


def test_segment_names_sort_in_write_order_and_other_files_are_not_segments() -> None:
    names = [fmt.segment_name(n) for n in (10, 9, 100, 0)]
    assert sorted(names) == [fmt.segment_name(n) for n in (0, 9, 10, 100)]
    assert [fmt.segment_seq(n) for n in names] == [10, 9, 100, 0]
    assert fmt.segment_seq("lock") is None and fmt.segment_seq("12.seg") is None and fmt.segment_seq("position") is None


def test_the_position_reads_back_and_garbage_is_no_position() -> None:
    assert fmt.parse_position(fmt.position_text(7, 12345)) == (7, 12345)
    assert fmt.parse_position("") is None and fmt.parse_position("7 -1") is None and fmt.parse_position("a b") is None


def _segments(directory: Path) -> list[Path]:
    return sorted(p for p in directory.iterdir() if fmt.segment_seq(p.name) is not None)


def _fill(spool: Spool, count: int, size: int = 1000) -> None:
    for i in range(count):
        assert spool.append(i % 4, "udp", i + 1, _payload(i, size)) is None


def _drain(spool: Spool) -> list[bytes]:
    got = []
    while (found := spool.next()) is not None:
        ref, frame = found
        got.append(frame.payload)
        spool.acked(ref)
    return got


def test_records_come_back_in_order_and_acknowledged_segments_are_deleted(tmp_path: Path) -> None:
    stats = SpoolStats()
    spool = Spool.open(tmp_path / "spool" / "syslog", 64 * 1024 * 1024, stats)
    spool.segment_bytes = 10_000  # several segments
    _fill(spool, 50)
    assert len(_segments(spool.directory)) > 3
    assert (stats.records, stats.lines) == (50, sum(range(1, 51)))
    assert spool.unread
    assert _drain(spool) == [_payload(i) for i in range(50)]
    assert (stats.records, stats.lines, stats.bytes) == (0, 0, 0)
    assert _segments(spool.directory) == [] and not spool.unread
    spool.close()


def test_the_directory_is_private_and_its_files_too(tmp_path: Path) -> None:
    spool = Spool.open(tmp_path / "spool" / "traps", 64 * 1024 * 1024, SpoolStats())
    _fill(spool, 3)
    spool.acked(spool.next()[0])  # type: ignore[index]
    for directory in (spool.directory, spool.directory.parent):
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    files = list(spool.directory.iterdir())
    assert {f.name for f in files} >= {"lock", "position"}
    assert all(stat.S_IMODE(f.stat().st_mode) == 0o600 for f in files)
    spool.close()


def test_past_the_bound_a_record_is_refused_and_nothing_is_written(tmp_path: Path) -> None:
    stats = SpoolStats()
    frame_bytes = fmt.frame_size("udp", 1000)
    spool = Spool.open(tmp_path / "s", 10 * frame_bytes, stats)
    _fill(spool, 10)
    assert spool.append(0, "udp", 5, _payload(10)) == FULL
    assert (stats.records, stats.bytes) == (10, 10 * frame_bytes)
    assert spool.append(0, "udp", 1, b"small") == FULL, "once full, a record that would fit is refused too"
    spool.acked(spool.next()[0])  # type: ignore[index]
    assert spool.append(0, "udp", 1, b"small") == FULL, "above 90 % of the bound still"
    _drain(spool)
    assert spool.append(0, "udp", 1, b"small") is None
    spool.close()


def test_a_second_process_cannot_take_the_same_spool(tmp_path: Path) -> None:
    spool = Spool.open(tmp_path / "s", 64 * 1024 * 1024, SpoolStats())
    with pytest.raises(SpoolBusy):
        Spool.open(tmp_path / "s", 64 * 1024 * 1024, SpoolStats())
    spool.close()


def test_a_restart_sends_what_was_not_acknowledged_and_skips_what_was(tmp_path: Path) -> None:
    spool = Spool.open(tmp_path / "s", 64 * 1024 * 1024, SpoolStats())
    spool.segment_bytes = 10_000
    _fill(spool, 30)
    handed = [spool.next() for _ in range(12)]
    for found in handed[:5] + handed[6:8]:  # 0-4 and 6-7: the position can pass 0-4 only
        assert found is not None
        spool.acked(found[0])
    spool.close()  # or a crash: the position was written when it moved
    stats = SpoolStats()
    again = Spool.open(tmp_path / "s", 64 * 1024 * 1024, stats)
    assert stats.records == 25 and stats.restored_lines == sum(range(6, 31))
    assert _drain(again) == [_payload(i) for i in range(5, 30)]
    assert _segments(again.directory) == []
    again.close()


def test_a_torn_last_record_from_a_crash_is_counted_and_the_rest_restored(tmp_path: Path) -> None:
    spool = Spool.open(tmp_path / "s", 64 * 1024 * 1024, SpoolStats())
    _fill(spool, 4)
    spool.close()
    [segment] = _segments(tmp_path / "s")
    with segment.open("ab") as f:  # what a crash in the middle of a write leaves
        f.write(fmt.frame(0, "udp", 99, _payload(99))[:700])
    stats = SpoolStats()
    again = Spool.open(tmp_path / "s", 64 * 1024 * 1024, stats)
    assert (stats.torn, stats.torn_bytes, stats.records) == (1, 700, 4)
    assert _drain(again) == [_payload(i) for i in range(4)]
    assert _segments(again.directory) == [] and stats.bytes == 0
    _fill(again, 1)  # and it goes on taking records
    assert again.next() is not None
    again.close()


def test_a_record_damaged_on_disk_after_it_was_written_is_not_sent(tmp_path: Path) -> None:
    stats = SpoolStats()
    spool = Spool.open(tmp_path / "s", 64 * 1024 * 1024, stats)
    _fill(spool, 3)
    [segment] = _segments(tmp_path / "s")
    data = bytearray(segment.read_bytes())
    data[fmt.frame_size("udp", 1000) + 40] ^= 0xFF  # inside the second record
    segment.write_bytes(bytes(data))
    assert _drain(spool) == [_payload(0)]
    assert (stats.torn, stats.records, stats.lines) == (1, 0, 0)
    spool.close()
