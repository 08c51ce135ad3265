"""Statistics for verdicts: bootstrap confidence intervals, rank correlation, sparsity.

Everything takes and returns numpy, float64; NaN items are dropped before aggregation.
"""

from __future__ import annotations

import numpy as np

FLOAT32_EPS = float(np.finfo(np.float32).eps)


def bootstrap_ci(
    values: np.ndarray, *, level: float = 0.95, resamples: int = 2000, seed: int = 0, statistic: str = "mean"
) -> tuple[float, float]:
    """Percentile bootstrap CI of the mean (or median) of ``values`` (n,), over items.

    Returns ``(nan, nan)`` for no items and a zero-width interval for one item.
    """
    items = np.asarray(values, dtype=np.float64)
    items = items[np.isfinite(items)]
    if items.size == 0:
        return (float("nan"), float("nan"))
    if items.size == 1:
        return (float(items[0]), float(items[0]))
    rng = np.random.default_rng(seed)
    samples = items[rng.integers(0, items.size, size=(resamples, items.size))]
    stats = np.median(samples, axis=1) if statistic == "median" else samples.mean(axis=1)
    alpha = (1.0 - level) / 2.0
    low, high = np.quantile(stats, [alpha, 1.0 - alpha])
    return (float(low), float(high))


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


def hoyer(values: np.ndarray) -> float:
    """Hoyer sparsity of ``|values|`` (n,): 1 for one non-zero entry, 0 for all equal."""
    a = np.abs(np.asarray(values, dtype=np.float64))
    n = a.size
    l2 = np.sqrt((a * a).sum())
    if n < 2 or l2 == 0:
        return float("nan")
    return float((np.sqrt(n) - a.sum() / l2) / (np.sqrt(n) - 1))


def engine_noise(baseline: np.ndarray, factor: float = 64.0) -> np.ndarray:
    """Numerical noise of a float32 read-out difference per probe; (n_p,) -> (n_p,).

    A read-out of magnitude |f| computed in float32 is only known to a few ulps of |f|;
    ``factor`` ulps covers the reductions (sums over classes or tokens) behind it.
    """
    return factor * FLOAT32_EPS * (1.0 + np.abs(np.asarray(baseline, dtype=np.float64)))


def mean_interval(values: np.ndarray, *, level: float = 0.95, resamples: int = 4000, seed: int = 0) -> tuple[float, float]:
    """Interval for the mean of ``values`` (placeholder: Student t); replaced by the calibrated method."""
    items = np.asarray(values, dtype=np.float64)
    items = items[np.isfinite(items)]
    if items.size == 0:
        return (float("nan"), float("nan"))
    if items.size == 1 or np.all(items == items[0]):
        return (float(items[0]), float(items[0]))
    z, nu = 1.959963984540054 if level == 0.95 else 2.5758293035489 , items.size - 1
    t = z + (z**3 + z) / (4 * nu) + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * nu**2)
    half = t * items.std(ddof=1) / np.sqrt(items.size)
    return (float(items.mean() - half), float(items.mean() + half))
