"""The library type-checks under mypy --strict (configured in pyproject.toml [tool.mypy])."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import eifbench

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.typecheck
def test_mypy_strict_reports_no_errors():
    pytest.importorskip("mypy", reason="mypy is in the test extras")
    proc = subprocess.run([sys.executable, "-m", "mypy"], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_the_spelled_out_exports_are_the_lazy_ones():
    """``eifbench.__all__`` is written out for type checkers; it must name exactly what ``__getattr__`` serves."""
    assert sorted(eifbench.__all__) == sorted([*eifbench._EXPORTS, "__version__"])
    assert len(set(eifbench.__all__)) == len(eifbench.__all__)
