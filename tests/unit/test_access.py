import pytest

from query_mcp.access import address_allowed, bearer_ok, parse_networks, token_digest

TOKEN = "s3cret-token-of-some-length"
DIGEST = token_digest(TOKEN)


@pytest.mark.parametrize(
    ("header", "ok"),
    [
        (f"Bearer {TOKEN}", True),
        (f"bearer {TOKEN}", True),
        (f"Bearer  {TOKEN} ", True),
        (None, False),
        ("", False),
        ("Bearer", False),
        ("Bearer ", False),
        (f"Basic {TOKEN}", False),
        (TOKEN, False),
        (f"Bearer {TOKEN[:-1]}", False),
        (f"Bearer {TOKEN}x", False),
        (f"Bearer x{TOKEN}", False),
        (f"Bearer {TOKEN[3:10]}", False),
        (f"Bearer {TOKEN.upper()}", False),
    ],
)
def test_bearer_only_the_exact_token(header, ok):
    assert bearer_ok(header, DIGEST) is ok


NETS = parse_networks(["127.0.0.1/32", "10.1.0.0/16", "::1", "2001:db8::/32"])


@pytest.mark.parametrize(
    ("address", "ok"),
    [
        ("127.0.0.1", True),
        ("127.0.0.2", False),
        ("10.1.255.3", True),
        ("10.2.0.1", False),
        ("::1", True),
        ("::ffff:127.0.0.1", True),
        ("::ffff:127.0.0.9", False),
        ("2001:db8::5", True),
        ("2001:db9::5", False),
        ("", False),
        (None, False),
        ("not-an-ip", False),
        ("127.0.0.1, 10.1.0.1", False),
    ],
)
def test_allowlist(address, ok):
    assert address_allowed(address, NETS) is ok
