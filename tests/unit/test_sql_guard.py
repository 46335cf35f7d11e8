"""The SQL guard of run_select_query: every attack of issue 5 refused with a message an agent can act on,
ordinary analyst SQL accepted, and what runs is exactly what was checked."""

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from query_mcp.sql.guard import SqlRejected, check_query_tree, check_sql, tokenize

DB = "netobs"
MAX = 20_000


def rejected(sql: str) -> str:
    with pytest.raises(SqlRejected) as info:
        check_sql(sql, DB, MAX)
    return str(info.value)


ATTACKS = [
    # statements that are not a SELECT
    ("INSERT INTO netobs.syslog (message) VALUES ('x')", "only SELECT queries are allowed"),
    ("ALTER TABLE netobs.syslog DELETE WHERE 1", "only SELECT queries are allowed"),
    ("DROP TABLE netobs.syslog", "only SELECT queries are allowed"),
    ("CREATE TABLE netobs.x (a UInt8) ENGINE = Memory", "only SELECT queries are allowed"),
    ("TRUNCATE TABLE netobs.syslog", "only SELECT queries are allowed"),
    ("OPTIMIZE TABLE netobs.syslog FINAL", "only SELECT queries are allowed"),
    ("SYSTEM FLUSH LOGS", "only SELECT queries are allowed"),
    ("KILL QUERY WHERE 1", "only SELECT queries are allowed"),
    ("SET readonly = 0", "only SELECT queries are allowed"),
    ("GRANT ALL ON *.* TO default", "only SELECT queries are allowed"),
    ("RENAME TABLE netobs.syslog TO netobs.gone", "only SELECT queries are allowed"),
    ("DETACH TABLE netobs.syslog", "only SELECT queries are allowed"),
    ("BACKUP TABLE netobs.syslog TO File('x')", "only SELECT queries are allowed"),
    ("SHOW TABLES FROM system", "use list_tables and describe_table"),
    ("DESCRIBE TABLE system.users", "use list_tables and describe_table"),
    ("USE system", "only SELECT queries are allowed"),
    ("WITH x AS (SELECT 1) INSERT INTO netobs.syslog SELECT * FROM x", "INSERT is not allowed"),
    ("EXPLAIN TABLE OVERRIDE mysql('h', 'd', 't', 'u', 'p')", "only SELECT queries are allowed"),
    ("EXPLAIN AST DROP TABLE netobs.syslog", "only SELECT queries are allowed"),
    # settings: the limits and readonly are the service's
    ("SELECT * FROM netobs.syslog SETTINGS readonly = 0", "SETTINGS clauses are not allowed"),
    ("SELECT * FROM netobs.syslog SETTINGS max_result_rows = 0, max_execution_time = 0", "SETTINGS clauses"),
    ("SELECT * FROM (SELECT * FROM netobs.syslog SETTINGS readonly = 0)", "SETTINGS clauses are not allowed"),
    ("SELECT 1 sEtTiNgS readonly=0", "SETTINGS clauses are not allowed"),
    # more than one statement, however disguised
    ("SELECT 1; DROP TABLE x", "only one statement"),
    ("SELECT 1; SELECT 2", "only one statement"),
    ("SELECT 1 -- harmless\n; DROP TABLE netobs.syslog", "only one statement"),
    ("SELECT 1 /* a comment */; INSERT INTO netobs.syslog SELECT * FROM netobs.syslog", "only one statement"),
    ("SELECT 1 /* unclosed comment hides the rest ; DROP TABLE x", "comment is not closed"),
    ("SELECT 'unclosed string ; DROP TABLE x", "string opened at character 7 is not closed"),
    ("SELECT `unclosed ; DROP TABLE x", "quoted identifier opened at character 7 is not closed"),
    ("SELECT 1 /* /* nested */ still a comment */ ; DROP TABLE x", "only one statement"),
    ("SELECT $$ ; DROP TABLE x $$", "heredoc strings"),
    # other databases, however spelled
    ("SELECT * FROM system.users", "database system is not accessible; tables are in netobs: list_tables"),
    ("SELECT name FROM system.tables", "database system is not accessible"),
    ("SELECT * FROM SYSTEM.USERS", "database SYSTEM is not accessible"),
    ("SELECT * FROM `system`.`users`", "database system is not accessible"),
    ('SELECT * FROM "system"."users"', "database system is not accessible"),
    ("SELECT * FROM system . users", "database system is not accessible"),
    ("SELECT * FROM system/**/./**/users", "database system is not accessible"),
    ("SELECT * FROM information_schema.tables", "database information_schema is not accessible"),
    ("SELECT * FROM INFORMATION_SCHEMA.TABLES", "database INFORMATION_SCHEMA is not accessible"),
    ("SELECT * FROM other_db.secrets", "database other_db is not accessible; tables are in netobs"),
    ("SELECT * FROM netobs.syslog JOIN other_db.secrets USING (host)", "database other_db is not accessible"),
    ("SELECT * FROM netobs.syslog, `other_db`.secrets", "database other_db is not accessible"),
    ("SELECT 1 WHERE 1 IN (SELECT dummy FROM system.one)", "database system is not accessible"),
    ("SELECT * FROM `sy\\x73tem`.users", "backslash escapes in quoted identifiers"),
    # table functions that reach files, URLs, servers, processes or other tables
    ("SELECT * FROM file('/etc/passwd', 'LineAsString')", "table function file() is not allowed"),
    ("SELECT * FROM FILE('/etc/passwd')", "table function FILE() is not allowed"),
    ("SELECT * FROM url('http://127.0.0.1:9/', 'LineAsString')", "table function url() is not allowed"),
    ("SELECT * FROM s3('http://127.0.0.1:9/b/k', 'CSV')", "table function s3() is not allowed"),
    ("SELECT * FROM remote('127.0.0.1', 'system', 'users')", "table function remote() is not allowed"),
    ("SELECT * FROM remoteSecure('127.0.0.1', system.users)", "table function remoteSecure() is not allowed"),
    ("SELECT * FROM mysql('h:3306', 'd', 't', 'u', 'p')", "table function mysql() is not allowed"),
    ("SELECT * FROM postgresql('h', 'd', 't', 'u', 'p')", "table function postgresql() is not allowed"),
    ("SELECT * FROM executable('id', 'TSV', 'x String')", "table function executable() is not allowed"),
    ("SELECT * FROM cluster('default', netobs.syslog)", "table function cluster() is not allowed"),
    ("SELECT * FROM merge('system', '.*')", "table function merge() is not allowed"),
    ("SELECT * FROM hdfs('hdfs://h/f', 'CSV')", "table function hdfs() is not allowed"),
    ("SELECT * FROM jdbc('x', 'y')", "table function jdbc() is not allowed"),
    ("SELECT * FROM odbc('x', 'y')", "table function odbc() is not allowed"),
    ("SELECT * FROM input('a UInt8')", "table function input() is not allowed"),
    ("SELECT * FROM dictionary('d')", "table function dictionary() is not allowed"),
    ("SELECT * FROM azureBlobStorage('c', 'x')", "table function azureBlobStorage() is not allowed"),
    ("SELECT * FROM iceberg('http://h/t')", "table function iceberg() is not allowed"),
    ("SELECT * FROM deltaLake('http://h/t')", "table function deltaLake() is not allowed"),
    ("SELECT * FROM loop(netobs.syslog)", "table function loop() is not allowed"),
    ("SELECT * FROM fuzzJSON('{}')", "table function fuzzJSON() is not allowed"),
    ("SELECT * FROM view(SELECT 1)", "table function view() is not allowed"),
    ("SELECT * FROM `file`('/etc/passwd')", "table function file() is not allowed"),
    ("SELECT * FROM numbers(3) AS a, url('http://127.0.0.1:9/', 'CSV')", "table function url() is not allowed"),
    ("SELECT * FROM netobs.syslog AS s LEFT JOIN file('x') AS f ON 1", "table function file() is not allowed"),
    ("SELECT 1 WHERE 1 IN (SELECT * FROM s3('http://h/b'))", "table function s3() is not allowed"),
    ("SELECT * FROM numbers(1) AS a JOIN numbers(1) AS b ON 1 = 1, null('x UInt8') AS n", "function null()"),
    ("SELECT * FROM zeros(3)", "table function zeros() is not allowed"),
    ("SELECT count() FROM netobs.syslog WHERE host IN other_db.secrets", "database other_db is not accessible"),
    ("SELECT count() FROM netobs.syslog WHERE host GLOBAL NOT IN `other_db`.t", "database other_db is not"),
    # a parenthesised UNION: the tokenizer once took the outer level for an expression (hardening issue)
    ("((SELECT 1) UNION ALL SELECT number FROM primes(3))", "table function primes() is not allowed"),
    ("((SELECT 1) UNION ALL SELECT 1 FROM someFutureFunction(1))", "table function someFutureFunction()"),
    (
        "((SELECT throwIf(number = 2) FROM numbers(3)) UNION ALL "
        "SELECT 1 FROM mergeTreeAnalyzeIndexes('netobs', 'command_audit'))",
        "table function mergeTreeAnalyzeIndexes() is not allowed",
    ),
    ("((SELECT 1) UNION ALL SELECT 1 FROM other_db.t)", "database other_db is not accessible"),
    # table functions off the allowlist are refused wherever they appear
    ("SELECT 1 + (SELECT 1 FROM (SELECT 1) AS x, zeros(3) LIMIT 1)", "table function zeros() is not allowed"),
    ("SELECT arrayMap(x -> mergeTreeIndex('netobs', 'syslog'), [1])", "table function mergeTreeIndex()"),
    # functions that read files, dictionaries or other tables
    ("SELECT file('/etc/passwd')", "function file() is not allowed"),
    ("SELECT dictGet('db.dict', 'attr', 1)", "function dictGet() is not allowed"),
    ("SELECT dictGetOrDefault('db.dict', 'attr', 1, 'x')", "function dictGetOrDefault() is not allowed"),
    ("SELECT joinGet('db.t', 'v', 1)", "function joinGet() is not allowed"),
    ("SELECT hasColumnInTable('system', 'users', 'name')", "function hasColumnInTable() is not allowed"),
    # writing files
    ("SELECT * FROM netobs.syslog INTO OUTFILE '/tmp/out.csv'", "INTO OUTFILE is not allowed"),
    ("SELECT 1 INTO OUTFILE 'data/mcp_token' TRUNCATE", "INTO OUTFILE is not allowed"),
    ("SELECT * FROM netobs.syslog FORMAT CSV", "FORMAT clauses are not allowed"),
    # case tricks
    ("dRoP TaBlE netobs.syslog", "only SELECT queries are allowed; found DROP"),
    ("sElEcT 1; dElEtE FROM netobs.syslog WHERE 1", "only one statement"),
    ("SeLeCt * FrOm SyStEm.UsErS", "database SyStEm is not accessible"),
    ("SELECT 1 WHERE 0 UNION ALL SELECT * FROM FiLe('/etc/passwd')", "table function FiLe() is not allowed"),
    # Unicode whitespace and look-alikes: ClickHouse treats U+00A0, U+2028, U+3000 as spaces
    ("SELECT\u00a0*\u00a0FROM\u00a0system.users", "non-ASCII character U+00A0"),
    ("SELECT 1\u2028; DROP TABLE x", "non-ASCII character U+2028"),
    ("SELECT\u3000* FROM netobs.syslog", "non-ASCII character U+3000"),
    ("\ufeffSELECT 1", "non-ASCII character U+FEFF"),
    ("SELECT * FROM ѕystem.users", "non-ASCII character U+0455"),
    ("SELECT 1\x00; DROP TABLE x", "unexpected character U+0000"),
    # nothing to run
    ("", "the query is empty"),
    ("  -- only a comment\n", "the query is empty"),
    (";", "the query is empty"),
]


@pytest.mark.parametrize(("sql", "message"), ATTACKS)
def test_attacks_refused_with_actionable_message(sql, message):
    assert message in rejected(sql)


def test_huge_query_refused_before_tokenizing():
    sql = "SELECT " + " + ".join(["1"] * 10_000)
    assert len(sql) > MAX
    assert f"at most {MAX} are accepted" in rejected(sql)
    assert check_sql("SELECT 1", DB, MAX).statement == "SELECT 1"


ACCEPTED = [
    "SELECT count() FROM syslog",
    "SELECT host, count() AS n FROM netobs.syslog WHERE received_at > now() - INTERVAL 1 HOUR GROUP BY host",
    "select level, count() from `netobs`.`syslog` group by level order by 2 desc limit 10",
    'SELECT "host" FROM "netobs"."syslog" LIMIT 1',
    "WITH cur AS (SELECT template_id, argMax(current_id, updated_at) AS current_id FROM netobs.syslog_patterns "
    "GROUP BY template_id) SELECT if(cur.current_id = 0, s.template_id, cur.current_id) AS pattern, count() AS n "
    "FROM netobs.syslog AS s LEFT JOIN cur USING (template_id) GROUP BY pattern ORDER BY n DESC LIMIT 10",
    "SELECT p.template, count() FROM syslog AS s INNER JOIN syslog_patterns AS p ON s.template_id = p.template_id "
    "GROUP BY p.template",
    "SELECT * FROM syslog WHERE message LIKE '%DROP TABLE%; SELECT * FROM system.users' LIMIT 5",
    "SELECT 'it''s', 'back\\'slash', `weird name`, \"update\" FROM syslog",
    "SELECT extract(DAY FROM received_at), trim(BOTH ' ' FROM message), substring(message FROM 2) FROM syslog",
    "SELECT arr FROM syslog ARRAY JOIN arrayMap(x -> x * 2, [1, 2]) AS arr",
    "SELECT x FROM syslog LEFT ARRAY JOIN splitByChar(' ', message) AS x",
    "SELECT format('{} {}', host, tag), replace(message, 'a', 'b') FROM syslog",
    "SELECT number FROM numbers(10) UNION ALL SELECT number FROM numbers_mt(5)",
    "SELECT * FROM numbers(3) AS a, numbers(2) AS b",
    "SELECT * FROM generateSeries(1, 5)",
    "(SELECT 1) UNION ALL (SELECT 2)",
    "SELECT 1 WHERE 1 IN (SELECT template_id FROM syslog_patterns)",
    "SELECT count() FROM syslog WHERE host IN ('a', 'b') AND match(message, '^link (up|down)')",
    "SELECT toStartOfHour(received_at) AS h, uniqExact(host) FROM syslog GROUP BY h ORDER BY h WITH FILL",
    "SELECT (1, 2).1, tuple(1, 2).2, [1, 2][1], map('k', 1)['k'], 1e+5, 0x1F, 1_000, .5, 1.",
    "SELECT 'ünïcode in a string', `ünïcode name` FROM syslog -- ünïcode in a comment",
    "SELECT 1;",
    "SELECT 1 ; ; ",
    "SELECT 1 # a hash comment",
    "EXPLAIN SELECT count() FROM syslog",
    "EXPLAIN PLAN indexes = 1, actions = 1 SELECT count() FROM syslog WHERE host = 'a'",
    "EXPLAIN QUERY TREE SELECT 1",
    "EXPLAIN SYNTAX WITH 1 AS x SELECT x",
    "EXPLAIN ESTIMATE SELECT * FROM syslog",
    "SELECT count() FROM syslog FINAL",
    "SELECT s.host FROM syslog AS s WHERE s.severity <= 3 AND s.level != 'info' OR s.tag <> ''",
]


@pytest.mark.parametrize("sql", ACCEPTED)
def test_analyst_sql_accepted(sql):
    checked = check_sql(sql, DB, MAX)
    assert ";" not in [t.text for t in tokenize(checked.statement) if t.kind == "op"]
    assert check_sql(checked.statement, DB, MAX) == checked


def test_comments_replaced_by_spaces_and_semicolons_dropped():
    checked = check_sql("/* lead */ SELECT/**/1 -- tail\n+ 2 # hash\n;", DB, MAX)
    assert checked.statement == "SELECT 1 + 2"
    assert check_sql("SELECT 1 /* a /* b */ ; DROP */ + 1", DB, MAX).statement == "SELECT 1 + 1"
    assert check_sql("SELECT a->b, 1<=2", DB, MAX).statement == "SELECT a->b, 1<=2"


def test_explain_checks_the_select_it_explains():
    checked = check_sql("EXPLAIN indexes = 1 SELECT count() FROM syslog", DB, MAX)
    assert checked.is_explain
    assert checked.select == "SELECT count() FROM syslog"
    assert checked.statement == "EXPLAIN indexes = 1 SELECT count() FROM syslog"
    assert not check_sql("SELECT 1", DB, MAX).is_explain
    assert "database system is not accessible" in rejected("EXPLAIN SELECT * FROM system.users")
    assert "table function file() is not allowed" in rejected("EXPLAIN PIPELINE SELECT * FROM file('x')")


def test_keywords_usable_as_quoted_names():
    assert "quote a column or alias named update" in rejected("SELECT update FROM syslog")
    assert check_sql("SELECT `update`, `system` FROM syslog", DB, MAX)


def test_configured_database_is_the_only_one():
    assert check_sql("SELECT * FROM analytics.syslog", "analytics", MAX)
    with pytest.raises(SqlRejected, match="database netobs is not accessible; tables are in analytics"):
        check_sql("SELECT * FROM netobs.syslog", "analytics", MAX)


# EXPLAIN QUERY TREE run_passes = 0 as chdb 26.9 prints it (abridged to the node lines the check reads).
TREE_OK = """QUERY id: 0
  JOIN TREE
    JOIN id: 9, strictness: ALL, kind: INNER
      LEFT TABLE EXPRESSION
        QUERY id: 10, is_subquery: 1, is_cte: 1, cte_name: cur
          JOIN TREE
            IDENTIFIER id: 13, identifier: netobs.syslog
      RIGHT TABLE EXPRESSION
        TABLE_FUNCTION id: 20, alias: n, table_function_name: numbers
      JOIN EXPRESSION
        FUNCTION id: 23, function_name: equals, function_type: ordinary
          ARGUMENTS
            LIST id: 24, nodes: 2
              IDENTIFIER id: 25, identifier: cur.x
              IDENTIFIER id: 26, identifier: other_db.x
"""


def test_query_tree_within_database_accepted():
    check_query_tree(TREE_OK, DB)
    check_query_tree("QUERY id: 0\n  JOIN TREE\n    IDENTIFIER id: 3, identifier: system.one\n", DB)
    check_query_tree("QUERY id: 0\n  JOIN TREE\n    IDENTIFIER id: 3, alias: s, identifier: syslog\n", DB)


IN_OTHER = """FUNCTION id: 12, function_name: in, function_type: ordinary
      ARGUMENTS
        LIST id: 15, nodes: 2
          IDENTIFIER id: 16, identifier: s.host
          IDENTIFIER id: 17, identifier: other_db.secrets"""


@pytest.mark.parametrize(
    ("node", "message"),
    [
        ("IDENTIFIER id: 41, alias: s, identifier: other_db.secrets", "database other_db is not accessible"),
        ("IDENTIFIER id: 41, identifier: system.users", "database system is not accessible"),
        ("IDENTIFIER id: 41, identifier: INFORMATION_SCHEMA.TABLES", "database INFORMATION_SCHEMA is not accessible"),
        (IN_OTHER, "database other_db is not accessible"),
        ("TABLE_FUNCTION id: 20, alias: t, table_function_name: url", "table function url() is not allowed"),
        ("TABLE_FUNCTION id: 20, table_function_name: someNewFunction", "table function someNewFunction()"),
        ("FUNCTION id: 4, function_name: dictGet, function_type: ordinary", "function dictGet() is not allowed"),
        ("FUNCTION id: 4, function_name: file, function_type: ordinary", "function file() is not allowed"),
        ("IDENTIFIER id: 3, alias: x", "could not be read"),
    ],
)
def test_query_tree_outside_database_refused(node, message):
    with pytest.raises(SqlRejected, match=message.replace("(", r"\(").replace(")", r"\)")):
        check_query_tree(f"QUERY id: 0\n  JOIN TREE\n    {node}\n", DB)


def test_system_names_refused_anywhere_in_the_tree():
    tree = "QUERY id: 0\n  PROJECTION\n    LIST id: 1, nodes: 1\n      IDENTIFIER id: 2, identifier: system.x\n"
    with pytest.raises(SqlRejected, match="database system is not accessible"):
        check_query_tree(tree, DB)


def test_unreadable_query_tree_refused():
    with pytest.raises(SqlRejected, match="could not be read"):
        check_query_tree("", DB)


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("SELECT system.;'`\"/*-#\n()$ \u00a0\\x1ab,=")), max_size=60))
def test_any_text_is_accepted_or_refused_cleanly(sql):
    try:
        checked = check_sql(sql, DB, MAX)
    except SqlRejected:
        return
    # What runs is one statement made of exactly the checked tokens, single spaces between some of them and
    # nothing else: no comment is left for ClickHouse to read differently.
    tokens = tokenize(checked.statement)
    assert [t.text for t in tokens] == [t.text for t in tokenize(sql) if not t.is_op(";")]
    assert not any(t.is_op(";") for t in tokens)
    assert tokens[0].start == 0 and tokens[-1].end == len(checked.statement)
    for before, after in itertools.pairwise(tokens):
        assert checked.statement[before.end : after.start] in ("", " ")
    assert check_sql(checked.statement, DB, MAX) == checked
