"""ClickHouse's HTTP protocol, the request side: from URL parameters, headers and body to the one query to check
and run, its output format, its database and its query id. Pure.

What ClickHouse does and clients rely on: the query is the `query` URL parameter, the body, or both (URL first,
then a newline, then the body); a trailing FORMAT clause names the output format, else `default_format`, else
the X-ClickHouse-Format header, else TabSeparated; `{name:Type}` placeholders take their values from
`param_name`, written in ClickHouse's escaped text form; every other URL parameter is a setting.

Placeholders are replaced here by typed literals (CAST('value' AS Type), a quoted name for Identifier), before
the SQL checks run, so the checks see exactly what ClickHouse will run, values included.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass

from query_mcp.clickhouse_http import errors
from query_mcp.clickhouse_http.errors import ClickHouseHttpError
from query_mcp.sql.guard import SqlRejected, Token, tokenize

_JSON = "application/json; charset=UTF-8"
_NDJSON = "application/x-ndjson; charset=UTF-8"
_TSV = "text/tab-separated-values; charset=UTF-8"
_TEXT = "text/plain; charset=UTF-8"
_BINARY = "application/octet-stream"

FORMATS = {
    **dict.fromkeys(("JSON", "JSONCompact", "JSONStrings", "JSONCompactStrings", "JSONColumns"), _JSON),
    **dict.fromkeys(
        (
            "JSONEachRow", "JSONStringsEachRow", "JSONCompactEachRow", "JSONCompactEachRowWithNames",
            "JSONCompactEachRowWithNamesAndTypes", "JSONCompactStringsEachRow", "NDJSON", "JSONLines",
        ),
        _NDJSON,
    ),
    **dict.fromkeys(
        (
            "TabSeparated", "TabSeparatedRaw", "TabSeparatedWithNames", "TabSeparatedWithNamesAndTypes", "TSV",
            "TSVRaw", "TSVWithNames", "TSVWithNamesAndTypes",
        ),
        _TSV,
    ),
    "CSV": "text/csv; charset=UTF-8; header=absent",
    "CSVWithNames": "text/csv; charset=UTF-8; header=present",
    "CSVWithNamesAndTypes": "text/csv; charset=UTF-8; header=present",
    **dict.fromkeys(
        (
            "Native", "RowBinary", "RowBinaryWithNames", "RowBinaryWithNamesAndTypes", "Arrow", "ArrowStream",
            "Parquet",
        ),
        _BINARY,
    ),
    **dict.fromkeys(("Values", "Vertical", "Pretty", "PrettyCompact", "PrettyCompactMonoBlock", "Markdown"), _TEXT),
}  # fmt: skip
"""The output formats served, with the Content-Type ClickHouse gives them. All are the engine's own output."""
_FORMAT_NAMES = {name.lower(): name for name in FORMATS}

# URL parameters that are part of the protocol rather than settings.
PROTOCOL_PARAMETERS = frozenset(
    {"query", "database", "default_format", "query_id", "user", "password", "quota_key", "session_id",
     "session_timeout", "session_check", "buffer_size", "wait_end_of_query", "compress", "decompress"}
)  # fmt: skip
# Settings that shape only how the answer travels (progress headers, HTTP compression, cancelling on
# disconnect, the Native block header of a newer client): accepted and left at the server's choice, as the
# answer is complete and uncompressed either way.
TRANSPORT_SETTINGS = frozenset(
    {"send_progress_in_http_headers", "http_headers_progress_interval_ms", "enable_http_compression",
     "http_zlib_compression_level", "cancel_http_readonly_queries_on_client_close", "client_protocol_version",
     "http_response_buffer_size", "http_wait_end_of_query", "http_write_exception_in_output_format"}
)  # fmt: skip
MAX_QUERY_ID = 128
"""A query_id comes back in a response header, so it is kept short and printable."""
_ESCAPES = {"b": "\b", "f": "\f", "r": "\r", "n": "\n", "t": "\t", "0": "\0", "a": "\a", "v": "\v"}


@dataclass(frozen=True, slots=True)
class HttpQuery:
    """One request's query, ready for the SQL checks: placeholders bound, the FORMAT clause taken off."""

    sql: str
    format: str
    query_id: str
    settings: Mapping[str, str]


def credentials(headers: Mapping[str, str], params: Mapping[str, str]) -> tuple[str, str]:
    """(user, key) as ClickHouse reads them: X-ClickHouse-User/Key, HTTP basic auth, or user/password in the URL;
    a bearer token comes with an empty user. Nothing given is the user default without a password."""
    if "x-clickhouse-user" in headers or "x-clickhouse-key" in headers:
        return headers.get("x-clickhouse-user", "default"), headers.get("x-clickhouse-key", "")
    scheme, _, value = headers.get("authorization", "").partition(" ")
    if scheme.lower() == "basic":
        try:
            user, _, key = base64.b64decode(value.strip(), validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            raise ClickHouseHttpError(errors.AUTHENTICATION_FAILED, "malformed basic authentication") from None
        return user or "default", key
    if scheme.lower() == "bearer":
        return "", value.strip()
    return params.get("user", "default"), params.get("password", "")


def parse(
    params: Mapping[str, str],
    headers: Mapping[str, str],
    body: str,
    database: str,
    query_id: str,
) -> HttpQuery:
    """The request's query, format and settings; ClickHouseHttpError says what ClickHouse would refuse."""
    if headers.get("content-encoding", "identity").lower() != "identity":
        raise ClickHouseHttpError(
            errors.SYNTAX_ERROR, "compressed request bodies are not accepted; send the query plain"
        )
    if headers.get("content-type", "").lower().startswith("multipart/"):
        raise ClickHouseHttpError(
            errors.SYNTAX_ERROR, "multipart requests (external data, form-encoded parameters) are not accepted"
        )
    url_query = params.get("query", "")
    sql = f"{url_query}\n{body}" if url_query and body else url_query or body
    wanted = params.get("database") or headers.get("x-clickhouse-database") or database
    if wanted != database:
        raise ClickHouseHttpError(
            errors.ACCESS_DENIED, f"database {wanted} is not accessible; netobs's tables are in {database}"
        )
    if params.get("compress", "0") != "0" or params.get("decompress", "0") != "0":
        raise ClickHouseHttpError(
            errors.ACCESS_DENIED, "compress and decompress (ClickHouse's block compression) are not offered; use 0"
        )
    sql, clause_format = split_format(sql)
    fmt = clause_format or params.get("default_format") or headers.get("x-clickhouse-format") or "TabSeparated"
    bound = bind_parameters(sql, {k[6:]: v for k, v in params.items() if k.startswith("param_")})
    settings = {k: v for k, v in params.items() if k not in PROTOCOL_PARAMETERS and not k.startswith("param_")}
    given_id = params.get("query_id", "")
    if len(given_id) > MAX_QUERY_ID or not given_id.isprintable() or not given_id.isascii():
        raise ClickHouseHttpError(errors.BAD_ARGUMENTS, f"query_id: printable ASCII, at most {MAX_QUERY_ID} characters")
    return HttpQuery(bound, output_format(fmt), given_id or query_id, settings)


def output_format(name: str) -> str:
    """The canonical name of a served format (ClickHouse matches format names without regard to case)."""
    found = _FORMAT_NAMES.get(name.lower())
    if found is None:
        raise ClickHouseHttpError(
            errors.UNKNOWN_FORMAT, f"format {name} is not served here; formats: {', '.join(sorted(FORMATS))}"
        )
    return found


def split_format(sql: str) -> tuple[str, str]:
    """(the query without its trailing FORMAT clause, the format named there or "")."""
    tokens = _tokens(sql)
    while tokens and tokens[-1].is_op(";"):
        tokens.pop()
    if len(tokens) >= 2 and tokens[-2].is_word("FORMAT") and tokens[-1].kind in ("word", "ident"):
        return sql[: tokens[-2].start], tokens[-1].name
    return sql, ""


def bind_parameters(sql: str, values: Mapping[str, str]) -> str:
    """Replace each {name:Type} by the value of param_name as a literal of that type."""
    tokens = _tokens(sql)
    parts: list[str] = []
    done = 0
    i = 0
    while i < len(tokens):
        if not _placeholder_at(tokens, i):
            i += 1
            continue
        close = _closing_brace(tokens, i + 3)
        name = tokens[i + 1].text
        type_text = sql[tokens[i + 3].start : tokens[close - 1].end]
        if name not in values:
            raise ClickHouseHttpError(errors.UNKNOWN_QUERY_PARAMETER, f"Substitution `{name}` is not set")
        parts += [sql[done : tokens[i].start], literal(type_text, values[name])]
        done = tokens[close].end
        i = close + 1
    return "".join(parts) + sql[done:]


def literal(type_text: str, value: str) -> str:
    """A query parameter's value (ClickHouse's escaped text form) as SQL: a quoted name for Identifier, NULL for
    \\N of a Nullable type, else CAST('text' AS Type), which parses the text as that type the way ClickHouse does.
    A string's escapes are undone here; an array's or a tuple's text keeps them, for the type's own parser."""
    if type_text == "Identifier":
        if not value or any(not part for part in value.split(".")):
            raise ClickHouseHttpError(errors.BAD_QUERY_PARAMETER, f"{value!r} is not an identifier")
        return ".".join("`" + part.replace("`", "``") + "`" for part in value.split("."))
    if value == "\\N" and type_text.startswith("Nullable("):
        return f"CAST(NULL AS {type_text})"
    text = unescape(value) if _is_text(type_text) else value
    quoted = "'" + text.replace("\\", "\\\\").replace("'", "\\'").replace("\0", "\\0") + "'"
    return quoted if type_text == "String" else f"CAST({quoted} AS {type_text})"


def unescape(value: str) -> str:
    """ClickHouse's escaped text form (as in TabSeparated): backslash escapes, \\xHH, anything else as itself."""
    out: list[str] = []
    i = 0
    while i < len(value):
        c = value[i]
        if c != "\\" or i + 1 == len(value):
            out.append(c)
            i += 1
            continue
        nxt = value[i + 1]
        if nxt == "x" and _is_hex(value[i + 2 : i + 4]):
            out.append(chr(int(value[i + 2 : i + 4], 16)))
            i += 4
            continue
        out.append(_ESCAPES.get(nxt, nxt))
        i += 2
    return "".join(out)


def check_settings(settings: Mapping[str, str], current: Mapping[str, str]) -> None:
    """Settings in the URL, as a ClickHouse server answers a read-only user: a setting left at its value (or one
    that shapes only the transport) is accepted; any change is refused, so no request can loosen a limit."""
    for name, value in settings.items():
        if name in TRANSPORT_SETTINGS:
            continue
        if name not in current:
            raise ClickHouseHttpError(errors.UNKNOWN_SETTING, f"Unknown setting '{name}'")
        if value != current[name]:
            raise ClickHouseHttpError(
                errors.READONLY,
                f"Cannot modify '{name}' setting in readonly mode: this endpoint runs every query with fixed limits",
            )


def _tokens(sql: str) -> list[Token]:
    try:
        return tokenize(sql)
    except SqlRejected as exc:
        raise ClickHouseHttpError(errors.SYNTAX_ERROR, str(exc)) from None


def _placeholder_at(tokens: list[Token], i: int) -> bool:
    return (
        i + 3 < len(tokens)
        and tokens[i].is_op("{")
        and tokens[i + 1].kind == "word"
        and tokens[i + 2].is_op(":")
        and tokens[i + 3].kind == "word"
    )


def _closing_brace(tokens: list[Token], start: int) -> int:
    """Index of the } ending a placeholder's type (which may hold parentheses, strings and numbers)."""
    depth = 0
    for k in range(start, len(tokens)):
        tok = tokens[k]
        if tok.is_op("("):
            depth += 1
        elif tok.is_op(")"):
            depth -= 1
        elif tok.is_op("}") and depth == 0:
            return k
        elif tok.is_op("{") or tok.is_op(";") or depth < 0:
            break
    raise ClickHouseHttpError(errors.SYNTAX_ERROR, "a {name:Type} query parameter is not closed")


def _is_text(type_text: str) -> bool:
    """String or FixedString, possibly Nullable or LowCardinality: the types whose value is one escaped field."""
    inner = type_text.replace(" ", "")
    for wrapper in ("Nullable(", "LowCardinality("):
        if inner.startswith(wrapper) and inner.endswith(")"):
            inner = inner[len(wrapper) : -1]
    return inner == "String" or inner.startswith("FixedString(")


def _is_hex(text: str) -> bool:
    return len(text) == 2 and all(c in "0123456789abcdefABCDEF" for c in text)
