"""The layout rule, walked over the imports: data flows one way and every package knows which room it is in.

A stage (ingest, processors, executor, query_mcp) imports schemas/ and common/ and itself, never another
stage and never netobs/; common/ imports only schemas/; schemas/ imports nothing of netobs's; netobs/ is
imported by nobody (it composes). Imports inside functions count too.
"""

from __future__ import annotations

import ast
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
STAGES = ("ingest", "processors", "executor", "query_mcp")
OURS = (*STAGES, "common", "schemas", "netobs")
ALLOWED = {
    **{stage: {stage, "common", "schemas"} for stage in STAGES},
    "common": {"common", "schemas"},
    "schemas": {"schemas"},
    "netobs": set(OURS),
}
MAX_MODULES = 15


def imported(path: Path) -> Iterator[tuple[int, str]]:
    """(line, top-level package) of every absolute import of one of our packages in a file."""
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        for name in names:
            top = name.split(".")[0]
            if top in OURS:
                yield node.lineno, top


def breaches(root: Path) -> list[str]:
    """Every import that crosses the rule, as 'file:line imports package'."""
    found = []
    for package, allowed in ALLOWED.items():
        for path in sorted((root / package).rglob("*.py")):
            for line, top in imported(path):
                if top not in allowed:
                    found.append(f"{path.relative_to(root)}:{line} imports {top}")
    return found


def crowded(root: Path) -> list[str]:
    """Folders with more modules side by side than a reader can take in."""
    found = []
    for package in ALLOWED:
        for folder in [root / package, *(d for d in (root / package).rglob("*") if d.is_dir())]:
            modules = [f for f in folder.glob("*.py") if f.name != "__init__.py"]
            if len(modules) > MAX_MODULES:
                found.append(f"{folder.relative_to(root)}/ holds {len(modules)} modules")
    return found


def test_no_stage_imports_another_stage_or_netobs() -> None:
    assert breaches(ROOT) == []


def test_folders_hold_a_handful_of_modules() -> None:
    assert crowded(ROOT) == []


def test_every_package_is_installed_and_shipped() -> None:
    """A new top-level package must reach the wheel (pyproject) and the image (Dockerfile), or a stage fails
    to import only once deployed."""
    packages = {d.name for d in ROOT.iterdir() if (d / "__init__.py").exists() and d.name != "tests"}
    assert packages == set(ALLOWED)
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert set(pyproject["tool"]["setuptools"]["packages"]["find"]["include"]) == {f"{p}*" for p in packages}
    copied = {line.split()[1] for line in (ROOT / "Dockerfile").read_text().splitlines() if line.startswith("COPY ")}
    assert packages <= copied


@pytest.mark.parametrize(
    ("package", "source", "crossing"),
    [
        ("processors", "from query_mcp.store import Store\n", "query_mcp"),
        ("executor", "def run():\n    import processors.app\n", "processors"),
        ("ingest", "from netobs.config import Config\n", "netobs"),
        ("common", "from ingest import udp\n", "ingest"),
        ("schemas", "from common import clickhouse\n", "common"),
    ],
)
def test_the_walk_finds_a_crossing(tmp_path: Path, package: str, source: str, crossing: str) -> None:
    for name in ALLOWED:
        (tmp_path / name).mkdir()
    (tmp_path / package / "bad.py").write_text(source)
    [found] = breaches(tmp_path)
    assert found.startswith(f"{package}/bad.py:") and found.endswith(f"imports {crossing}")


def test_test_modules_have_unique_names() -> None:
    """pytest imports a test module outside a package (tests/unit, tests/integration) by its basename: two of
    one name stop the whole collection."""
    tests = Path(__file__).resolve().parents[1]
    names: dict[str, list[str]] = {}
    for path in tests.rglob("test_*.py"):
        if "node_modules" not in path.parts and not (path.parent / "__init__.py").exists():
            names.setdefault(path.name, []).append(str(path.relative_to(tests)))
    assert {name: where for name, where in names.items() if len(where) > 1} == {}
