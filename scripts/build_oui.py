"""Regenerate query_mcp/data/oui.tsv.gz, the MAC vendor table, from the IEEE lists inside the netaddr wheel.

The wheel carries the IEEE registration authority's public assignment lists (oui.txt: 24-bit MA-L
prefixes; iab.txt: 36-bit IAB prefixes). netaddr is only a carrier of the data, not a dependency:
this script reads the text files straight out of the wheel and writes "<hex prefix>\\t<organization>"
lines, sorted, gzipped without a timestamp so the same input gives the same bytes.

    python scripts/build_oui.py                  # pip-downloads the newest netaddr wheel
    python scripts/build_oui.py --wheel netaddr-1.3.0-py3-none-any.whl
"""

from __future__ import annotations

import argparse
import gzip
import io
import re
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "query_mcp" / "data" / "oui.tsv.gz"
_OUI_LINE = re.compile(r"^([0-9A-Fa-f]{6})\s+\(base 16\)\s*(.*)$")
_HEX_LINE = re.compile(r"^([0-9A-Fa-f]{2})-([0-9A-Fa-f]{2})-([0-9A-Fa-f]{2})\s+\(hex\)")
_IAB_LINE = re.compile(r"^([0-9A-Fa-f]{3})000-[0-9A-Fa-f]{3}FFF\s+\(base 16\)\s*(.*)$")


def oui_entries(lines: Iterable[str]) -> Iterator[tuple[str, str]]:
    """(6-hex-digit prefix, organization) from oui.txt."""
    for line in lines:
        m = _OUI_LINE.match(line.strip())
        if m:
            yield m.group(1).upper(), m.group(2).strip()


def iab_entries(lines: Iterable[str]) -> Iterator[tuple[str, str]]:
    """(9-hex-digit prefix, organization) from iab.txt: the (hex) line holds the first 24 bits, the
    (base 16) range line the next 12."""
    block = ""
    for line in lines:
        text = line.strip()
        hex_line = _HEX_LINE.match(text)
        if hex_line:
            block = "".join(hex_line.groups()).upper()
            continue
        m = _IAB_LINE.match(text)
        if m and block:
            yield block + m.group(1).upper(), m.group(2).strip()


def table(oui_text: str, iab_text: str) -> dict[str, str]:
    """Prefix -> organization; the first listing of a prefix wins (the IEEE lists repeat a few)."""
    out: dict[str, str] = {}
    for prefix, org in [*oui_entries(oui_text.splitlines()), *iab_entries(iab_text.splitlines())]:
        if org and prefix not in out:
            out[prefix] = " ".join(org.split())
    return out


def write(entries: dict[str, str], source: str, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    body = io.StringIO()
    body.write(f"# IEEE MA-L and IAB assignments, from {source}; regenerate with scripts/build_oui.py\n")
    for prefix in sorted(entries):
        body.write(f"{prefix}\t{entries[prefix]}\n")
    with path.open("wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="") as gz:
        gz.write(body.getvalue().encode())


def download_wheel(directory: Path) -> Path:
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "netaddr", "-d", str(directory)],
        check=True,
    )
    return next(directory.glob("netaddr-*.whl"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wheel", type=Path, help="a netaddr wheel; downloaded with pip when omitted")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        wheel = args.wheel or download_wheel(Path(tmp))
        with zipfile.ZipFile(wheel) as zf:
            oui_text = zf.read("netaddr/eui/oui.txt").decode("utf-8", "replace")
            iab_text = zf.read("netaddr/eui/iab.txt").decode("utf-8", "replace")
    entries = table(oui_text, iab_text)
    write(entries, wheel.name, args.out)
    print(f"{len(entries)} prefixes -> {args.out} ({args.out.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
