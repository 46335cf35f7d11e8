"""Who is asking: a named token's name as the ClickHouse user and the token as its password or key.

The user must name the credential the key belongs to (so a log of users is a log of credentials), and the
credential must hold read:sql, the scope of the MCP SQL tool; a bearer token (clickhouse-connect's
access_token) stands for itself. Failures read like ClickHouse's, saying no more than it does.
"""

from __future__ import annotations

from collections.abc import Callable

from query_mcp.auth.scopes import Principal
from query_mcp.clickhouse_http import errors
from query_mcp.clickhouse_http.errors import ClickHouseHttpError
from schemas.scopes import READ_SQL

Authenticate = Callable[[str], tuple[Principal | None, str]]


def sign_in(authenticate: Authenticate, user: str, key: str) -> Principal:
    """The principal of (user, key), allowed to read SQL; ClickHouseHttpError (516 or 497) otherwise."""
    principal = authenticate(key)[0] if key else None
    if principal is None or (user and user != principal.name):
        raise ClickHouseHttpError(
            errors.AUTHENTICATION_FAILED,
            f"{user or 'default'}: Authentication failed: password is incorrect, or there is no user with such "
            "name (sign in with a named token's name as the user and the token as the password)",
        )
    if not principal.may(READ_SQL):
        raise ClickHouseHttpError(
            errors.ACCESS_DENIED, f"{principal.name}: Not enough privileges: the credential lacks the {READ_SQL} scope"
        )
    return principal
