"""The ClickHouse HTTP endpoint's edge: an ASGI app that answers ClickHouse's clients from the embedded store.

Each request passes, in order: the address allowlist and a rate per client address (before any credential is
looked at, so guessing is slow), sign-in (auth), a rate per credential, the protocol (protocol: query, format,
parameters, settings), the SQL checks of run_select_query (tokens, then ClickHouse's own parse), the fair gate
(a few queries per credential at once), and a session locked read-only with the endpoint's limits, whose
engine writes the answer in the format asked for. Every request but /ping is audited in mcp_audit.
"""

from __future__ import annotations

import json
import logging
import socket
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

from clickhouse_connect.driver.exceptions import ClickHouseError
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from query_mcp.auth import access
from query_mcp.auth.access import Network
from query_mcp.auth.mcp_audit import AuditTrail, make_record
from query_mcp.auth.ratelimit import RateLimiter
from query_mcp.clickhouse_http import auth, errors, protocol
from query_mcp.clickhouse_http.auth import Authenticate
from query_mcp.clickhouse_http.connect_queries import connect_query
from query_mcp.clickhouse_http.errors import ClickHouseHttpError
from query_mcp.sql.fair import FairGate, QueueFull
from query_mcp.sql.guard import SqlRejected, check_query_tree, check_sql, tree_query
from query_mcp.sql.tools import SqlLimits
from query_mcp.store import ReadOnlyPool, Store

log = logging.getLogger(__name__)

TRANSPORT = "clickhouse-http"
"""mcp_audit.transport of this endpoint's records; their tool is "sql"."""
DISPLAY_NAME = socket.gethostname()
NO_HANDLE = "There is no handle for this path: queries go to / and health checks to /ping\n"


def run_settings(limits: SqlLimits) -> dict[str, object]:
    """The session of answers: run_select_query's limits, but a result over max_result_rows is an error (a
    ClickHouse client cannot be told that rows were cut), as on a ClickHouse server with these limits."""
    return {
        "max_execution_time": limits.max_execution_time,
        "max_memory_usage": limits.max_memory_bytes,
        "max_result_rows": limits.max_result_rows,
        "max_result_bytes": limits.max_result_bytes,
        "result_overflow_mode": "throw",
    }


@dataclass(frozen=True)
class HttpSettings:
    """The endpoint's policy: who may connect, how often, how much, over which database."""

    database: str
    allow_from: tuple[Network, ...]
    trusted_proxies: tuple[Network, ...] = ()
    rate_per_client: float = 20.0
    rate_per_credential: float = 5.0
    per_credential: int = 1
    max_body_bytes: int = 1_048_576
    limits: SqlLimits = field(default_factory=SqlLimits)


@dataclass(frozen=True)
class Engine:
    """The read-only sessions and what the engine says about itself (version, time zone, its settings)."""

    checker: ReadOnlyPool
    runner: ReadOnlyPool
    version: str
    timezone: str
    settings: Mapping[str, str]


async def open_engine(store: Store, limits: SqlLimits) -> Engine:
    """Open the endpoint's own sessions (as many as run_select_query's) and read the engine's identity."""
    checker = store.read_only_pool(limits.check_settings(), size=limits.sessions)
    runner = store.read_only_pool(run_settings(limits), size=limits.sessions)
    identity = await runner.select("SELECT version(), timezone()")
    settings = await runner.select("SELECT name, value FROM system.settings")
    version, timezone = identity.rows[0]
    return Engine(checker, runner, str(version), str(timezone), {str(n): str(v) for n, v in settings.rows})


class ClickHouseHttp:
    """The ASGI app; holds the rate limiters and the fair gate, which are state across requests."""

    def __init__(
        self, engine: Engine, settings: HttpSettings, authenticate: Authenticate, trail: AuditTrail | None
    ) -> None:
        self._engine = engine
        self._settings = settings
        self._authenticate = authenticate
        self._trail = trail
        self._per_client = RateLimiter(settings.rate_per_client, 2 * settings.rate_per_client)
        self._per_credential = RateLimiter(settings.rate_per_credential, 2 * settings.rate_per_credential)
        limits = settings.limits
        self._gate = FairGate(limits.sessions, settings.per_credential, limits.waiting_per_credential)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        request = Request(scope, receive)
        if request.url.path == "/ping" or (
            request.url.path == "/" and request.method in ("GET", "HEAD") and not request.url.query
        ):
            await Response("Ok.\n", media_type="text/plain; charset=UTF-8")(scope, receive, send)
            return
        started = time.monotonic()
        query_id = str(uuid.uuid4())
        who, digest_of, client = "-", "", None
        try:
            client = self._client(request)
            if request.url.path != "/":
                await Response(NO_HANDLE, 404, media_type="text/plain; charset=UTF-8")(scope, receive, send)
                return
            params = dict(parse_qsl(request.url.query, keep_blank_values=True))
            headers = {k.lower(): v for k, v in request.headers.items()}
            principal = auth.sign_in(self._authenticate, *protocol.credentials(headers, params))
            who = principal.name
            if self._per_credential.take(who, time.monotonic()) > 0:
                raise ClickHouseHttpError(
                    errors.QUOTA_EXCEEDED,
                    f"{who}: more than {self._settings.rate_per_credential:g} queries per second; slow down",
                )
            body = await self._body(request)
            query = protocol.parse(params, headers, body, self._settings.database, query_id)
            query_id, digest_of = query.query_id, query.sql
            protocol.check_settings(query.settings, self._engine.settings)
            answer = await self._answer(query, who)
        except Exception as caught:
            if isinstance(caught, ClickHouseHttpError):
                exc = caught
            else:  # a fault of netobs's own: the client gets ClickHouse's form of it, the log the details
                log.exception("ClickHouse HTTP endpoint: request failed")
                exc = ClickHouseHttpError(
                    errors.UNKNOWN_EXCEPTION, "internal error of the endpoint; see the node's log"
                )
            await self._refuse(exc, query_id)(scope, receive, send)
            self._audit(client, who, request.method, digest_of, started, exc)
            return
        elapsed_ns = int((time.monotonic() - started) * 1e9)
        response = Response(answer, media_type=protocol.FORMATS[query.format], headers=self._headers(query_id))
        response.headers["X-ClickHouse-Format"] = query.format
        # What is known of the query here: nothing written, the answer's size and the time taken (the engine's read
        # counters do not come back through clickhouse-connect's raw answers, so they are left out, not made up).
        response.headers["X-ClickHouse-Summary"] = json.dumps(
            {"written_rows": "0", "written_bytes": "0", "result_bytes": str(len(answer)), "elapsed_ns": str(elapsed_ns)}
        )
        await response(scope, receive, send)
        self._audit(client, who, request.method, digest_of, started, None)

    def _client(self, request: Request) -> str | None:
        peer = request.client.host if request.client else None
        client = access.client_address(peer, request.headers.get("x-forwarded-for"), self._settings.trusted_proxies)
        if not access.address_allowed(client, self._settings.allow_from):
            raise ClickHouseHttpError(errors.IP_ADDRESS_NOT_ALLOWED, f"connections from {client} are not allowed")
        if self._per_client.take(client, time.monotonic()) > 0:
            raise ClickHouseHttpError(errors.QUOTA_EXCEEDED, f"more than {self._settings.rate_per_client:g} "
                                      "requests per second from this address; slow down")  # fmt: skip
        return client

    async def _body(self, request: Request) -> str:
        """The body, refused beyond max_body_bytes without reading further."""
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > self._settings.max_body_bytes:
                raise ClickHouseHttpError(
                    errors.SYNTAX_ERROR, f"the request body is over {self._settings.max_body_bytes} bytes"
                )
            chunks.append(chunk)
        try:
            return b"".join(chunks).decode()
        except UnicodeDecodeError:
            raise ClickHouseHttpError(errors.SYNTAX_ERROR, "the query is not valid UTF-8") from None

    async def _answer(self, query: protocol.HttpQuery, who: str) -> bytes:
        """The engine's output for a query that passes every check."""
        limits, engine = self._settings.limits, self._engine
        fixed = connect_query(query.sql)
        try:
            checked = None if fixed else check_sql(query.sql, self._settings.database, limits.max_query_chars)
            statement = checked.statement if checked is not None else str(fixed)
            async with self._gate.slot(who):
                if checked is not None:
                    check_query_tree(await engine.checker.text(tree_query(checked.select)), self._settings.database)
                return await engine.runner.raw(statement, query.format)
        except SqlRejected as exc:
            raise refusal(str(exc)) from None
        except QueueFull:
            raise ClickHouseHttpError(
                errors.TOO_MANY_SIMULTANEOUS_QUERIES,
                f"{limits.waiting_per_credential} queries of {who} are already waiting for their turn "
                f"({self._settings.per_credential} run at a time)",
            ) from None
        except ClickHouseError as exc:
            raise errors.from_engine(str(exc)) from None

    def _headers(self, query_id: str) -> dict[str, str]:
        return {
            "X-ClickHouse-Query-Id": query_id,
            "X-ClickHouse-Timezone": self._engine.timezone,
            "X-ClickHouse-Server-Display-Name": DISPLAY_NAME,
        }

    def _refuse(self, exc: ClickHouseHttpError, query_id: str) -> Response:
        headers = {**self._headers(query_id), "X-ClickHouse-Exception-Code": str(exc.code)}
        if exc.status == 401:
            headers["WWW-Authenticate"] = 'Basic realm="ClickHouse"'
        return Response(exc.text(self._engine.version), exc.status, headers, "text/plain; charset=UTF-8")

    def _audit(
        self, client: str | None, who: str, method: str, sql: str, started: float, exc: ClickHouseHttpError | None
    ) -> None:
        if self._trail is None:
            return
        denied = exc is not None and exc.status in (401, 403, 429, 503)
        self._trail.record(
            make_record(
                transport=TRANSPORT,
                client=client,
                principal=who,
                method=f"{method} /",
                tool="sql",
                arguments={"query": sql} if sql else None,
                outcome="ok" if exc is None else "denied" if denied else "error",
                reason="" if exc is None else f"{exc.code} {exc.name}: {exc.message}",
                status=200 if exc is None else exc.status,
                started=started,
            )
        )


def refusal(message: str) -> ClickHouseHttpError:
    """A refusal of the SQL checks as ClickHouse would code it: a write as READONLY, several statements as a
    syntax error, anything else (tables, functions, databases, clauses) as ACCESS_DENIED."""
    if message.startswith("only one statement"):
        return ClickHouseHttpError(errors.SYNTAX_ERROR, f"Multi-statements are not allowed: {message}")
    if message.startswith("only SELECT") or "only reads" in message:
        return ClickHouseHttpError(errors.READONLY, f"Cannot execute query in readonly mode: {message}")
    return ClickHouseHttpError(errors.ACCESS_DENIED, message)
