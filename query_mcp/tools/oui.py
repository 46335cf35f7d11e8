"""MAC addresses: the canonical text form, and the vendor from the IEEE assignments shipped in data/oui.tsv.gz.

The table (about 40k prefixes, 400 kB gzipped) is read once, on the first lookup. 36-bit IAB prefixes
are tried before the 24-bit OUI that contains them, so a device gets its own maker, not "IEEE
Registration Authority". Regenerate the table with scripts/build_oui.py.
"""

from __future__ import annotations

import functools
import gzip
from importlib import resources

_HEX = frozenset("0123456789abcdefABCDEF")
_SEPARATORS = ":-."
_PREFIX_LENGTHS = (9, 6)


class MACError(ValueError):
    """Text that is not a 48-bit MAC address."""


def mac_hex(text: str) -> str:
    """12 upper-case hex digits from the usual spellings: 00:00:0c:12:34:56, 00-00-0C-12-34-56,
    0000.0c12.3456, 00000c123456, and 0:0:c:12:34:56 (leading zeros dropped, as net-snmp prints them)."""
    text = text.strip()
    if not text or len(text) > 32 or any(c not in _HEX and c not in _SEPARATORS for c in text):
        raise MACError(f"not a MAC address: {text[:40]!r}")
    groups = text.replace("-", ":").replace(".", ":").split(":")
    if len(groups) == 6 and all(1 <= len(g) <= 2 for g in groups):
        digits = "".join(g.zfill(2) for g in groups)
    elif (len(groups) == 3 and all(len(g) == 4 for g in groups)) or len(groups) == 1:
        digits = "".join(groups)
    else:
        raise MACError(f"not a MAC address: {text[:40]!r}")
    if len(digits) != 12:
        raise MACError(f"not a MAC address: {text[:40]!r}")
    return digits.upper()


def canonical(text: str) -> str:
    """The form netobs answers with (TWSNMP's too): upper case, colon separated, e.g. 00:00:0C:12:34:56."""
    digits = mac_hex(text)
    return ":".join(digits[i : i + 2] for i in range(0, 12, 2))


def locally_administered(text: str) -> bool:
    """The U/L bit is set: the address was assigned by software (VMs, randomised Wi-Fi), not by a maker."""
    return bool(int(mac_hex(text)[:2], 16) & 0x02)


def vendor(text: str) -> str:
    """The organization the address block is assigned to; empty when unknown or not a MAC address."""
    try:
        digits = mac_hex(text)
    except MACError:
        return ""
    table = _table()
    for length in _PREFIX_LENGTHS:
        name = table.get(digits[:length])
        if name:
            return name
    return ""


@functools.cache
def _table() -> dict[str, str]:
    data = resources.files("query_mcp").joinpath("data", "oui.tsv.gz").read_bytes()
    out: dict[str, str] = {}
    for line in gzip.decompress(data).decode().splitlines():
        if line and not line.startswith("#"):
            prefix, _, name = line.partition("\t")
            out[prefix] = name
    return out
