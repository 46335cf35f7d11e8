"""A skipped test fails under CI=true and is named in a NOT TESTED section otherwise (tests/conftest.py).

Runs pytest itself on a file with one passing and one skipping test, loading this suite's conftest as a plugin.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = """
import pytest

def test_runs():
    pass

def test_needs_a_tool():
    pytest.skip("frobnicate is not installed (apt-get install frobnicate)")
"""


def _pytest(tmp_path: Path, ci: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "test_sample.py").write_text(SAMPLE)
    env = {**os.environ, "CI": ci, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "tests.conftest", "-p", "no:cacheprovider", str(tmp_path)],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
    )


def test_a_skip_fails_under_ci(tmp_path: Path) -> None:
    run = _pytest(tmp_path, "true")
    assert run.returncode == 1, run.stdout
    assert "1 failed, 1 passed" in run.stdout
    assert "skipped under CI=true, which allows no skip: frobnicate is not installed" in run.stdout


def test_a_skip_outside_ci_passes_but_is_named_at_the_end(tmp_path: Path) -> None:
    run = _pytest(tmp_path, "")
    assert run.returncode == 0, run.stdout
    assert "NOT TESTED: 1 tests skipped" in run.stdout
    assert "1 x frobnicate is not installed (apt-get install frobnicate)" in run.stdout
