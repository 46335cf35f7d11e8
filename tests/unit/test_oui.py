"""MAC spelling, vendor lookup from the shipped IEEE table, and the parser that builds that table."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from query_mcp.tools import oui
from query_mcp.tools.addresses import address_type

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    "text",
    [
        "00:00:0c:12:34:56",
        "00-00-0C-12-34-56",
        "0000.0c12.3456",
        "00000c123456",
        "0:0:c:12:34:56",
        " 00:00:0C:12:34:56 ",
    ],
)
def test_mac_spellings(text):
    assert oui.mac_hex(text) == "00000C123456"
    assert oui.canonical(text) == "00:00:0C:12:34:56"


@pytest.mark.parametrize(
    "text",
    ["", "zz:00:0c:12:34:56", "00:00:0c:12:34", "00:00:0c:12:34:56:78", "000:00:0c:12:34:5", "0000.0c12", "1" * 40],
)
def test_not_macs(text):
    with pytest.raises(oui.MACError):
        oui.mac_hex(text)


def test_vendor_from_shipped_table():
    assert oui.vendor("00:00:0C:12:34:56") == "Cisco Systems, Inc"
    assert oui.vendor("00-1b-21-aa-bb-cc").startswith("Intel")
    assert oui.vendor("not a mac") == ""
    assert oui.vendor("02:42:ac:11:00:02") == ""


def test_36_bit_assignment_beats_its_24_bit_block():
    """00-50-C2 is the IEEE's own block; 00-50-C2-F7-1x belongs to one company."""
    assert oui.vendor("00:50:C2:F7:10:01") == "RF Code"
    assert oui.vendor("00:50:C2:00:00:01") != "IEEE Registration Authority"


def test_locally_administered():
    assert oui.locally_administered("02:42:ac:11:00:02")
    assert not oui.locally_administered("00:00:0c:12:34:56")


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("127.0.0.1", "loopback"),
        ("10.1.2.3", "private"),
        ("169.254.1.1", "link-local"),
        ("224.0.0.5", "multicast"),
        ("0.0.0.0", "unspecified"),
        ("8.8.8.8", "global"),
        ("2001:db8::1", "private"),
        ("fe80::1", "link-local"),
        ("::1", "loopback"),
    ],
)
def test_address_type(address, kind):
    assert address_type(address) == kind


def _build_oui():
    spec = importlib.util.spec_from_file_location("build_oui", ROOT / "scripts" / "build_oui.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_builder_reads_ieee_formats(tmp_path):
    build = _build_oui()
    oui_text = (
        "OUI/MA-L\t\t\tOrganization\r\n\r\n"
        "00-00-0C   (hex)\t\tCisco Systems, Inc\r\n"
        "00000C     (base 16)\t\tCisco Systems, Inc\r\n"
        "\t\t\t\t170 West Tasman Drive\r\n\r\n"
        "00000C     (base 16)\t\tA duplicate listing\r\n"
    )
    iab_text = (
        "40-D8-55                      (hex)                         Avant Technologies\n"
        "0D7000-0D7FFF                 (base 16)                     Avant   Technologies\n"
        "                                                            Road 156\n"
    )
    table = build.table(oui_text, iab_text)
    assert table == {"00000C": "Cisco Systems, Inc", "40D8550D7": "Avant Technologies"}
    out = tmp_path / "oui.tsv.gz"
    build.write(table, "sample", out)
    first = out.read_bytes()
    build.write(table, "sample", out)
    assert out.read_bytes() == first  # no timestamp in the gzip header: same input, same bytes
