"""Exact engine vs the naive loop and vs the compute floor; first-order vs exact; scaling."""

from __future__ import annotations

import time

import numpy as np
import pytest

import eifbench
from benchmarks import workloads
from benchmarks.conftest import EXTRA_LINES, fit_exponent, report_ratio
from eifbench.stats import spearman


@pytest.fixture(scope="module")
def fashion_64x256():
    return workloads.fashion(64, 256)


@pytest.fixture(scope="module")
def smollm2_8x24():
    return workloads.smollm2(8, 24)


FASHION = eifbench.FineTune(steps=5, lr=1e-2)
SMOLLM2 = eifbench.FineTune(steps=3, lr=1e-4)


def _variants(model, stimuli, probes, recipe):
    return {
        "exact": lambda: eifbench.influence(model, stimuli, probes, finetune=recipe),
        "naive": lambda: workloads.naive_loop(model, stimuli, probes, recipe.steps, recipe.lr),
        "floor": lambda: workloads.compute_floor(model, stimuli, probes, recipe.steps, recipe.lr),
    }


@pytest.mark.benchmark(group="fashion-cnn 64x256 k=5")
def test_fashion_exact_vs_naive_vs_floor(side_by_side, fashion_64x256):
    model, stimuli, probes = fashion_64x256
    exact = eifbench.influence(model, stimuli, probes, finetune=FASHION).matrix
    naive = workloads.naive_loop(model, stimuli, probes, FASHION.steps, FASHION.lr)
    np.testing.assert_allclose(exact.numpy(), naive.numpy(), atol=1e-5)  # the same numbers
    times = side_by_side(_variants(model, stimuli, probes, FASHION), rounds=7)
    report_ratio("fashion-cnn: naive loop / exact engine (64 x 256, k=5)", times, "naive", "exact", 1.5, True)
    report_ratio("fashion-cnn: exact engine / compute floor", times, "exact", "floor", 1.15, False)


@pytest.mark.slow
@pytest.mark.benchmark(group="smollm2 8x24 k=3")
def test_smollm2_exact_vs_naive_vs_floor(side_by_side, smollm2_8x24):
    model, stimuli, probes = smollm2_8x24
    times = side_by_side(_variants(model, stimuli, probes, SMOLLM2), rounds=3)
    report_ratio("smollm2: naive loop / exact engine (8 x 24, k=3)", times, "naive", "exact", 1.3, True)
    report_ratio("smollm2: exact engine / compute floor", times, "exact", "floor", 1.15, False)


@pytest.mark.parametrize("size", [128, 256])
@pytest.mark.benchmark(group="first-order vs exact k=1")
def test_first_order_vs_exact(side_by_side, size):
    model, stimuli, probes = workloads.fashion(size, size)
    recipe = eifbench.FineTune(steps=1, lr=1e-3)
    engines = {
        e: (lambda e=e: eifbench.influence(model, stimuli, probes, engine=e, finetune=recipe))
        for e in ("exact", "first-order")
    }
    times = side_by_side(engines, rounds=3)
    report_ratio(f"fashion-cnn: exact / first-order ({size} x {size}, k=1)", times, "exact", "first-order", 10.0, True)
    exact = engines["exact"]().matrix.numpy().ravel()
    rho = spearman(exact, engines["first-order"]().matrix.numpy().ravel())
    EXTRA_LINES.append(f"fashion-cnn: first-order vs exact Spearman at lr=1e-3, k=1: {rho:.4f} (goal >= 0.95)")
    assert rho >= 0.95


def test_first_order_agreement_as_k_and_lr_grow():
    """Not a timing: how far the first-order estimate drifts from exact (64 x 64)."""
    model, stimuli, probes = workloads.fashion(64, 64)
    lines = ["fashion-cnn first-order vs exact Spearman (64 x 64):  lr \\ k    1      3      5"]
    for lr in (1e-3, 1e-2, 1e-1):
        row = []
        for k in (1, 3, 5):
            recipe = eifbench.FineTune(steps=k, lr=lr)
            exact = eifbench.influence(model, stimuli, probes, finetune=recipe).matrix.numpy().ravel()
            approx = (
                eifbench.influence(model, stimuli, probes, engine="first-order", finetune=recipe).matrix.numpy().ravel()
            )
            row.append(spearman(exact, approx))
        lines.append(f"{'':52}{lr:<8g}" + " ".join(f"{r:6.3f}" for r in row))
    EXTRA_LINES.extend(lines)
    assert row[0] < 1.0


@pytest.mark.benchmark(group="scaling")
def test_scaling_exponents(benchmark):
    model, stimuli, probes = workloads.fashion(64, 512)
    recipe = eifbench.FineTune(steps=1, lr=1e-2)

    def seconds(n_s: int, n_p: int) -> float:
        best = float("inf")
        for _ in range(3):
            start = time.perf_counter()
            eifbench.influence(model, stimuli[:n_s], probes[:n_p], finetune=recipe)
            best = min(best, time.perf_counter() - start)
        return best

    sizes = [8, 16, 32, 64]
    by_stimuli = [seconds(n, 128) for n in sizes]
    by_probes = [seconds(16, 4 * n) for n in sizes]
    a, b = fit_exponent(sizes, by_stimuli), fit_exponent([4 * n for n in sizes], by_probes)
    EXTRA_LINES.append(f"fashion-cnn scaling: time ~ n_stimuli^{a:.2f} (128 probes), ~ n_probes^{b:.2f} (16 stimuli)")
    benchmark.pedantic(
        lambda: eifbench.influence(model, stimuli, probes[:128], finetune=recipe), rounds=3, iterations=1
    )
    assert 0.7 < a < 1.3
