import pytest

from query_mcp.auth.access import address_allowed, bearer_token, client_address, parse_networks

LOOPBACK = parse_networks(["127.0.0.1/32", "::1/128"])


@pytest.mark.parametrize(
    ("header", "token"),
    [
        ("Bearer abc", "abc"),
        ("bearer abc", "abc"),
        ("Bearer  abc ", "abc"),
        (None, None),
        ("", None),
        ("Bearer", None),
        ("Bearer ", None),
        ("Basic abc", None),
        ("abc", None),
        ("Bearer a b", None),
    ],
)
def test_bearer_token_parsing(header, token):
    assert bearer_token(header) == token


@pytest.mark.parametrize(
    ("address", "ok"),
    [
        ("127.0.0.1", True),
        ("::1", True),
        ("::ffff:127.0.0.1", True),
        ("127.0.0.2", False),
        ("10.0.0.1", False),
        ("", False),
        (None, False),
        ("not-an-ip", False),
    ],
)
def test_loopback_allowlist(address, ok):
    assert address_allowed(address, LOOPBACK) is ok


def test_cidrs_v4_and_v6():
    nets = parse_networks(["10.0.0.0/8", "2001:db8::/32", "192.0.2.7"])
    assert address_allowed("10.200.1.1", nets)
    assert address_allowed("2001:db8::42", nets)
    assert address_allowed("192.0.2.7", nets)
    assert not address_allowed("192.0.2.8", nets)
    assert not address_allowed("2001:db9::1", nets)


PROXIES = parse_networks(["127.0.0.1/32", "10.9.0.0/16"])


@pytest.mark.parametrize(
    ("peer", "xff", "client"),
    [
        ("127.0.0.1", "192.0.2.5", "192.0.2.5"),
        ("127.0.0.1", "198.51.100.1, 192.0.2.5", "192.0.2.5"),
        ("127.0.0.1", "192.0.2.5, 10.9.1.1", "192.0.2.5"),
        ("203.0.113.9", "10.1.1.1", "203.0.113.9"),
        ("127.0.0.1", "garbage", "127.0.0.1"),
        ("127.0.0.1", None, "127.0.0.1"),
        ("127.0.0.1", "10.9.0.1, 10.9.0.2", "10.9.0.1"),
    ],
)
def test_forwarded_for_only_from_trusted_proxies(peer, xff, client):
    assert client_address(peer, xff, PROXIES) == client


def test_forwarded_for_ignored_without_trusted_proxies():
    assert client_address("127.0.0.1", "10.1.1.1", ()) == "127.0.0.1"
