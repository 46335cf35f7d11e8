"""Named tokens, JWTs, scopes and rate limits: the pure parts of the MCP service's security."""

import base64
import datetime as dt
import hashlib
import hmac
import json
import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from common.config import ConfigError
from query_mcp.auth import scopes, tokens
from query_mcp.auth.jwt import JwtVerifier, looks_like_jwt
from query_mcp.auth.mcp_guard import _cap, tool_digest
from query_mcp.auth.ratelimit import RateLimiter
from query_mcp.metrics import Metrics
from query_mcp.tools.results import dumps

ADMIN = "admin-token-0123456789abcdef"


def test_named_tokens_round_trip(tmp_path):
    path = tmp_path / "tokens.toml"
    reader = tokens.add(path, "reader", frozenset({"read:logs"}))
    writer = tokens.add(path, "ops", frozenset({"read:logs", "write"}))
    assert reader.startswith(tokens.TOKEN_PREFIX)
    assert reader not in path.read_text() and writer not in path.read_text()
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    book = tokens.TokenBook(ADMIN, tokens.load(path))
    assert book.verify(reader)[0] == scopes.Principal("reader", frozenset({"read:logs"}), "token")
    assert book.verify(writer)[0].scopes == {"read:logs", "write"}
    assert book.verify(ADMIN)[0].scopes == scopes.ALL_SCOPES
    with pytest.raises(ConfigError, match="exists"):
        tokens.add(path, "reader", frozenset())
    assert tokens.revoke(path, "reader")
    assert tokens.TokenBook(ADMIN, tokens.load(path)).verify(reader) == (None, "unknown token")


@pytest.mark.parametrize(
    "mangle", [lambda t: t[:-1], lambda t: t + "x", lambda t: "x" + t, lambda t: t[4:20], str.upper]
)
def test_substrings_and_superstrings_are_wrong_tokens(mangle):
    book = tokens.TokenBook(ADMIN, [])
    assert book.verify(mangle(ADMIN))[0] is None


def test_expired_named_token(tmp_path):
    path = tmp_path / "tokens.toml"
    past = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    token = tokens.add(path, "old", frozenset({"read:logs"}), expires=past)
    principal, reason = tokens.TokenBook(ADMIN, tokens.load(path)).verify(token)
    assert principal is None and "expired" in reason


def test_bad_tokens_file_is_named(tmp_path):
    path = tmp_path / "tokens.toml"
    path.write_text('[x]\nsha256 = "zz"\nscopes = []\n')
    with pytest.raises(ConfigError, match=r"\[x\]"):
        tokens.load(path)
    path.write_text(f'[x]\nsha256 = "{"0" * 64}"\nscopes = ["root"]\n')
    with pytest.raises(ConfigError, match="scopes"):
        tokens.load(path)


ISS, AUD = "https://idp.example", "netobs"
SECRET = b"k" * 40


def _hs(claims, key=SECRET, alg="HS256", headers=None):
    return jwt.encode(claims, key, algorithm=alg, headers=headers)


def _claims(**extra):
    now = int(time.time())
    return {"iss": ISS, "aud": AUD, "sub": "alice", "exp": now + 86_400, "iat": now, "scope": "read:logs probe"} | extra


@pytest.fixture
def hs_verifier(tmp_path):
    secret = tmp_path / "secret"
    secret.write_bytes(SECRET)
    return JwtVerifier(ISS, AUD, secret_file=str(secret))


def test_hs256_valid(hs_verifier):
    principal, _ = hs_verifier.verify(_hs(_claims()))
    assert principal == scopes.Principal("jwt:alice", frozenset({"read:logs", "probe"}), "jwt")


@pytest.mark.parametrize(
    ("claims", "reason"),
    [
        (_claims(exp=int(time.time()) - 3600), "expired"),
        (_claims(nbf=int(time.time()) + 3600), "not yet valid"),
        (_claims(aud="other"), "audience"),
        (_claims(iss="https://evil.example"), "issuer"),
        ({k: v for k, v in _claims().items() if k != "exp"}, "exp"),
        ({k: v for k, v in _claims().items() if k != "sub"}, "sub"),
    ],
)
def test_hs256_refusals(hs_verifier, claims, reason):
    principal, why = hs_verifier.verify(_hs(claims))
    assert principal is None and reason in why


def test_wrong_secret_and_alg_none(hs_verifier):
    assert hs_verifier.verify(_hs(_claims(), key=b"x" * 40))[0] is None
    unsigned = jwt.encode(_claims(), None, algorithm="none")
    principal, why = hs_verifier.verify(unsigned)
    assert principal is None and "none" in why
    assert looks_like_jwt(unsigned)


def test_short_secret_refused(tmp_path):
    secret = tmp_path / "secret"
    secret.write_bytes(b"short")
    with pytest.raises(ConfigError, match="32 bytes"):
        JwtVerifier(ISS, AUD, secret_file=str(secret))


def _jwks(tmp_path, key, kid, alg):
    jwk = json.loads(jwt.algorithms.get_default_algorithms()[alg].to_jwk(key.public_key()))
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps({"keys": [jwk | {"kid": kid, "alg": alg, "use": "sig"}]}))
    return str(path)


@pytest.mark.parametrize(
    ("alg", "make"),
    [
        ("RS256", lambda: rsa.generate_private_key(65537, 2048)),
        ("ES256", lambda: ec.generate_private_key(ec.SECP256R1())),
    ],
)
def test_jwks_keys(tmp_path, alg, make):
    key = make()
    verifier = JwtVerifier(ISS, AUD, jwks_file=_jwks(tmp_path, key, "k1", alg))
    good = jwt.encode(_claims(), key, algorithm=alg, headers={"kid": "k1"})
    assert verifier.verify(good)[0].name == "jwt:alice"
    other = make()
    assert verifier.verify(jwt.encode(_claims(), other, algorithm=alg, headers={"kid": "k1"}))[0] is None
    if alg == "RS256":
        public_pem = key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        principal, why = verifier.verify(_hand_signed_hs256(_claims(), public_pem, "k1"))
        assert principal is None and "HS256" in why


def _hand_signed_hs256(claims, key: bytes, kid: str) -> str:
    """The key-confusion attack: HS256 keyed with the public key (PyJWT refuses to make one itself)."""

    def b64(data: bytes) -> bytes:
        return base64.urlsafe_b64encode(data).rstrip(b"=")

    signing_input = (
        b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": kid}).encode()) + b"." + b64(json.dumps(claims).encode())
    )
    return (signing_input + b"." + b64(hmac.new(key, signing_input, hashlib.sha256).digest())).decode()


def test_scopes_fail_closed():
    reader = scopes.Principal("r", frozenset({"read:logs"}), "token")
    assert scopes.may_call(reader, "search_syslog")
    assert not scopes.may_call(reader, "snmpset")
    assert not scopes.may_call(reader, "a_tool_nobody_scoped")
    admin = scopes.Principal("admin", scopes.ALL_SCOPES, "admin-token")
    assert not scopes.may_call(admin, "a_tool_nobody_scoped")
    assert scopes.visible(reader, ["search_syslog", "do_ping", "run_select_query"]) == ["search_syslog"]
    assert scopes.parse_scopes("read:logs  write,bogus") == {"read:logs", "write"}


def test_rate_limiter_refills():
    limiter = RateLimiter(rate=2.0, burst=4.0)
    assert [limiter.take("a", 0.0) for _ in range(4)] == [0.0] * 4
    wait = limiter.take("a", 0.0)
    assert wait == pytest.approx(0.5)
    assert limiter.take("b", 0.0) == 0.0
    assert limiter.take("a", 0.5) == 0.0


def test_rate_limiter_memory_is_bounded():
    limiter = RateLimiter(rate=1.0, burst=1.0, max_keys=10)
    for i in range(100):
        limiter.take(i, 0.0)
    assert len(limiter._buckets) == 10


def test_result_cap_cuts_a_list_at_whole_rows_and_states_it():
    rows = [{"Message": f"{i:04d}" + "x" * 95} for i in range(50)]
    data = {"items": rows, "count": 50, "total": 50, "truncated": False}
    result = {"content": [{"type": "text", "text": dumps(data)}], "isError": False, "structuredContent": data}
    capped = _cap(result, 1024)
    text = capped["content"][0]["text"]
    assert len(text.encode()) <= 1024 and len(capped["content"]) == 1
    assert json.loads(text) == capped["structuredContent"]
    kept = capped["structuredContent"]
    assert kept["truncated"] is True and kept["total"] == 50
    assert 0 < kept["count"] == len(kept["items"]) < 50 and kept["items"] == rows[: kept["count"]]
    assert _cap({"content": [{"type": "text", "text": "ok"}]}, 1024)["content"] == [{"type": "text", "text": "ok"}]


def test_result_cap_refuses_what_has_no_rows_to_cut():
    result = {"content": [{"type": "text", "text": "x" * 5000}], "isError": False, "structuredContent": {"r": 1}}
    capped = _cap(result, 1024)
    assert capped["isError"] is True and "structuredContent" not in capped
    assert "5000 bytes, over this server's limit of 1024" in capped["content"][0]["text"]


def test_tool_digest_changes_with_description():
    tool = {"name": "t", "description": "d", "inputSchema": {"type": "object"}}
    assert tool_digest(tool) == tool_digest(dict(tool, _meta={"x": 1}))
    assert tool_digest(tool) != tool_digest(dict(tool, description="d2"))


def test_metrics_exposition():
    m = Metrics()
    m.count("netobs_mcp_denials_total", reason='in"valid')
    m.observe(0.02)
    text = m.render()
    assert 'netobs_mcp_denials_total{reason="in\\"valid"} 1' in text
    assert 'netobs_mcp_request_seconds_bucket{le="0.025"} 1' in text
    assert "netobs_mcp_request_seconds_count 1" in text
