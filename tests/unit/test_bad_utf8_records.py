"""A record whose strings are not UTF-8 is skipped like any undecodable record, never retried forever.

msgspec raises UnicodeDecodeError (a ValueError, not a msgspec error) for such strings.
"""

from __future__ import annotations

import msgspec
import pytest

from processors.tables import command_audit_rows, event_rows, inventory_rows, mcp_audit_rows, trap_rows
from schemas import commands
from tests.signing_keys import KEYS

BAD_JSON = b'{"version":1,"kind":"node","op":"delete","id":"\xff\xfe","time_ns":1,"actor":"x"}'
BAD_MSGPACK = msgspec.msgpack.encode([1, ["\x00marker"]]).replace(b"\x00marker", b"\xff\xfe\xfd\xfc\xfb\xfa\xf9")


def test_row_builders_skip_records_with_bad_utf8() -> None:
    assert inventory_rows.record_rows(BAD_JSON, 1, KEYS["inventory"]) is None
    assert trap_rows.record_rows(BAD_MSGPACK, 0, 1) is None
    assert mcp_audit_rows.record_rows(BAD_MSGPACK, 0, 1, 1, KEYS["mcp_audit"]) is None
    assert command_audit_rows.record_rows(BAD_JSON, 0, 1, KEYS["steps"], KEYS["mcp_audit"]) is None
    flagged = event_rows.record_rows(BAD_MSGPACK, 0, 1, 1)
    assert len(flagged) == 1


def test_command_decoders_raise_value_error_for_bad_utf8() -> None:
    with pytest.raises(ValueError):
        commands.decode_step(b'{"command_id":"\xff","step":"requested","time_ns":1,"actor":"a"}')
    with pytest.raises(ValueError):
        commands.decode_command(b'{"id":"\xff","time_ns":1,"actor":"a","tool":"do_ping"}')
