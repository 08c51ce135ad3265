"""The plugin is a guest: what it adds to ``pytest --collect-only`` of a project that never uses it."""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

import pytest

from benchmarks.conftest import EXTRA_LINES

GOAL_MS = 20.0


def _collect(folder: Path, *extra: str) -> float:
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", *extra, str(folder)],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return time.perf_counter() - start


@pytest.mark.benchmark(group="plugin overhead")
def test_plugin_adds_little_to_collecting_an_unrelated_project(benchmark, tmp_path):
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "bert.toml").write_text('name = "bert"\n')  # not an eifbench catalogue
    (tmp_path / "test_trivial.py").write_text("def test_one():\n    assert True\n")
    without, with_plugin = [], []

    def one_round() -> None:  # interleaved, so machine drift hits both alike
        without.append(_collect(tmp_path, "-p", "no:eifbench.pytest_plugin"))
        with_plugin.append(_collect(tmp_path))

    for _ in range(2):
        one_round()  # warm the file cache
    without.clear()
    with_plugin.clear()
    benchmark.pedantic(one_round, rounds=15, iterations=1)
    added_ms = 1000 * statistics.median(w - wo for w, wo in zip(with_plugin, without))
    EXTRA_LINES.append(
        f"plugin overhead on `pytest --collect-only` of a trivial project: {added_ms:+.1f} ms "
        f"(median of 15 interleaved pairs; {1000 * statistics.median(without):.0f} ms without the plugin; "
        f"goal <= {GOAL_MS:g} ms {'MET' if added_ms <= GOAL_MS else 'MISSED'})"
    )
    assert added_ms <= GOAL_MS
