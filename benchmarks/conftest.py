"""Shared workloads for the benchmarks, and the ratio table printed at the end of the run.

Every goal is a ratio of two timings taken side by side in the same run (same machine,
same load), never an absolute time.
"""

from __future__ import annotations

import math
import os
import statistics
import time

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

RATIO_LINES: list[str] = []
EXTRA_LINES: list[str] = []


@pytest.fixture
def side_by_side(benchmark):
    """Time several variants interleaved, round by round, under pytest-benchmark.

    Each round runs every variant once, in a rotating order; a ratio is the median over
    rounds of the per-round ratio, so drift in machine speed (a shared 2-core box) cancels.
    Returns ``{variant: [seconds per round]}``.
    """

    def run(variants: dict, rounds: int) -> dict[str, list[float]]:
        times: dict[str, list[float]] = {name: [] for name in variants}
        names = list(variants)
        for name in names:  # warm-up: first calls pay for lazy initialization
            variants[name]()
        state = {"round": 0}

        def one_round() -> None:
            shift = state["round"] % len(names)
            for name in names[shift:] + names[:shift]:
                start = time.perf_counter()
                variants[name]()
                times[name].append(time.perf_counter() - start)
            state["round"] += 1

        benchmark.pedantic(one_round, rounds=rounds, iterations=1)
        return times

    return run


def report_ratio(label: str, times: dict[str, list[float]], top: str, bottom: str, goal: float, higher: bool) -> float:
    """Add a ratio line (median of per-round ratios) to the summary; returns the ratio."""
    ratio = statistics.median(a / b for a, b in zip(times[top], times[bottom]))
    met = ratio >= goal if higher else ratio <= goal
    sign = ">=" if higher else "<="
    medians = ", ".join(f"{name} {statistics.median(t) * 1000:.0f} ms" for name, t in times.items())
    RATIO_LINES.append(f"{label}: {ratio:.2f}x (goal {sign} {goal}x) {'MET' if met else 'MISSED'}  [{medians}]")
    return ratio


def pytest_terminal_summary(terminalreporter):
    if not RATIO_LINES and not EXTRA_LINES:
        return
    terminalreporter.section("eifbench ratios (interleaved, measured side by side in this run)")
    for line in RATIO_LINES + EXTRA_LINES:
        terminalreporter.write_line(line)


def fit_exponent(sizes: list[int], seconds: list[float]) -> float:
    """Slope of log(seconds) vs log(size): time ~ size ** exponent."""
    xs = [math.log(s) for s in sizes]
    ys = [math.log(t) for t in seconds]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)
