"""JWT bearer credentials: HS256 with a shared secret, or RS256/ES256 with keys from a JWKS file.

The accepted algorithms are fixed by the key type, so neither "alg": "none" nor an HS256 token signed
with a public key passes. exp, iss and aud are required; nbf is honoured; a small leeway absorbs clock
skew. Scopes come from the "scope" claim (space-separated, OAuth) or "scp" (a list).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jwt

from common.config import ConfigError
from query_mcp.auth.scopes import Principal, parse_scopes

LEEWAY_SECONDS = 30
MIN_SECRET_BYTES = 32
ASYMMETRIC = ("RS256", "ES256")


def looks_like_jwt(token: str) -> bool:
    """Three base64url parts: worth trying as a JWT before the opaque tokens."""
    return token.count(".") == 2 and token.startswith("eyJ")


class JwtVerifier:
    """Checks signature, algorithm, exp, nbf, iss and aud; maps sub and scopes to a Principal."""

    def __init__(self, issuer: str, audience: str, secret_file: str = "", jwks_file: str = "") -> None:
        self._issuer = issuer
        self._audience = audience
        self._keys: dict[str | None, tuple[Any, list[str]]] = {}
        if secret_file:
            secret = Path(secret_file).read_bytes().strip()
            if len(secret) < MIN_SECRET_BYTES:
                raise ConfigError(f"NETOBS_MCP_JWT_SECRET_FILE: at least {MIN_SECRET_BYTES} bytes of secret")
            self._keys[None] = (secret, ["HS256"])
        if jwks_file:
            try:
                jwks = jwt.PyJWKSet.from_dict(json.loads(Path(jwks_file).read_text()))
            except (ValueError, jwt.PyJWTError) as exc:
                raise ConfigError(f"NETOBS_MCP_JWT_JWKS_FILE: not a usable JWKS ({exc})") from None
            for key in jwks.keys:
                algorithm = key.algorithm_name if key.algorithm_name in ASYMMETRIC else None
                if algorithm is None:
                    raise ConfigError(f"NETOBS_MCP_JWT_JWKS_FILE: key {key.key_id!r} is not RS256 or ES256")
                self._keys[key.key_id] = (key.key, [algorithm])

    def verify(self, token: str) -> tuple[Principal | None, str]:
        """(principal, "") for a valid JWT, else (None, reason)."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            return None, "malformed JWT"
        entry = self._keys.get(header.get("kid")) or self._keys.get(None)
        if entry is None and len(self._keys) == 1:
            entry = next(iter(self._keys.values()))
        if entry is None:
            return None, "JWT signed with an unknown key"
        key, algorithms = entry
        if header.get("alg") not in algorithms:
            return None, f"JWT algorithm {header.get('alg')!r} not accepted"
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=algorithms,
                audience=self._audience,
                issuer=self._issuer,
                leeway=LEEWAY_SECONDS,
                options={"require": ["exp", "iss", "aud", "sub"]},
            )
        except jwt.ExpiredSignatureError:
            return None, "JWT expired"
        except jwt.ImmatureSignatureError:
            return None, "JWT not yet valid"
        except jwt.InvalidAudienceError:
            return None, "JWT audience is not this service"
        except jwt.InvalidIssuerError:
            return None, "JWT issuer not accepted"
        except jwt.MissingRequiredClaimError as exc:
            return None, f"JWT lacks the {exc.claim} claim"
        except jwt.PyJWTError:
            return None, "JWT signature or format invalid"
        scopes = parse_scopes(claims.get("scope") or claims.get("scp") or "")
        return Principal(f"jwt:{claims['sub']}", scopes, "jwt"), ""
