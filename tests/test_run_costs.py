"""scripts/run_costs.py: one row per distinct run, each shared run said once."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_run_costs_times_each_distinct_run_once_and_names_the_shared_ones():
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts" / "run_costs.py"),
            "--model",
            "tiny-lm",
            "--items",
            "4",
            "--engine",
            "exact",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    rows = [
        [cell.strip() for cell in line.split("|")[1:-1]]
        for line in proc.stdout.splitlines()
        if line.startswith("| exact")
    ]
    by_run = {(row[1], row[2]): row for row in rows}
    # distance, sparseness and noise invariance read one main run; noise reuses sparseness's sensitivity run
    assert by_run[("sparseness", "main")][5] == by_run[("noise invariance", "main")][5] == "shared with distance/main"
    assert by_run[("noise invariance", "sensitivity")][5] == "shared with sparseness/sensitivity"
    # at 4 items the sensitivity run fine-tunes the 4 everyday facts and reads each on itself
    assert by_run[("sparseness", "sensitivity")][3:5] == ["4", "4"]
    timed = [float(row[5]) for row in rows if row[1] != "all" and not row[5].startswith("shared")]
    assert float(by_run[("all", "")][5]) == sum(timed) or abs(float(by_run[("all", "")][5]) - sum(timed)) < 0.01 * len(
        timed
    )
