"""The check an analyst's SQL passes before ClickHouse runs it: one read-only statement over netobs's tables.

Pure: text in, a statement to run (or SqlRejected with a message an agent can act on) out. It is the first of
three layers: the SQL runs afterwards on a session locked with readonly=1, after ClickHouse's own parse
(tree_query, checked by check_query_tree) has named every table and function it touches, evaluating nothing.

This layer has to be exact rather than heuristic, because embedded ClickHouse (chdb 26.9, measured here)
runs every statement of "SELECT 1; INSERT ...", applies per-call settings to the last one only, writes
INTO OUTFILE files and reads file('/any/path') even with readonly=1. So the SQL is tokenized the way
ClickHouse's lexer does it (quotes, escapes, nested comments) and what runs is rebuilt from those tokens
with every comment replaced by a space: ClickHouse executes exactly the tokens that were checked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

NOT_ACCESSIBLE_DATABASES = frozenset({"system", "information_schema"})
IMPLICIT_TABLE = "system.one"  # what a SELECT without FROM reads; naming it (or any system table) is refused

# Generators only: nothing read from files, URLs, other servers or other databases.
GENERATORS = ("numbers", "numbers_mt", "generateSeries", "generate_series", "values")
ALLOWED_TABLE_FUNCTIONS = frozenset(name.lower() for name in GENERATORS)

# Every other table function chdb 26.9 knows (system.table_functions, plus older names), refused wherever it
# appears, not only where the tokenizer expects a table: they read files, URLs, other servers, other tables'
# internals or processes. tests/integration/test_sql_tools.py checks the engine knows no table function outside
# ALLOWED_TABLE_FUNCTIONS, DENIED_TABLE_FUNCTIONS and ORDINARY_TOO.
DENIED_TABLE_FUNCTIONS = frozenset(
    {
        "sqlstandardvalues", "arrowstream", "azureblobstorage", "azureblobstoragecluster", "bigquery", "cluster",
        "clusterallreplicas", "cosn", "deltalake", "deltalakeazure", "deltalakeazurecluster", "deltalakecluster",
        "deltalakelocal", "deltalakes3", "deltalakes3cluster", "dictionary", "eval", "executable", "file",
        "filecluster", "filesystem", "fuzzjson", "fuzzquery", "gcs", "generaterandom", "hdfs", "hdfscluster",
        "hudi", "hudicluster", "iceberg", "icebergazure", "icebergazurecluster", "icebergcluster", "iceberghdfs",
        "iceberghdfscluster", "iceberglocal", "iceberglocalcluster", "icebergs3", "icebergs3cluster", "input",
        "jdbc", "loop", "merge", "mergetreeanalyzeindexes", "mergetreeanalyzeindexesuuid",
        "mergetreecodecblockcounts", "mergetreeindex", "mergetreeprojection", "mergetreetextindex", "mongodb",
        "mysql", "null", "odbc", "oss", "paimon", "paimonazure", "paimonazurecluster", "paimoncluster",
        "paimonhdfs", "paimonhdfscluster", "paimonlocal", "paimons3", "paimons3cluster", "postgresql", "primes",
        "prometheusquery", "prometheusqueryrange", "python", "redis", "remote", "remotesecure", "s3",
        "s3cluster", "sqlite", "timeseriesdata", "timeseriesmetricfamilies", "timeseriesmetrics",
        "timeseriessamples", "timeseriesselector", "timeseriestags", "url", "urlcluster", "view", "viewexplain",
        "viewifpermitted", "ytsaurus", "zeros", "zeros_mt", "arrowflight", "arrowflightcluster", "kafka",
    }
)  # fmt: skip
ORDINARY_TOO = frozenset({"format"})  # also an ordinary function: refused as a table function only

# Ordinary functions that read files, dictionaries, join tables or server configuration.
DENIED_FUNCTIONS = frozenset(
    {
        "file", "joinget", "joingetornull", "catboostevaluate", "hascolumnintable", "getserversetting",
        "filesystemavailable", "filesystemcapacity", "filesystemunreserved",
    }
)  # fmt: skip
DENIED_FUNCTION_PREFIXES = ("dict",)  # dictGet, dictGetOrDefault, dictHas, dictGetHierarchy, ...

# Ordinary functions that name the host or read the server's settings: an analyst needs neither, an attacker
# both. version() stays: it names the SQL dialect a query is written for, and clients ask it at connect.
HOST_FUNCTIONS = frozenset(
    {
        "hostname", "fqdn", "fullhostname", "serveruuid", "getsetting", "getsettingordefault",
        "getoskernelversion", "getmacro", "displayname", "uptime", "tcpport", "getserverport", "buildid",
        "getclienthttpheader", "zookeepersessionuptime",
    }
)  # fmt: skip

# Statement keywords that have no place inside a SELECT; a column or alias with such a name can be quoted.
DENIED_KEYWORDS = frozenset(
    {
        "INSERT", "ALTER", "DROP", "CREATE", "TRUNCATE", "OPTIMIZE", "SYSTEM", "KILL", "SET", "USE", "GRANT",
        "REVOKE", "RENAME", "ATTACH", "DETACH", "EXCHANGE", "DELETE", "UPDATE", "UNDROP", "BACKUP", "RESTORE",
        "WATCH", "MOVE", "CHECK",
    }
)  # fmt: skip

EXPLAIN_KINDS = frozenset({"AST", "SYNTAX", "PLAN", "PIPELINE", "ESTIMATE"})
_SELECT_STARTS = frozenset({"SELECT", "WITH"})
_CLAUSE_ENDS = frozenset(
    {"WHERE", "PREWHERE", "GROUP", "ORDER", "HAVING", "LIMIT", "WINDOW", "QUALIFY", "UNION", "EXCEPT",
     "INTERSECT", "SELECT", "OFFSET", "FETCH"}
)  # fmt: skip
_INTROSPECTION = frozenset({"SHOW", "DESCRIBE", "DESC", "EXISTS"})
_TREE_TABLE_SECTIONS = frozenset({"JOIN TREE", "TABLE EXPRESSION", "LEFT TABLE EXPRESSION", "RIGHT TABLE EXPRESSION"})
_IN_FUNCTIONS = frozenset(
    {"in", "notin", "globalin", "globalnotin", "nullin", "notnullin", "globalnullin", "globalnotnullin"}
)

_SPACE = " \t\n\r\f\v"
_OPERATORS_2 = ("->", "<=", ">=", "!=", "<>", "==", "||", "::")
_OPERATORS_1 = "()[]{},.;:+-*/%=<>!?^|&~@"
_NUMBER = re.compile(r"(?i)0x[0-9a-f_]+|0b[01_]+|(?:\d[\d_]*(?:\.[\d_]*)?|\.\d[\d_]*)(?:e[+-]?\d+)?")
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class SqlRejected(ValueError):
    """The query is not accepted; the message says why and what is accepted instead."""


@dataclass(frozen=True, slots=True)
class Token:
    """A lexical token: kind is word, ident (quoted identifier), string, number or op."""

    kind: str
    text: str
    start: int
    end: int

    @property
    def name(self) -> str:
        """An identifier as ClickHouse resolves it: quotes removed."""
        if self.kind == "ident":
            quote = self.text[0]
            return self.text[1:-1].replace(quote * 2, quote)
        return self.text

    def is_word(self, *words: str) -> bool:
        return self.kind == "word" and self.text.upper() in words

    def is_op(self, op: str) -> bool:
        return self.kind == "op" and self.text == op


@dataclass(frozen=True, slots=True)
class Checked:
    """What to run (comments replaced by spaces, trailing semicolons dropped) and the SELECT inside it."""

    statement: str
    select: str
    is_explain: bool


def tokenize(sql: str) -> list[Token]:
    """ClickHouse's lexical rules, minus what is refused: heredocs, escapes in identifiers, non-ASCII code."""
    tokens: list[Token] = []
    i, n = 0, len(sql)
    while i < n:
        c = sql[i]
        if c in _SPACE:
            i += 1
        elif sql.startswith("--", i) or c == "#":
            newline = sql.find("\n", i)
            i = n if newline < 0 else newline + 1
        elif sql.startswith("/*", i):
            i = _skip_block_comment(sql, i)
        elif c == "'":
            end = _quoted_end(sql, i, allow_escapes=True)
            tokens.append(Token("string", sql[i:end], i, end))
            i = end
        elif c in '`"':
            end = _quoted_end(sql, i, allow_escapes=False)
            tokens.append(Token("ident", sql[i:end], i, end))
            i = end
        elif c.isascii() and (c.isalpha() or c == "_"):
            end = _match_end(_WORD, sql, i)
            tokens.append(Token("word", sql[i:end], i, end))
            i = end
        elif c.isdigit() or (c == "." and i + 1 < n and sql[i + 1].isdigit()):
            end = _match_end(_NUMBER, sql, i)
            if end < n and (sql[end].isalnum() or sql[end] == "_"):
                raise SqlRejected(f"malformed number at character {i}: {sql[i : end + 1]!r}")
            tokens.append(Token("number", sql[i:end], i, end))
            i = end
        elif sql.startswith(_OPERATORS_2, i):
            tokens.append(Token("op", sql[i : i + 2], i, i + 2))
            i += 2
        elif c in _OPERATORS_1:
            tokens.append(Token("op", c, i, i + 1))
            i += 1
        else:
            raise SqlRejected(_bad_character(sql, i))
    return tokens


def check_sql(sql: str, database: str, max_chars: int) -> Checked:
    """Accept one SELECT (or WITH ... SELECT, or EXPLAIN of one) that stays inside `database`."""
    if len(sql) > max_chars:
        raise SqlRejected(f"the query is {len(sql)} characters long; at most {max_chars} are accepted")
    tokens = tokenize(sql)
    while tokens and tokens[-1].is_op(";"):
        tokens.pop()
    if not tokens:
        raise SqlRejected("the query is empty; write one SELECT statement")
    if any(t.is_op(";") for t in tokens):
        raise SqlRejected("only one statement is accepted: remove the ';' between statements")
    body = _explain_body(tokens) if tokens[0].is_word("EXPLAIN") else 0
    _check_select_start(tokens, body)
    _check_tokens(tokens, database)
    return Checked(statement=_rebuild(tokens), select=_rebuild(tokens[body:]), is_explain=body > 0)


@dataclass(slots=True)
class _TreeLine:
    """A node line of a query tree as check_query_tree walks it; children counts the lines seen below it."""

    indent: int
    node: str
    children: int = 0


def tree_query(select: str) -> str:
    """The statement of the second check: ClickHouse's parse of `select` as a query tree, analysed no further.

    run_passes = 0 stops before the analyzer, which evaluates scalar subqueries and folds constants while it
    resolves names (chdb 26.9 ran throwIf() inside "(SELECT ...)" and printed a 220 MB constant in the
    analysed tree): nothing is evaluated, and the tree is about as long as the SQL.
    """
    return f"EXPLAIN QUERY TREE run_passes = 0 {select}"


def check_query_tree(tree: str, database: str) -> None:
    """Check ClickHouse's parse (tree_query): tables only in `database`, no table function off the allowlist,
    no denied function, no name inside another database; its view of which names are tables is ClickHouse's."""
    seen_query = False
    parents: list[_TreeLine] = []  # the lines enclosing the current one, innermost last
    for line in tree.splitlines():
        node = line.strip()
        indent = len(line) - len(line.lstrip())
        while parents and parents[-1].indent >= indent:
            parents.pop()
        if parents:
            parents[-1].children += 1
        if node.startswith(("QUERY id:", "UNION id:")):
            seen_query = True
        elif node.startswith("IDENTIFIER id:"):
            _check_tree_identifier(_tree_field(node, "identifier"), parents, database)
        elif node.startswith("TABLE_FUNCTION id:"):
            name = _tree_field(node, "table_function_name")
            if name.lower() not in ALLOWED_TABLE_FUNCTIONS:
                raise SqlRejected(_table_function_message(name))
        elif node.startswith("FUNCTION id:"):
            name = _tree_field(node, "function_name")
            if _denied_function(name):
                raise SqlRejected(_function_message(name))
        parents.append(_TreeLine(indent, node))
    if not seen_query:
        raise SqlRejected("ClickHouse's analysis of the query could not be read, so it is not run")


def _check_tree_identifier(name: str, parents: list[_TreeLine], database: str) -> None:
    """A name where a table goes (FROM, JOIN, the right of IN) is unqualified or in `database`; no name anywhere
    starts with a database analysts may not read."""
    first = name.split(".", 1)[0]
    parent = parents[-1].node if parents else ""
    right_of_in = (
        len(parents) >= 3 and parents[-1].children == 2 and _tree_function(parents[-3].node).lower() in _IN_FUNCTIONS
    )
    names_table = parent in _TREE_TABLE_SECTIONS or right_of_in
    if names_table and name == IMPLICIT_TABLE:
        return
    if first.lower() in NOT_ACCESSIBLE_DATABASES or (names_table and "." in name and first != database):
        raise SqlRejected(_database_message(first, database))


def _tree_function(node: str) -> str:
    return _tree_field(node, "function_name") if node.startswith("FUNCTION id:") else ""


def _skip_block_comment(sql: str, i: int) -> int:
    """ClickHouse nests /* */ comments; an unclosed one is refused rather than guessed at."""
    depth, i = 1, i + 2
    while depth:
        if i >= len(sql):
            raise SqlRejected("a /* comment is not closed")
        if sql.startswith("/*", i):
            depth, i = depth + 1, i + 2
        elif sql.startswith("*/", i):
            depth, i = depth - 1, i + 2
        else:
            i += 1
    return i


def _quoted_end(sql: str, start: int, allow_escapes: bool) -> int:
    """End of a quoted string or identifier; a doubled quote is an escaped quote."""
    quote, i, n = sql[start], start + 1, len(sql)
    while i < n:
        c = sql[i]
        if c == "\\":
            if not allow_escapes:
                raise SqlRejected(f"backslash escapes in quoted identifiers are not accepted (at character {i})")
            i += 2
        elif c == quote:
            if i + 1 < n and sql[i + 1] == quote:
                i += 2
            else:
                return i + 1
        else:
            i += 1
    what = "string" if quote == "'" else "quoted identifier"
    raise SqlRejected(f"a {what} opened at character {start} is not closed")


def _match_end(pattern: re.Pattern[str], sql: str, i: int) -> int:
    match = pattern.match(sql, i)
    if match is None or match.end() == i:
        raise SqlRejected(f"malformed token at character {i}")
    return match.end()


def _bad_character(sql: str, i: int) -> str:
    c = sql[i]
    if c == "$":
        return "heredoc strings ($$...$$) are not accepted; write string literals in single quotes"
    if not c.isascii():
        return (
            f"non-ASCII character U+{ord(c):04X} at character {i}, outside quotes: write keywords, names and "
            "spaces in ASCII (non-ASCII text belongs in 'strings' or `quoted names`)"
        )
    return f"unexpected character U+{ord(c):04X} at character {i}"


def _explain_body(tokens: list[Token]) -> int:
    """Index of the statement an EXPLAIN explains: EXPLAIN [kind] [option = value, ...] <statement>."""
    i = 1
    if i < len(tokens) and tokens[i].is_word(*EXPLAIN_KINDS):
        i += 1
    elif i + 1 < len(tokens) and tokens[i].is_word("QUERY") and tokens[i + 1].is_word("TREE"):
        i += 2
    while i + 2 < len(tokens) and tokens[i].kind == "word" and tokens[i + 1].is_op("="):
        if tokens[i + 2].kind not in ("number", "string", "word"):
            raise SqlRejected(f"EXPLAIN option {tokens[i].text} needs a literal value")
        i += 3
        if i < len(tokens) and tokens[i].is_op(","):
            i += 1
    return i


def _check_select_start(tokens: list[Token], body: int) -> None:
    i = body
    while i < len(tokens) and tokens[i].is_op("("):
        i += 1
    first = tokens[i] if i < len(tokens) else None
    if first is not None and first.is_word(*_SELECT_STARTS):
        return
    found, hint = "nothing", ""
    if first is not None:
        found = first.text.upper() if first.kind == "word" else repr(first.text)
        if first.is_word(*_INTROSPECTION):
            hint = "; to see tables and columns use list_tables and describe_table"
    raise SqlRejected(
        f"only SELECT queries are allowed; found {found} (accepted: SELECT ..., WITH ... SELECT ..., or "
        f"EXPLAIN [AST|SYNTAX|QUERY TREE|PLAN|PIPELINE|ESTIMATE] SELECT ...){hint}"
    )


def _check_tokens(tokens: list[Token], database: str) -> None:
    """Walk the tokens once, tracking which parenthesis levels are queries and where a table is expected.

    A level is a query when it opens with SELECT or WITH or holds a SELECT of its own; table functions off the
    allowlist are refused at every level anyway, so a level taken for an expression cannot smuggle one in.
    """
    query_level = [True]
    in_from = [False]
    for k, tok in enumerate(tokens):
        prev = tokens[k - 1] if k else None
        nxt = tokens[k + 1] if k + 1 < len(tokens) else None
        if tok.is_op("("):
            query_level.append(nxt is not None and nxt.is_word(*_SELECT_STARTS))
            in_from.append(False)
            continue
        if tok.is_op(")"):
            if len(query_level) > 1:
                query_level.pop()
                in_from.pop()
            continue
        if tok.is_word("SELECT"):
            query_level[-1] = True  # "((SELECT 1) UNION ALL SELECT ...": the outer level is a query too
        table_position = query_level[-1] and _table_position(tokens[max(k - 2, 0) : k], in_from[-1])
        if tok.kind in ("word", "ident"):
            after = tokens[k + 2] if k + 2 < len(tokens) else None
            names_table = table_position or (prev is not None and prev.is_word("IN"))
            _check_name(tok, nxt, after, database, table_position, names_table)
        if tok.kind != "word":
            continue
        _check_keyword(tok, nxt)
        if not query_level[-1]:
            continue
        if tok.is_word("FROM") or (tok.is_word("JOIN") and not (prev is not None and prev.is_word("ARRAY"))):
            in_from[-1] = True
        elif tok.is_word("JOIN") or tok.is_word(*_CLAUSE_ENDS):
            in_from[-1] = False  # ON and USING keep it: a comma after a join condition starts another table


def _table_position(before: list[Token], in_from: bool) -> bool:
    """A table (or table function) is expected right after FROM, JOIN (not ARRAY JOIN) or a comma in a FROM list."""
    if not before:
        return False
    prev = before[-1]
    if prev.is_word("FROM"):
        return True
    if prev.is_word("JOIN"):
        return not (len(before) > 1 and before[0].is_word("ARRAY"))
    return in_from and prev.is_op(",")


def _check_name(
    tok: Token, nxt: Token | None, after: Token | None, database: str, table_position: bool, names_table: bool
) -> None:
    """names_table: a qualified name here is database.table (after FROM, JOIN, a FROM-list comma, or IN)."""
    name = tok.name
    qualifies = nxt is not None and nxt.is_op(".") and after is not None and after.kind in ("word", "ident")
    if qualifies and (name.lower() in NOT_ACCESSIBLE_DATABASES or (names_table and name != database)):
        raise SqlRejected(_database_message(name, database))
    if nxt is not None and nxt.is_op("("):
        lowered = name.lower()
        if table_position and lowered not in ALLOWED_TABLE_FUNCTIONS:
            raise SqlRejected(_table_function_message(name))
        if not table_position and lowered in DENIED_TABLE_FUNCTIONS and lowered not in DENIED_FUNCTIONS:
            raise SqlRejected(_table_function_message(name))
        if _denied_function(name):
            raise SqlRejected(_function_message(name))


def _check_keyword(tok: Token, nxt: Token | None) -> None:
    word = tok.text.upper()
    if word == "SETTINGS":
        raise SqlRejected(
            "SETTINGS clauses are not allowed: the service runs every query with readonly=1 and fixed limits"
        )
    if word in ("INTO", "OUTFILE"):
        raise SqlRejected("INTO OUTFILE is not allowed: results come back in the tool's answer")
    if word == "FORMAT" and not (nxt is not None and nxt.is_op("(")):
        raise SqlRejected("FORMAT clauses are not allowed: results always come back as JSON")
    if word in DENIED_KEYWORDS and not (word == "SYSTEM" and nxt is not None and nxt.is_op(".")):
        raise SqlRejected(
            f"{word} is not allowed: run_select_query only reads (quote a column or alias named {tok.text} "
            "in backticks)"
        )


def _denied_function(name: str) -> bool:
    lowered = name.lower()
    return lowered in DENIED_FUNCTIONS or lowered in HOST_FUNCTIONS or lowered.startswith(DENIED_FUNCTION_PREFIXES)


def _database_message(name: str, database: str) -> str:
    return f"database {name} is not accessible; tables are in {database}: list_tables"


def _table_function_message(name: str) -> str:
    allowed = ", ".join(f"{f}()" for f in GENERATORS)
    return f"table function {name}() is not allowed; read the tables of list_tables (generators allowed: {allowed})"


def _function_message(name: str) -> str:
    if name.lower() in HOST_FUNCTIONS:
        return f"function {name}() is not allowed: it reveals the server host or its settings"
    return f"function {name}() is not allowed: it reads files, dictionaries, other tables or server configuration"


def _tree_field(node: str, key: str) -> str:
    match = re.search(rf"\b{key}: ([^,]*)", node)
    if match is None:
        raise SqlRejected("ClickHouse's analysis of the query could not be read, so it is not run")
    return match.group(1).strip()


def _rebuild(tokens: list[Token]) -> str:
    """The tokens as written, a single space wherever whitespace or a comment separated them."""
    parts: list[str] = []
    for k, tok in enumerate(tokens):
        if k and tok.start > tokens[k - 1].end:
            parts.append(" ")
        parts.append(tok.text)
    return "".join(parts)
