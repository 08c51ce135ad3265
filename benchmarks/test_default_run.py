"""The default ``eifbench run`` (fashion-cnn + smollm2, every cell, default items and recipes), timed.

Run it alone on the machine (nothing else running), and only on purpose: it takes tens of
minutes on 2 CPU cores::

    EIFBENCH_DEFAULT_RUN=1 .venv/bin/python -m pytest benchmarks/test_default_run.py -s

It computes everything (the result cache is off) and prints the wall time of the whole run
and of each cell (the record's ``seconds``); the verdicts must be the committed baseline's
(``reports/baselines/default.json``), so a faster run that changed an answer fails here.
The goal is 10 minutes on 2 cores.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from benchmarks.conftest import EXTRA_LINES

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "reports" / "baselines" / "default.json"
GOAL_SECONDS = 600.0
DEFAULT_MODELS = ("fashion-cnn", "smollm2")


@pytest.mark.skipif(os.environ.get("EIFBENCH_DEFAULT_RUN") != "1", reason="tens of minutes: EIFBENCH_DEFAULT_RUN=1")
@pytest.mark.benchmark(group="default run")
@pytest.mark.timeout(4 * 3600)  # the suite's 20-minute test timeout would cut a slow machine's run short
def test_the_default_run(benchmark, tmp_path):
    out = tmp_path / "default.json"

    def run() -> subprocess.CompletedProcess[str]:
        argv = [sys.executable, "-m", "eifbench.cli", "run", "--cache=off", f"--json={out}"]
        return subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, timeout=3 * 3600)

    began = time.perf_counter()
    proc = benchmark.pedantic(run, rounds=1, iterations=1)
    seconds = time.perf_counter() - began
    doc = json.loads(out.read_text())
    assert doc["complete"], proc.stdout[-3000:] + proc.stderr[-3000:]
    cells = sorted(doc["results"], key=lambda r: -r["seconds"])
    EXTRA_LINES.append(f"default run: {seconds:.0f} s (goal {GOAL_SECONDS:.0f} s); slowest cells:")
    EXTRA_LINES.extend(
        f"  {r['model']} · {r['desideratum']} · {r['condition']}: {r['seconds']:.0f} s" for r in cells[:12]
    )
    benchmark.extra_info.update(
        seconds=seconds, cells={f"{r['model']}/{r['desideratum']}/{r['condition']}": r["seconds"] for r in cells}
    )
    baseline = {
        (r["model"], r["desideratum"], r["condition"]): r
        for r in json.loads(BASELINE.read_text())["results"]
        if r["model"] in DEFAULT_MODELS
    }
    cells = {(r["model"], r["desideratum"], r["condition"]): r for r in doc["results"]}
    moved = [
        abs(cells[key]["value"] - record["value"])
        for key, record in baseline.items()
        if key in cells and cells[key]["value"] is not None and record["value"] is not None
    ]
    EXTRA_LINES.append(f"  values: at most {max(moved, default=0.0):.1e} from the committed baseline's")
    statuses = {key: cell["status"] for key, cell in cells.items()}
    assert statuses == {key: record["status"] for key, record in baseline.items()}, (
        "the default run's verdicts differ from the committed baseline's"
    )
