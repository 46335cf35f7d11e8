"""Rows encoded as ClickHouse Native blocks away from any connection, so a parse process can hand the one
writer bytes to insert instead of Python objects to serialise again (clickhouse-connect's own column
writers: the bytes are exactly what its insert would send)."""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Any

from clickhouse_connect.datatypes.registry import get_from_name
from clickhouse_connect.driver.insert import InsertContext
from clickhouse_connect.driver.transform import NativeTransform

ColumnTypes = tuple[tuple[str, str], ...]
"""(column name, ClickHouse type name) in insert order, as system.columns gives them."""


@functools.cache
def _types(type_names: tuple[str, ...]) -> list[Any]:
    return [get_from_name(name) for name in type_names]


def encode(columns: Mapping[str, Sequence[Any]], types: ColumnTypes) -> bytes:
    """columns (values by column name, every type's column present) as Native blocks; b"" for no rows."""
    names = [name for name, _ in types]
    data = [columns[name] for name in names]
    if not data or not data[0]:
        return b""
    context = InsertContext("t", names, _types(tuple(t for _, t in types)), data, column_oriented=True)
    payload = b"".join(NativeTransform.build_insert(context))
    # The first block starts with the INSERT statement clickhouse-connect sends over HTTP: only blocks stay.
    return payload[payload.index(b"\n") + 1 :]
