"""The interval of a mean that holds its level at the suite's sizes, and the items it needs.

Resampling draws come from ``eifbench.bank.draws`` (SHAKE-256), not from numpy's
generators, so an interval is the same number on every machine and numpy version.
"""

from __future__ import annotations

import functools
from statistics import NormalDist

import numpy as np

from eifbench.bank.draws import Draws

# Interval of a mean that holds its level at the suite's sizes (issue "calibrated intervals").
#
# The percentile bootstrap under-covers at small n (0.88 at n = 8 on normal items, 0.77 on lognormal ones). In the
# study of scripts/interval_coverage.py no standard interval holds 0.93 at n = 16 on normal, lognormal(1), t(3) and
# quarter-valued items at once; each fails where another holds:
#   * Student t: too short on the long side of skewed items (lognormal: 0.86);
#   * bootstrap-t: follows the skew, but too short for heavy symmetric tails (t(3): 0.93, and no better at n = 32);
#   * Hall's skewness-corrected bootstrap-t: the furthest bound on the long side of skewed items, short on t(3) (0.91).
# Each bound of mean_interval is the most cautious of the three, so a side misses only where all three miss. The best
# pair, t with Hall's bootstrap-t, sits on the bar on lognormal items (0.926 and 0.930 in two studies of 10,000 data
# sets); the bootstrap-t adds the margin (0.935 and 0.939). The price: 0.96 rather than 0.95 on normal items, and 36
# items rather than the t-test's 34 to show a half-sd effect with power 0.8 (items_for_power). Left over: the long
# side of lognormal items still misses 6% at n = 16 (8% at n = 8); only an interval much wider everywhere would help.

# A resample whose variance is below this fraction of the sample's is one tied value up to rounding (the moments
# below carry errors of about n ulps of the centred squares): it has no spread of its own to studentize by.
_DEGENERATE_VARIANCE = 1e-12


@functools.lru_cache(maxsize=256)
def student_t_quantile(probability: float, df: int) -> float:
    """Quantile of Student's t with ``df`` (>= 1) degrees of freedom at ``probability`` in (0.5, 1).

    Bisects the closed-form central probability of an integer ``df`` (Abramowitz & Stegun 26.7.3-4) in the angle
    ``theta = arctan(t / sqrt(df))``; above 300 degrees of freedom the Cornish-Fisher series (A&S 26.7.5) agrees
    with it to 1e-12 at the 97.5% point (3e-11 at 99.95%) and needs no loop over the series.
    """
    if df > 300:
        z = NormalDist().inv_cdf(probability)
        g1 = (z**3 + z) / 4
        g2 = (5 * z**5 + 16 * z**3 + 3 * z) / 96
        g3 = (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / 384
        g4 = (79 * z**9 + 776 * z**7 + 1482 * z**5 - 1920 * z**3 - 945 * z) / 92160
        return z + g1 / df + g2 / df**2 + g3 / df**3 + g4 / df**4
    # successive coefficients of the cos^2 series grow by (k - 1) / k, k = 3, 5, .. (odd df) or 2, 4, .. (even df)
    k = np.arange(3 if df % 2 else 2, df, 2, dtype=np.float64)
    ratios = (k - 1) / k
    target = 2.0 * probability - 1.0  # P(|T| <= t)

    def central(theta: float) -> float:
        cos, sin = np.cos(theta), np.sin(theta)
        series = 1.0 + np.cumprod(ratios * cos * cos).sum()
        if df % 2:
            return float(2.0 / np.pi * (theta + (sin * cos * series if df > 1 else 0.0)))
        return float(sin * series)

    low, high = 0.0, np.pi / 2
    for _ in range(64):  # a quarter turn halved 64 times is below float resolution
        middle = 0.5 * (low + high)
        low, high = (middle, high) if central(middle) < target else (low, middle)
    return float(np.sqrt(df) * np.tan(0.5 * (low + high)))


def _draw_weights(n: int, resamples: int, seed: int) -> np.ndarray:
    """Weight of each of ``n`` items in each bootstrap resample, times drawn / n: (n, resamples), columns sum to 1."""
    # indices from the bank's frozen stream: the same resamples under every numpy version
    uniform = Draws("eifbench-bootstrap", n, resamples, seed).uniform_array(n * resamples).reshape(resamples, n)
    indices = np.minimum((uniform * n).astype(np.int64), n - 1)
    counts = np.empty((n, resamples))
    # blocks of about 2^16 draws: one bincount counts a whole block (item + n * resample), and block-sized
    # temporaries are reused from the heap instead of being faulted in afresh (3-4x faster at n = 64)
    block = max(1, 2**16 // n)
    offsets = n * np.arange(block)[:, None]
    for start in range(0, resamples, block):
        size = min(block, resamples - start)
        draws = indices[start : start + size] + offsets[:size]
        counts[:, start : start + size] = np.bincount(draws.ravel(), minlength=size * n).reshape(size, n).T
    counts /= n
    return counts


@functools.lru_cache(maxsize=8)
def _cached_draw_weights(n: int, resamples: int, seed: int) -> np.ndarray:
    weights = _draw_weights(n, resamples, seed)
    weights.flags.writeable = False  # shared by every later call
    return weights


def resample_weights(n: int, resamples: int, seed: int) -> np.ndarray:
    """:func:`_draw_weights`, kept when small: drawing is most of a call's time at n <= 64.

    The suite summarizes many measurements over the same number of items with the same seed, so the same matrix is
    asked for again and again; at most 8 of at most 8 MiB each are kept.
    """
    if n * resamples <= 2**20:
        return _cached_draw_weights(n, resamples, seed)
    return _draw_weights(n, resamples, seed)


def _hall(t: np.ndarray, skewness: np.ndarray, n: int) -> np.ndarray:
    """Hall's (1992) transformation of a studentized mean, increasing in ``t``: removes its O(n^-1/2) skewness.

    ``g(t) = t + a t^2 + a^2 t^3 / 3 + b`` with ``a = skewness / (3 sqrt n)`` and ``b = a / 2``, evaluated as
    ``t (1 + u (1 + u / 3)) + b`` with ``u = a t`` and few temporaries: it runs on (rows, resamples) arrays.
    """
    a = skewness / (3.0 * np.sqrt(n))
    u = a * t
    g = u / 3.0
    g += 1.0
    g *= u
    g += 1.0
    g *= t
    a *= 0.5
    g += a
    out: np.ndarray = g
    return out


def hall_inverse(y: np.ndarray | float, skewness: np.ndarray, n: int) -> np.ndarray:
    """Inverse of :func:`_hall` in its first argument: ``t = (cbrt(1 + 3 a (y - b)) - 1) / a``."""
    a = skewness / (3.0 * np.sqrt(n))
    x = 3.0 * a * (y - a / 2.0)
    # cbrt(1 + x) - 1 through log1p/expm1 where x is small: the plain difference would lose the digits of a
    # nearly unskewed sample (x ~ 1e-10 keeps only 6 of them)
    root = np.where(x > -0.5, np.expm1(np.log1p(np.maximum(x, -0.5)) / 3.0), np.cbrt(1.0 + x) - 1.0)
    inverse: np.ndarray = np.where(a == 0.0, y - a / 2.0, root / np.where(a == 0.0, 1.0, a))
    return inverse


def interval_parts(samples: np.ndarray, *, level: float, resamples: int, seed: int) -> dict[str, np.ndarray]:
    """The three intervals ``mean_interval`` combines, for each row of ``samples`` (m, n): n >= 2, all finite.

    Returns ``{"student_t", "bootstrap_t", "hall_bootstrap_t"}`` -> (m, 2) low/high; a bootstrap part is NaN for a
    row none of whose resamples has any spread. Every row is resampled with the same draws (those of ``seed``), as
    ``mean_interval`` would resample it alone, so the resample moments of all rows are one matrix product.
    """
    m, n = samples.shape
    mean = samples.mean(axis=1)
    centred = samples - mean[:, None]  # moments about the sample mean: no cancellation in the differences below
    squares = centred * centred
    variance = squares.mean(axis=1)  # plug-in (1/n) moments, as the bootstrap world sees them
    skewness = np.divide((squares * centred).mean(axis=1), variance**1.5, out=np.zeros(m), where=variance > 0)
    se = np.sqrt(variance / (n - 1))  # s / sqrt(n) with the unbiased s

    weights = resample_weights(n, resamples, seed)  # (n, B)
    # (m, B) moments of each resample about the sample mean, from one matrix product (three are 2-3x slower)
    stacked = np.concatenate([centred, squares, squares * centred])
    # A few rows go through einsum's single-threaded loop: a multithreaded BLAS call must wake its worker thread,
    # which on a busy 2-core machine took a scheduler slice (12 ms against 0.1 ms) in about half of the runs.
    moments = stacked @ weights if m >= 16 else np.einsum("ij,jk->ik", stacked, weights)
    p1, p2, p3 = np.split(moments, 3)
    # central moments of each resample, in place: these (rows, B) arrays are most of the cost of a simulation
    square = p1 * p1
    star_third = 3.0 * p2
    star_third -= 2.0 * square
    star_third *= p1
    np.subtract(p3, star_third, out=star_third)  # p3 - 3 p1 p2 + 2 p1^3
    star_variance = p2
    star_variance -= square
    # A resample of one tied value (likely when a few repeated values make up a small sample) would have t = +-inf,
    # and the interval would be infinite; dropping it would discard the most extreme resamples and under-cover
    # (0.93 instead of 0.95 on skewed quarter-valued items at n = 8). It is studentized by the least spread a
    # non-degenerate resample of the same sample has instead: as extreme as its nearest neighbours, and finite.
    degenerate = star_variance <= _DEGENERATE_VARIANCE * variance[:, None]
    floor = np.full((m, 1), 0.0)
    if degenerate.any():
        floor = np.min(np.where(degenerate, np.inf, star_variance), axis=1, keepdims=True)  # inf: none spreads
        star_variance = np.where(degenerate, floor, star_variance)
    star_sd = np.sqrt(star_variance, out=star_variance)
    t_star = p1
    t_star *= np.sqrt(n - 1)
    t_star /= star_sd
    for _ in range(3):  # third moment / sd^3: the skewness of each resample
        star_third /= star_sd
    g_star = _hall(t_star, star_third, n)

    # the k-th smallest and k-th largest of B resamples bound a (1 - 2 k / (B + 1)) interval (Efron & Tibshirani)
    k = max(1, int(np.floor((resamples + 1) * (1.0 - level) / 2.0)))
    kth = [k - 1, resamples - k]
    t_star.partition(kth, axis=1)
    g_star.partition(kth, axis=1)
    t_low, t_high = t_star[:, kth].T
    g_low, g_high = g_star[:, kth].T
    spreads = np.isfinite(floor[:, 0])
    quantile = student_t_quantile(1.0 - (1.0 - level) / 2.0, n - 1)
    parts = {
        "student_t": np.stack([mean - quantile * se, mean + quantile * se], axis=1),
        "bootstrap_t": np.stack([mean - t_high * se, mean - t_low * se], axis=1),
        "hall_bootstrap_t": np.stack(
            [mean - hall_inverse(g_high, skewness, n) * se, mean - hall_inverse(g_low, skewness, n) * se], axis=1
        ),
    }
    parts["bootstrap_t"][~spreads] = np.nan
    parts["hall_bootstrap_t"][~spreads] = np.nan
    return parts


def mean_intervals(samples: np.ndarray, *, level: float = 0.95, resamples: int = 4000, seed: int = 0) -> np.ndarray:
    """:func:`mean_interval` of each row of ``samples`` (m, n), all finite, in one vectorized pass; -> (m, 2).

    Row ``i`` gets what ``mean_interval(samples[i], ...)`` gives, up to float rounding; simulations score thousands
    of data sets with it in the time of a few hundred calls.

    Raises:
        ValueError: If ``samples`` is not a finite (m, n) array, ``level`` not in (0, 1) or ``resamples`` < 1.

    """
    samples = np.asarray(samples, dtype=np.float64)
    if samples.ndim != 2 or not np.isfinite(samples).all():
        raise ValueError("samples must be a finite (m, n) array")
    if not 0.0 < level < 1.0 or resamples < 1:
        raise ValueError(f"need level in (0, 1) and resamples >= 1, got {level} and {resamples}")
    m, n = samples.shape
    if n == 0:
        return np.full((m, 2), np.nan)
    if n == 1:
        return np.repeat(samples, 2, axis=1)
    intervals = np.empty((m, 2))
    # about 2^21 resample statistics at a time: (rows, B) temporaries of 16 MiB were the fastest on 2 cores, 1.3x
    # faster than 8 or 64 MiB, 2.5x faster than 1 MiB
    block = max(1, 2**21 // resamples)
    for start in range(0, m, block):
        parts = interval_parts(samples[start : start + block], level=level, resamples=resamples, seed=seed)
        # fmin/fmax skip NaN: a row without any spreading resample keeps the Student t bounds
        intervals[start : start + block, 0] = np.fmin.reduce([part[:, 0] for part in parts.values()])
        intervals[start : start + block, 1] = np.fmax.reduce([part[:, 1] for part in parts.values()])
    constant = samples.min(axis=1) == samples.max(axis=1)
    intervals[constant] = samples[constant, :1]  # all items equal: zero width at that value
    return intervals


def mean_interval(
    values: np.ndarray, *, level: float = 0.95, resamples: int = 4000, seed: int = 0
) -> tuple[float, float]:
    """Confidence interval of the mean of ``values`` (n,) over items that holds its level at small n.

    Each bound is the most cautious of three intervals at ``level``: Student's t, the studentized bootstrap
    (bootstrap-t) and Hall's skewness-corrected bootstrap-t, the last two from the same ``resamples`` draws. In the
    coverage study (scripts/interval_coverage.py) it is the one candidate at the nominal level holding 0.93 at
    n = 16 on normal, lognormal(1), t(3) and quarter-valued items alike (a bootstrap-t at level 0.97 also does, but
    needs 40 items where this needs 36 in the setting of :func:`items_for_power`); the comment heading this part of
    the module says why each part is needed. A call takes about 0.3 ms for n <= 64 once the resample draws of that
    n are cached, 2 ms before.

    Args:
        values: Per-item values (n,); NaN and infinite items are dropped first.
        level: Two-sided confidence level, in (0, 1).
        resamples: Bootstrap resamples.
        seed: Seed of the resampling: the same values and seed give the same interval.

    Returns:
        ``(low, high)``; ``(nan, nan)`` without a finite item, zero width at the value for one item or when all
        items are equal.

    Raises:
        ValueError: If ``level`` is not in (0, 1) or ``resamples`` < 1.

    """
    items = np.asarray(values, dtype=np.float64).ravel()
    items = items[np.isfinite(items)]
    low, high = mean_intervals(items[None, :], level=level, resamples=resamples, seed=seed)[0]
    return (float(low), float(high))


def items_for_power(
    *, effect_sd: float = 0.5, power: float = 0.8, level: float = 0.95, simulations: int = 4000, seed: int = 0
) -> int:
    """Smallest number of items with which :func:`mean_interval` shows a true effect with probability ``power``.

    Items are drawn from Normal(threshold + effect_sd * sd, sd); n items suffice when the whole interval at
    ``level`` lies above the threshold (a PASS) in at least ``power`` of ``simulations`` simulated data sets. The
    interval is location-scale equivariant, so threshold 0 and sd 1 stand for every threshold and sd.

    All item counts are scored on the same simulated items (the first n of each data set), so the estimated power
    rises with n nearly without Monte Carlo wiggles. The search starts at the known-sd count
    ``((z_(1 - (1 - level) / 2) + z_power) / effect_sd)^2``, corrects it once by the power found there, then
    gallops to bracket the crossing and bisects it (3-4 item counts scored at the defaults).

    Args:
        effect_sd: True mean minus threshold, in standard deviations of the items (> 0).
        power: Wanted probability of a PASS, in (0, 1).
        level: Confidence level of the interval, in (0, 1).
        simulations: Simulated data sets per item count; the power estimate's standard error is about
            ``sqrt(power * (1 - power) / simulations)`` (0.006 at the defaults, about one item near n = 35).
        seed: Seed of the simulated items; the interval keeps its default resampling seed, as in the suite.

    Returns:
        The item count n >= 2 at which the estimated power first reaches ``power``.

    Raises:
        ValueError: If an argument is out of range.

    """
    if effect_sd <= 0 or not 0 < power < 1 or not 0 < level < 1 or simulations < 1:
        raise ValueError("need effect_sd > 0, power and level in (0, 1) and simulations >= 1")
    rng = np.random.default_rng(seed)
    items = np.empty((simulations, 0))
    estimates: dict[int, float] = {}

    def estimate(n: int) -> float:
        nonlocal items
        if n not in estimates:
            if items.shape[1] < n:  # item j of every data set is the j-th block of draws, whatever n came first
                items = np.hstack([items, rng.standard_normal((n - items.shape[1], simulations)).T])
            low = mean_intervals(effect_sd + items[:, :n], level=level)[:, 0]
            estimates[n] = float(np.mean(low >= 0.0))  # PASS: the low end at or above the threshold
        return estimates[n]

    def reaches(n: int) -> bool:
        return estimate(n) >= power

    normal = NormalDist()
    z_level, z_power = normal.inv_cdf(1.0 - (1.0 - level) / 2.0), normal.inv_cdf(power)
    guess = max(2, int(np.ceil(((z_level + z_power) / effect_sd) ** 2)))
    # one probit step: read the power at the guess as Phi(effect_sd sqrt(n) / c - z_level), i.e. an interval c times
    # as wide as the known-sd one, and aim at the n that gives ``power`` with that c (within an item or two)
    at_guess = estimate(guess)
    if 0.0 < at_guess < 1.0 and normal.inv_cdf(at_guess) + z_level > 0:
        widening = effect_sd * np.sqrt(guess) / (normal.inv_cdf(at_guess) + z_level)
        guess = max(2, int(np.ceil(((z_level + z_power) * widening / effect_sd) ** 2)))
    # bracket the crossing, not reaches(low) and reaches(high), galloping from the guess in the needed direction;
    # one item (a zero-width interval) is below the domain and counts as not reaching
    step = 1
    if reaches(guess):
        high, low = guess, guess - 1
        while low >= 2 and reaches(low):
            high, step = low, 2 * step
            low = high - step
        low = max(low, 1)
    else:
        low, high = guess, guess + 1
        while not reaches(high):
            low, step = high, 2 * step
            high = low + step
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (low, middle) if reaches(middle) else (middle, high)
    return high


def range_interval(values: np.ndarray, value_range: tuple[float, float], *, level: float = 0.95) -> tuple[float, float]:
    """:func:`mean_interval` of a metric bounded to ``value_range``, never wider than the range, never zero width.

    Items that are all equal (or one item) give no spread to go by, and a zero-width interval would claim the mean
    is known exactly. Instead the interval is how far the mean could still be if a share of items not seen took the
    range's extreme: at most ``1 - ((1 - level) / 2) ** (1 / n)`` of them (the one-sided Clopper-Pearson bound of
    seeing none in n), i.e. 9.7% at n = 36, 37% at n = 8 and 97.5% at n = 1 at the default level.

    Args:
        values: Per-item values (n,), already within ``value_range``; NaN and infinite items are dropped.
        value_range: ``(low, high)`` bounds of the metric.
        level: Two-sided confidence level, in (0, 1).

    Returns:
        ``(low, high)`` within ``value_range``; ``(nan, nan)`` without a finite item.

    """
    low, high = value_range
    items = np.asarray(values, dtype=np.float64).ravel()
    items = items[np.isfinite(items)]
    if items.size == 0:
        return (float("nan"), float("nan"))
    if np.unique(items).size < 2:
        unseen = 1.0 - ((1.0 - level) / 2.0) ** (1.0 / items.size)
        x = float(items[0])
        return (x - unseen * (x - low), x + unseen * (high - x))
    lower, upper = mean_interval(items, level=level)
    return (max(lower, low), min(upper, high))
