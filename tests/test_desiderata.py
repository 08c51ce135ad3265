"""Each desideratum's metric against hand-computed values, and its verdict on constructed cases."""

from __future__ import annotations

import numpy as np
import pytest

from eifbench.desiderata import DESIDERATA, FAIL, INCONCLUSIVE, PASS, Thresholds, verdict
from eifbench.desiderata.asymmetry import asymmetry_index, group_indices
from eifbench.desiderata.consistency import DOWN, UP, sign_agreement
from eifbench.desiderata.distance import distance_rho
from eifbench.desiderata.noise import noise_ratios, pair_correlations
from eifbench.desiderata.sparseness import share_above_floor
from eifbench.desiderata.transitivity import chain_ratios, strong_triples
from eifbench.stats import bootstrap_ci, hoyer, rank, spearman

T = Thresholds()


def test_rank_and_spearman_by_hand():
    assert rank(np.array([10.0, 30.0, 20.0, 20.0])).tolist() == [1.0, 4.0, 2.5, 2.5]
    assert spearman(np.array([1, 2, 3, 4]), np.array([8, 6, 4, 2])) == pytest.approx(-1.0)
    # d = rank differences (1,-1,1,-1): rho = 1 - 6*4/(4*15) = 0.6
    assert spearman(np.array([1, 2, 3, 4]), np.array([2, 1, 4, 3])) == pytest.approx(0.6)
    assert np.isnan(spearman(np.array([1, 1, 1]), np.array([1, 2, 3])))


def test_hoyer_by_hand():
    assert hoyer(np.array([0.0, 0.0, 5.0, 0.0])) == pytest.approx(1.0)
    assert hoyer(np.array([2.0, -2.0, 2.0, 2.0])) == pytest.approx(0.0)
    # [1, 1, 0, 0]: (2 - 2/sqrt(2)) / (2 - 1) = 2 - sqrt(2)
    assert hoyer(np.array([1.0, 1.0, 0.0, 0.0])) == pytest.approx(2 - np.sqrt(2))


def test_distance_rho_by_hand():
    levels = np.array([[0, 1, 2, 3, -1], [0, 1, 2, 3, -1]])
    matrix = np.array([[4.0, -3.0, 2.0, 1.0, 99.0], [1.0, 2.0, 3.0, -4.0, 99.0]])
    assert distance_rho(matrix, levels).tolist() == pytest.approx([-1.0, 1.0])
    obeys = DESIDERATA["distance"].measure(np.tile(matrix[:1], (6, 1)), np.tile(levels[:1], (6, 1)), T)
    assert obeys.status == PASS and obeys.value == pytest.approx(-1.0)
    violates = DESIDERATA["distance"].measure(np.tile(matrix[1:], (6, 1)), np.tile(levels[1:], (6, 1)), T)
    assert violates.status == FAIL


def test_sparseness_by_hand():
    # self-influence 10 -> floor 0.5; other probes |.| = 0.6, 0.1, 0.4, 2.0 -> 2 of 4 above
    matrix = np.array([[10.0, 0.6, -0.1, 0.4, -2.0]])
    share, sparsity = share_above_floor(matrix, np.array([0]), noise=1e-6, fraction=0.05)
    assert share.tolist() == [0.5]
    assert sparsity[0] == pytest.approx(hoyer(np.array([0.6, 0.1, 0.4, 2.0])))
    # the noise floor wins over a tiny self-influence
    share, _ = share_above_floor(np.array([[1e-7, 1e-6, 1e-3]]), np.array([0]), noise=1e-5, fraction=0.05)
    assert share.tolist() == [0.5]
    sparse = np.hstack([np.full((8, 1), 10.0), np.zeros((8, 20))])
    sparse[:, 1] = 3.0  # one in twenty above the floor
    assert DESIDERATA["sparseness"].measure(sparse, np.zeros(8, dtype=int), 1e-6, T).status == PASS
    dense = np.hstack([np.full((8, 1), 10.0), np.ones((8, 20))])
    assert DESIDERATA["sparseness"].measure(dense, np.zeros(8, dtype=int), 1e-6, T).status == FAIL


def test_noise_invariance_by_hand():
    clean = np.array([[1.0, 2.0, 3.0], [3.0, 2.0, 1.0]])
    assert pair_correlations(clean, 2 * clean + 1).tolist() == pytest.approx([1.0, 1.0])
    assert pair_correlations(clean, clean[::-1]).tolist() == pytest.approx([-1.0, -1.0])
    # mean |clean| = 2; noise rows mean |.| = 0.5 and 1 -> ratios 0.25, 0.5
    assert noise_ratios(clean, np.array([[0.5, -0.5, 0.5], [1.0, 1.0, -1.0]])).tolist() == pytest.approx([0.25, 0.5])
    rng = np.random.default_rng(0)
    base = rng.normal(size=(10, 30))
    good = DESIDERATA["noise invariance"].measure(base, base + 0.01 * rng.normal(size=base.shape), 0.01 * base, T)
    assert good.status == PASS
    noisy_teacher = DESIDERATA["noise invariance"].measure(base, base + 0.01 * rng.normal(size=base.shape), 3 * base, T)
    assert noisy_teacher.status == FAIL and "pure-noise ratio" in noisy_teacher.reason
    unstable = DESIDERATA["noise invariance"].measure(base, rng.normal(size=base.shape), 0.01 * base, T)
    assert unstable.status == FAIL


def test_transitivity_by_hand():
    ratios = chain_ratios(np.array([2.0, 1.0]), np.array([0.5, 1.0]), np.array([5.0, -4.0]))
    assert ratios.tolist() == pytest.approx([0.3, 0.0])
    learned = DESIDERATA["transitivity"].measure(np.full(8, 3.0), np.zeros(8), np.full(8, 4.0), 1e-6, T)
    assert learned.status == PASS and learned.value == pytest.approx(0.75)
    not_learned = DESIDERATA["transitivity"].measure(np.full(8, 1.0), np.full(8, 0.9), np.full(8, 4.0), 1e-6, T)
    assert not_learned.status == FAIL and not_learned.details["uncorrected_ratio"] == pytest.approx(0.25)


def test_strong_triples_by_hand():
    m = np.array([[1.0, 0.5, 0.0], [0.0, 1.0, 0.5], [0.0, 0.0, 1.0]])
    assert strong_triples(m, 0.3, limit=10).tolist() == [[0, 1, 2]]
    assert strong_triples(m, 0.6, limit=10).shape == (0, 3)
    tiny_self = m.copy()
    tiny_self[2, 2] = 1e-6  # c barely moves when trained on itself: not a usable conclusion
    assert strong_triples(tiny_self, 0.3, limit=10).shape == (0, 3)
    measurement = DESIDERATA["transitivity"].measure_triples(m, np.array([[0, 1, 2]]), 1e-6, T)
    assert measurement.value == pytest.approx(0.0)


def test_consistency_by_hand():
    matrix = np.array([[1.0, -1.0, 0.5, -0.2], [1.0, 1.0, 1.0, 1.0]])
    expected = np.array([[UP, DOWN, DOWN, DOWN], [UP, DOWN, 0, 0]])
    assert sign_agreement(matrix, expected).tolist() == pytest.approx([0.75, 0.5])
    good = DESIDERATA["logical consistency"].measure(
        np.tile([[1.0, -1.0, -1.0, -1.0]], (6, 1)), np.tile(expected[:1], (6, 1)), T
    )
    assert good.status == PASS
    bad = DESIDERATA["logical consistency"].measure(
        np.tile([[1.0, 1.0, 1.0, -1.0]], (6, 1)), np.tile(expected[:1], (6, 1)), T
    )
    assert bad.status == FAIL and bad.details["down_agreement"] == pytest.approx(1 / 3)
    assert DESIDERATA["logical consistency"].not_applicable("classifier", "finetune")


def test_asymmetry_by_hand():
    symmetric = np.array([[5.0, 1.0, 2.0], [1.0, 5.0, 3.0], [2.0, 3.0, 5.0]])
    assert asymmetry_index(symmetric) == pytest.approx(0.0)
    one_way = np.array([[5.0, 1.0], [0.0, 5.0]])  # off-diagonal [1, 0]: |M - M^T| = sqrt(2), |M| = 1
    assert asymmetry_index(one_way) == pytest.approx(np.sqrt(2))
    big = np.zeros((4, 4))
    big[:2, :2], big[2:, 2:] = symmetric[:2, :2], one_way
    assert group_indices(big, [[0, 1], [2, 3]]).tolist() == pytest.approx([0.0, np.sqrt(2)])
    groups = [[0, 1], [2, 3]] * 3
    assert DESIDERATA["asymmetry"].measure(big, [[2, 3]] * 4, T).status == PASS
    assert DESIDERATA["asymmetry"].measure(big, [[0, 1]] * 4, T).status == FAIL
    assert len(groups) == 6


@pytest.mark.parametrize(
    "ci,threshold,higher,expected",
    [
        ((0.5, 0.9), 0.3, True, PASS),
        ((0.1, 0.2), 0.3, True, FAIL),
        ((0.2, 0.4), 0.3, True, INCONCLUSIVE),
        ((-0.9, -0.5), -0.3, False, PASS),
        ((-0.2, 0.1), -0.3, False, FAIL),
        ((-0.4, -0.2), -0.3, False, INCONCLUSIVE),
    ],
)
def test_verdict_rules(ci, threshold, higher, expected):
    assert verdict(ci, threshold, higher) == expected


def test_bootstrap_ci_covers_the_true_mean_at_about_its_nominal_rate():
    rng = np.random.default_rng(42)
    trials, covered = 400, 0
    for trial in range(trials):
        sample = rng.exponential(scale=2.0, size=40)  # skewed, true mean 2
        low, high = bootstrap_ci(sample, level=0.95, resamples=1000, seed=trial)
        covered += low <= 2.0 <= high
    # the percentile bootstrap undercovers a little on skewed data at n=40
    assert 0.89 <= covered / trials <= 0.98, covered / trials


def test_thresholds_override_and_reject_unknown():
    assert Thresholds().replace(distance=-0.5).distance == -0.5
    with pytest.raises(Exception, match="Unknown threshold"):
        Thresholds().replace(nonsense=1.0)


def test_diverged_rows_are_left_out():
    levels = np.array([[0, 1, 2, 3]] * 3)
    matrix = np.array([[4.0, 3.0, 2.0, 1.0], [np.nan] * 4, [4.0, 3.0, 2.0, 1.0]])
    measurement = DESIDERATA["distance"].measure(matrix, levels, T)
    assert measurement.n == 2 and np.isnan(measurement.per_item[1])


def test_unbounded_ratios_use_the_median():
    # one chain whose conclusion barely moves when trained on gives a wild ratio; the median ignores it
    on_conclusion = np.array([2.0] * 9 + [-5.0])
    conclusion_self = np.array([4.0] * 9 + [0.01])
    measurement = DESIDERATA["transitivity"].measure(on_conclusion, np.zeros(10), conclusion_self, 1e-6, T)
    assert measurement.value == pytest.approx(0.5) and measurement.status == PASS
    low, high = bootstrap_ci(np.array([1.0, 2.0, 3.0, 2.5, 1.5, 2.0, 100.0]), statistic="median", resamples=500)
    mean_low, mean_high = bootstrap_ci(np.array([1.0, 2.0, 3.0, 2.5, 1.5, 2.0, 100.0]), resamples=500)
    assert high <= 3.0 < mean_high
