"""Statistics for verdicts: rank correlation, sparsity, the engine's float noise.

The interval of a mean lives in ``eifbench.intervals``.

Everything takes and returns numpy, float64; NaN items are dropped before aggregation.
"""

from __future__ import annotations

import numpy as np

FLOAT32_EPS = float(np.finfo(np.float32).eps)


def rank(values: np.ndarray) -> np.ndarray:
    """Ranks 1..n with ties given their average rank; shape (n,) -> (n,)."""
    values = np.asarray(values, dtype=np.float64)
    order = np.argsort(values, kind="mergesort")
    ranks = np.empty(values.size, dtype=np.float64)
    ranks[order] = np.arange(1, values.size + 1)
    for value in np.unique(values):
        tied = values == value
        if tied.sum() > 1:
            ranks[tied] = ranks[tied].mean()
    return ranks


def pearson(x: np.ndarray, y: np.ndarray) -> float:
    """Pearson correlation of two (n,) arrays; NaN when either is constant."""
    x = np.asarray(x, dtype=np.float64) - np.mean(x)
    y = np.asarray(y, dtype=np.float64) - np.mean(y)
    denominator = np.sqrt((x * x).sum() * (y * y).sum())
    return float((x * y).sum() / denominator) if denominator > 0 else float("nan")


def spearman(x: np.ndarray, y: np.ndarray) -> float:
    """Spearman rank correlation (Pearson of average ranks); NaN when either is constant."""
    return pearson(rank(x), rank(y))


HALF_PRECISION_EPS = 1e-4  # coarser is half precision: float16's epsilon is 9.8e-4, bfloat16's 7.8e-3


def engine_noise(baseline: np.ndarray, eps: float = FLOAT32_EPS) -> np.ndarray:
    """Numerical noise of a read-out difference per probe; (n_p,) -> (n_p,).

    A read-out of magnitude |f| computed at relative precision ``eps`` is only known to a
    few ulps of |f|: 64 ulps cover the reductions (sums over classes or tokens) behind a
    float32 or float64 read-out. A half-precision model's logits are rounded once each, and
    the log-softmax runs in float32, so 4 of its (coarse) ulps are the floor there; 64 of
    them would call any influence under 50% of the read-out noise.
    """
    ulps = 4.0 if eps >= HALF_PRECISION_EPS else 64.0
    return ulps * eps * (1.0 + np.abs(np.asarray(baseline, dtype=np.float64)))
