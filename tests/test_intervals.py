"""mean_interval holds its level at the suite's sizes, where the percentile bootstrap did not ("calibrated intervals").

Seeded simulations, 4,000 data sets a cell (Monte Carlo standard error about 0.0035 near 0.95), fixed before the
figures were seen; scripts/interval_coverage.py gives every method at n = 8, 16, 32 on 10,000 data sets a cell.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable

import numpy as np
import pytest

from eifbench.desiderata import FAIL, PASS, verdict
from eifbench.intervals import items_for_power, mean_interval, mean_intervals, student_t_quantile

DATASETS = 4000
QUARTERS = np.arange(5) / 4.0
SKEW = np.array([0.45, 0.25, 0.15, 0.10, 0.05])

# name -> (draw (rng, shape) -> items, true mean)
DISTRIBUTIONS: dict[str, tuple[Callable[[np.random.Generator, tuple[int, int]], np.ndarray], float]] = {
    "normal": (lambda rng, shape: rng.standard_normal(shape), 0.0),
    "lognormal(1)": (lambda rng, shape: rng.lognormal(0.0, 1.0, shape), float(np.exp(0.5))),
    "t(3)": (lambda rng, shape: rng.standard_t(3, shape), 0.0),
    "quarters": (lambda rng, shape: rng.choice(QUARTERS, size=shape), 0.5),
    "skewed quarters": (lambda rng, shape: rng.choice(QUARTERS, size=shape, p=SKEW), float(QUARTERS @ SKEW)),
}


@functools.cache
def simulated(name: str, n: int) -> tuple[np.ndarray, float]:
    draw, truth = DISTRIBUTIONS[name]
    return draw(np.random.default_rng([7, list(DISTRIBUTIONS).index(name), n]), (DATASETS, n)), truth


@functools.cache
def intervals(name: str, n: int) -> np.ndarray:
    return mean_intervals(simulated(name, n)[0])


def coverage(bounds: np.ndarray, truth: float) -> float:
    return float(np.mean((bounds[:, 0] <= truth) & (truth <= bounds[:, 1])))


def wrong_verdicts(bounds: np.ndarray, threshold: float) -> tuple[float, float]:
    """Shares of PASS and FAIL (higher is better) when the true mean sits exactly on the threshold."""
    verdicts = [verdict((float(low), float(high)), threshold, True) for low, high in bounds]
    return verdicts.count(PASS) / len(verdicts), verdicts.count(FAIL) / len(verdicts)


def percentile_bootstrap(samples: np.ndarray, resamples: int = 2000, seed: int = 0) -> np.ndarray:
    """The old percentile bootstrap of a mean, per row: the 2.5% and 97.5% quantiles of resampled means."""
    n = samples.shape[1]
    draws = np.random.default_rng(seed).integers(0, n, size=(resamples, n))
    weights = np.stack([np.bincount(row, minlength=n) for row in draws]).T / n
    return np.quantile(samples @ weights, [0.025, 0.975], axis=1).T


@pytest.mark.parametrize("name", list(DISTRIBUTIONS))
def test_covers_the_true_mean_at_16_items(name):
    # the bar: >= 0.93 at n = 16 on every distribution (lognormal is the tight one: 0.935 on 10,000 sets)
    bounds = intervals(name, 16)
    assert np.isfinite(bounds).all()
    assert 0.93 <= coverage(bounds, simulated(name, 16)[1]) <= 0.99


# (wrong PASS, wrong FAIL) allowed with the true mean on the threshold; 2.5% each is nominal. On lognormal items
# no candidate gets the long side near 2.5% at n = 16 (the best, bootstrap-t at level 0.98, still misses 4.9%):
# samples that miss the rare large items look unskewed, so only a much wider interval everywhere would help.
SIDE_LIMITS = {
    "normal": (0.035, 0.035),
    "lognormal(1)": (0.01, 0.075),
    "t(3)": (0.035, 0.035),
    "quarters": (0.035, 0.035),
    "skewed quarters": (0.035, 0.035),
}


@pytest.mark.parametrize("name", list(DISTRIBUTIONS))
def test_a_true_mean_on_the_threshold_rarely_gets_a_verdict(name):
    wrong_pass, wrong_fail = wrong_verdicts(intervals(name, 16), simulated(name, 16)[1])
    pass_limit, fail_limit = SIDE_LIMITS[name]
    assert wrong_pass <= pass_limit and wrong_fail <= fail_limit, (wrong_pass, wrong_fail)


def test_the_percentile_bootstrap_under_covers_where_mean_interval_holds():
    # why the suite switched: at 8 normal items the percentile bootstrap covers about 0.88 and gives a wrong
    # verdict on either side about 6% of the time with the truth on the threshold; mean_interval stays near 0.95
    samples, truth = simulated("normal", 8)
    old, new = percentile_bootstrap(samples), intervals("normal", 8)
    assert coverage(old, truth) < 0.90
    assert min(wrong_verdicts(old, truth)) > 0.045
    assert coverage(new, truth) >= 0.94
    assert max(wrong_verdicts(new, truth)) <= 0.03
    # and on skewed items at the n = 16: about 0.84 against 0.935
    samples, truth = simulated("lognormal(1)", 16)
    assert coverage(percentile_bootstrap(samples), truth) < 0.87
    assert coverage(intervals("lognormal(1)", 16), truth) >= 0.93


def test_degenerate_samples():
    assert all(np.isnan(mean_interval(np.array([]))))
    assert all(np.isnan(mean_interval(np.array([np.nan, np.nan]))))
    assert mean_interval(np.array([0.7])) == (0.7, 0.7)
    assert mean_interval(np.array([np.nan, -0.25, np.inf])) == (-0.25, -0.25)
    # all items equal: zero width at the value itself, though their float mean is 0.1 + 2 ulps
    assert mean_interval(np.full(6, 0.1)) == (0.1, 0.1)
    values = np.array([0.2, -0.4, 0.9, 0.1, 0.5])
    assert mean_interval(np.concatenate([values, [np.nan, np.nan]])) == mean_interval(values)
    # a few repeated values: resamples of one tied value must not make the interval infinite
    low, high = mean_interval(np.array([0.0] * 7 + [1.0]))
    assert np.isfinite([low, high]).all() and low < 0.125 < high
    low, high = mean_interval(np.array([0.0, 1.0]))
    assert np.isfinite([low, high]).all() and low < 0.5 < high
    with pytest.raises(ValueError):
        mean_interval(values, level=1.5)


def test_same_seed_same_interval_and_batches_match_single_calls():
    values = simulated("lognormal(1)", 16)[0][0]  # skewed: the bootstrap parts, not the t part, set the bounds
    assert mean_interval(values, seed=3) == mean_interval(values, seed=3)
    assert mean_interval(values, seed=3) != mean_interval(values, seed=4)
    rows = simulated("skewed quarters", 16)[0][:5]
    single = np.array([mean_interval(row) for row in rows])
    np.testing.assert_allclose(mean_intervals(rows), single, rtol=1e-12, atol=1e-12)


def teststudent_t_quantiles_match_the_tables():
    for probability, df, table in [
        (0.975, 1, 12.706205),
        (0.975, 2, 4.302653),
        (0.975, 7, 2.364624),
        (0.975, 15, 2.131450),
        (0.995, 10, 3.169273),
        (0.9, 5, 1.475884),
        (0.975, 1000, 1.962339),  # the Cornish-Fisher branch
    ]:
        assert student_t_quantile(probability, df) == pytest.approx(table, abs=2e-6)


def test_a_call_is_fast():
    values = np.random.default_rng(1).standard_normal(64)
    mean_interval(values)  # draws the resamples of n = 64 once
    timings = []
    for _ in range(21):
        start = time.perf_counter()
        mean_interval(values)
        timings.append(time.perf_counter() - start)
    assert np.median(timings) < 0.005


def test_items_for_power():
    # 36 items (35 and 36 across data seeds) for a half-sd effect at power 0.8: two more than Student's t-test (34),
    # four more than a known sd (32), the price of holding the level on skewed and heavy-tailed items
    n = items_for_power()
    assert 35 <= n <= 37, n  # 36 here; a different BLAS or numpy may round a power estimate across 0.8
    # at that n, fresh data sets (another seed) pass about 80% of the time, and clearly less with fewer items
    items = np.random.default_rng(99).standard_normal((DATASETS, n)) + 0.5
    assert 0.78 <= np.mean(mean_intervals(items)[:, 0] >= 0) <= 0.83
    assert np.mean(mean_intervals(items[:, : n - 4])[:, 0] >= 0) < 0.78
    with pytest.raises(ValueError):
        items_for_power(effect_sd=0.0)
