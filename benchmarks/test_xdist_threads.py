"""``-n 2`` on 2 cores: each worker's share of the cores against every worker taking them all.

The suite on the two CNNs (every cell), interleaved round by round: serial, ``-n 2`` with
each worker at cores / workers intra-op threads (what the plugin sets), and ``-n 2`` with
every worker at the machine's full thread count (``OMP_NUM_THREADS`` set to the core count,
which the plugin leaves alone: the oversubscription it avoids).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.conftest import report_ratio

ROOT = Path(__file__).resolve().parents[1]
CNNS = ("--eif-model", "fashion-cnn", "--eif-model", "mnist-cnn")


def _suite(*extra: str, threads: str | None = None) -> None:
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    if threads is not None:
        env["OMP_NUM_THREADS"] = threads
    argv = [sys.executable, "-m", "pytest", "desiderata_tests", "-q", "-p", "no:cacheprovider", *CNNS, *extra]
    subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, timeout=900, check=False)


@pytest.mark.slow
@pytest.mark.benchmark(group="xdist threads")
def test_two_workers_on_two_cores_beat_one(side_by_side):
    cores = str(len(os.sched_getaffinity(0)))
    parallel = ("-n", "2", "--dist", "loadgroup")
    variants = {
        "serial": lambda: _suite(),
        "n2-shared": lambda: _suite(*parallel),
        "n2-oversubscribed": lambda: _suite(*parallel, threads=cores),
    }
    times = side_by_side(variants, rounds=2)
    report_ratio("CNN suite: serial / -n 2 with shared cores", times, "serial", "n2-shared", 1.0, True)
    report_ratio("CNN suite: -n 2 oversubscribed / shared", times, "n2-oversubscribed", "n2-shared", 1.0, True)
