"""Regular-expression filters as SQL: match() (RE2, linear time) with the pattern as a server-side parameter."""

from __future__ import annotations

from collections.abc import Mapping


def regex_clauses(
    filters: Mapping[str, str], columns: Mapping[str, str | tuple[str, ...]]
) -> tuple[list[str], dict[str, object]]:
    """One clause per non-empty filter; a filter over several columns matches if any of them does.

    Only the names in `columns` (fixed by the caller) reach the SQL text; the patterns travel as parameters.
    """
    clauses: list[str] = []
    params: dict[str, object] = {}
    for arg, target in columns.items():
        pattern = filters.get(arg, "")
        if not pattern:
            continue
        names = (target,) if isinstance(target, str) else target
        tests = [f"match({column}, {{{arg}:String}})" for column in names]
        clauses.append(tests[0] if len(tests) == 1 else "(" + " OR ".join(tests) + ")")
        params[arg] = pattern
    return clauses, params


def where(clauses: list[str]) -> str:
    """A WHERE clause of the conditions, or nothing."""
    return f"WHERE {' AND '.join(clauses)}" if clauses else ""


def keyset(
    key: tuple[tuple[str, str], ...], after: tuple[object, ...], descending: bool
) -> tuple[list[str], dict[str, object]]:
    """Rows strictly after `after` in the order of key ((column, ClickHouse type) pairs): a cursor's next page.

    The tuple comparison is exact; the bound on the first column alone lets ClickHouse skip granules by it.
    """
    if len(after) != len(key):
        raise ValueError(f"a key of {len(key)} values, got {len(after)}")
    op = "<" if descending else ">"
    names = [f"after{i}" for i in range(len(key))]
    columns = ", ".join(column for column, _ in key)
    values = ", ".join(f"{{{name}:{kind}}}" for name, (_, kind) in zip(names, key, strict=True))
    first_column, first_kind = key[0]
    clauses = [f"{first_column} {op}= {{after0:{first_kind}}}", f"({columns}) {op} ({values})"]
    return clauses, dict(zip(names, after, strict=True))
