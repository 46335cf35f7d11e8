"""Masking of variable tokens: each kind, the punctuation around it, and what must stay as it is."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from processors.syslog.masking import _mask_uncached, clear_memo, mask, mask_token, mask_tokens


@pytest.mark.parametrize(
    ("token", "masked"),
    [
        # IPv4, with port, prefix, inside punctuation
        ("10.0.0.1", "<IP>"),
        ("255.255.255.255", "<IP>"),
        ("10.0.0.1:22", "<IP>:<NUM>"),
        ("10.0.0.0/24", "<IP>/<NUM>"),
        ("(10.0.0.1),", "(<IP>),"),
        ("[192.168.1.1]:", "[<IP>]:"),
        ("src=10.0.0.1", "src=<IP>"),
        ('addr="10.0.0.1"', 'addr="<IP>"'),
        ("outside:1.2.3.4/443", "outside:<IP>/<NUM>"),
        ("10.0.0.1#53", "<IP>#<NUM>"),
        # IPv6
        ("fe80::1", "<IP>"),
        ("::1", "<IP>"),
        ("2001:db8:0:0:0:0:0:1", "<IP>"),
        ("2001:db8::", "<IP>"),
        ("fe80::1%eth0", "<IP>"),
        ("::ffff:10.0.0.1", "<IP>"),
        ("[fe80::1]:22", "[<IP>]:<NUM>"),
        # MAC
        ("aa:bb:cc:dd:ee:ff", "<MAC>"),
        ("00-1A-2B-3C-4D-5E", "<MAC>"),
        ("aabb.ccdd.eeff", "<MAC>"),
        ("(0011.2233.4455)", "(<MAC>)"),
        # UUID, hex
        ("550e8400-e29b-41d4-a716-446655440000", "<UUID>"),
        ("0x1F,", "<HEX>,"),
        ("0XdeadBEEF", "<HEX>"),
        ("d41d8cd98f00b204e9800998ecf8427e", "<HEX>"),
        ("3F2A81C0D2:", "<HEX>:"),
        # e-mail
        ("bob@example.com", "<EMAIL>"),
        ("from=<bob.smith+tag@mail.example.org>,", "from=<<EMAIL>>,"),
        # times and dates
        ("10:00:00", "<TIME>"),
        ("10:00:00.123", "<TIME>"),
        ("9:05", "<TIME>"),
        ("2025-01-15", "<TIME>"),
        ("2025-01-15T10:00:00Z", "<TIME>"),
        ("2025-01-15T10:00:00.123456+09:00", "<TIME>"),
        ("0:26:00,", "<TIME>,"),
        # numbers
        ("42", "<NUM>"),
        ("-5", "<NUM>"),
        ("+3.5", "<NUM>"),
        ("1.5e-3", "<NUM>"),
        ("1234567890123", "<NUM>"),
        ("12345,", "<NUM>,"),
        ("port=22.", "port=<NUM>."),
        ("[12345.678901]", "[<NUM>]"),
        ("sshd[1234]:", "sshd[<NUM>]:"),
        ("(uid=0)", "(uid=<NUM>)"),
        ("UID:1000", "UID:<NUM>"),
        ("1/9/14/11/0", "<NUM>/<NUM>/<NUM>/<NUM>/<NUM>"),
        ("1:2:3:4", "<NUM>:<NUM>:<NUM>:<NUM>"),  # no "::", not eight groups: not IPv6
        ("@0x7f3a2c001234", "@<HEX>"),
        # numbers with a unit keep the unit
        ("10ms", "<NUM>ms"),
        ("1.5GB,", "<NUM>GB,"),
        ("100%", "<NUM>%"),
        ("12%/3%;", "<NUM>%/<NUM>%;"),
        ("total-vm:123kB,", "total-vm:<NUM>kB,"),
        ("-40C", "<NUM>C"),
    ],
)
def test_kinds(token: str, masked: str) -> None:
    clear_memo()
    assert mask_token(token) == masked
    assert mask_token(token) == masked  # and the same from the memo


@pytest.mark.parametrize(
    "token",
    [
        "1.2.3",  # version
        "v1.2.3",
        "1.3.6.1.2.1.2.2",  # OID
        "256.1.1.1",  # not an address: kept like a version
        "01.02.03.04",
        "eth0",
        "ssh2",
        "GigabitEthernet0",
        "x86_64",
        "%LINK-3-UPDOWN:",
        "sshd:session",
        "SHA256:abcXYZ",
        "::",
        "-",
        "--",
        "<*>",
        "<IP>",
        "deadbeef",  # hex needs a digit: could be a word
        "cafe1",  # too short for a hash
        "alice@host",
        "Hello,",
        "(alice)",
    ],
)
def test_kept(token: str) -> None:
    clear_memo()
    assert mask_token(token) == token


def test_line() -> None:
    line = "Accepted password for bob from 10.1.2.3 port 52144 ssh2"
    assert mask(line) == "Accepted password for bob from <IP> port <NUM> ssh2"
    assert mask("  a\t 1 \n") == "a <NUM>"
    assert mask("") == ""
    assert mask_tokens("LINK Interface Gi1/0/24, changed state to down") == [
        "LINK", "Interface", "Gi1/<NUM>/<NUM>,", "changed", "state", "to", "down",
    ]  # fmt: skip


def test_memo_survives_clearing_when_full() -> None:
    clear_memo()
    for i in range(70_000):  # more than the memo holds: it is emptied on the way
        assert mask_token(f"id{i}x") == f"id{i}x"
        assert mask_token(f"{i}") == "<NUM>"
    assert mask_token("10.0.0.1") == "<IP>"


_token_text = st.text(alphabet=st.sampled_from("0123456789abcdefxyzABCDEF.:-_/=,;()[]<>@%#\"' \t*+"), max_size=40)


@given(_token_text)
def test_token_count_is_kept(text: str) -> None:
    """Drain clusters by token count: masking must never add or remove tokens."""
    assert len(mask_tokens(text)) == len(text.split())


@given(_token_text)
def test_idempotent(text: str) -> None:
    """Masking a template again changes nothing (placeholders are never taken for values)."""
    once = mask(text)
    assert mask(once) == once


@given(st.lists(st.sampled_from(["10.0.0.1", "a1", "0x1f", "1.2.3", "x=5", "10ms"]), max_size=8))
def test_memo_does_not_change_results(tokens: list[str]) -> None:
    text = " ".join(tokens)
    clear_memo()
    cold = mask(text)
    assert mask(text) == cold


@pytest.mark.parametrize(
    ("first", "then", "masked"),
    [
        ("255.0.0.1", "256.0.0.1", "256.0.0.1"),  # one shape, but 256 is no octet
        ("10.0.0.1", "10.0.0.01", "10.0.0.01"),
        ("10.0.0.1:22", "10.0.0.1:99999", "<IP>:<NUM>"),
        ("::ffff:10.0.0.1", "::ffff:10.0.0.300", "::ffff:10.0.0.300"),
        ("2xff", "0xff", "<HEX>"),  # only a 0 before the x makes hex
        ("0x1f", "1x1f", "1x1f"),
        ("eth1", "eth0", "eth0"),  # a digit the masking keeps comes from the token, not from its shape
        ("v1.2.3", "v9.8.7", "v9.8.7"),
        ("seq=1041", "seq=2077", "seq=<NUM>"),
    ],
)
def test_a_token_masks_the_same_after_another_of_its_shape(first: str, then: str, masked: str) -> None:
    """Tokens that differ only in their digits share one memoised masking (the shape memo); where the digits'
    values decide the kind, or stay in the result, each is masked on its own."""
    clear_memo()
    mask_token(first)
    assert mask_token(then) == masked
    clear_memo()
    assert mask_token(then) == masked


_around = st.sampled_from(list("..::-/=,()[]@%xXabcdefABCDEFgT_+") + ["#"] * 8)
_digits = st.sampled_from(["0", "1", "2", "5", "6", "9"])


@given(st.lists(_around, min_size=1, max_size=14), st.data())
def test_the_memos_never_change_a_tokens_masking(shape: list[str], data: st.DataObject) -> None:
    """Several tokens of one shape (# a run of digits of one length, its digits drawn anew per token), each
    masked through the memos as masking it alone, unmemoised, does."""
    lengths = [data.draw(st.integers(1, 6)) if c == "#" else 0 for c in shape]
    clear_memo()
    for _ in range(4):
        token = "".join(
            "".join(data.draw(st.lists(_digits, min_size=n, max_size=n))) if c == "#" else c
            for c, n in zip(shape, lengths, strict=True)
        )
        if token.split() == [token]:
            assert mask_token(token) == _mask_uncached(token)
