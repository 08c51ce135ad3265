"""The code base stays lint-clean and formatted (ruff, configured in pyproject.toml)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TREES = ["src", "tests", "benchmarks", "fixtures", "desiderata_tests", "conftest.py", "scripts"]


def _ruff() -> str | None:
    """The ruff of the running interpreter's environment (its venv need not be on PATH), else PATH's."""
    beside = Path(sys.executable).parent / ("ruff.exe" if sys.platform == "win32" else "ruff")
    return str(beside) if beside.is_file() else shutil.which("ruff")


RUFF = _ruff()


@pytest.mark.skipif(RUFF is None, reason="ruff is in the test extras")
@pytest.mark.parametrize("command", [["check"], ["format", "--check"]])
def test_ruff(command):
    assert RUFF is not None
    proc = subprocess.run([RUFF, *command, *TREES], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
