"""Scale-free influence: floors, measurability, and the cosine normalization.

An influence only means something against two scales: how much the stimulus moves
itself (its self-influence) and how much the probe moves when trained on (its
sensitivity). Dividing by both gives ``c(s, p) = M[s, p] / sqrt(|M[s, s]| |M[p, p]|)``,
which in the small-step (NTK) regime is exactly the cosine of the two gradients: 1 for a
probe the stimulus teaches as much as itself, 0 for one it leaves alone. A probe that
moves a lot whatever you train on no longer looks "close", and a stimulus the model
does not learn is not judged at all: training on it must *raise* its own probe by
``Thresholds.measurable`` times the engine's float noise (an item whose own probe fell
was not taught what it states, however large the change).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from eifbench.stats import engine_noise

if TYPE_CHECKING:
    from eifbench.influence import InfluenceResult

# a cosine-normalized influence at least this large is a link a -> b (transitivity's triples)
LINK = 0.3


def noise_of(result: InfluenceResult) -> np.ndarray:
    """Float noise of each probe's read-out difference, at the model's precision; -> (n_p,)."""
    return engine_noise(result.baseline.double().numpy(), result.precision)


def floored(matrix: np.ndarray, noise: np.ndarray) -> np.ndarray:
    """The matrix with every cell within float noise of zero set to exactly zero."""
    m = np.asarray(matrix, dtype=np.float64).copy()
    m[np.abs(m) <= noise[None, :]] = 0.0
    return m


def diagonal(matrix: np.ndarray, columns: Sequence[int] | np.ndarray) -> np.ndarray:
    """``M[i, columns[i]]`` for every row i: the self-influence of each stimulus; -> (n_s,)."""
    m = np.asarray(matrix, dtype=np.float64)
    return m[np.arange(len(columns)), np.asarray(columns, dtype=np.int64)]


def learned(self_influence: np.ndarray, noise_at_self: np.ndarray, factor: float) -> np.ndarray:
    """Rows whose stimulus raised its own probe by more than ``factor`` times the float noise; (n,) -> (n,) bool.

    The sign matters: a read-out is the log-probability of what the stimulus states, so a
    stimulus that lowered it was not learned, and its ratios (to a negative scale) would be
    clipped to an extreme and counted as a violation.
    """
    s = np.asarray(self_influence, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        return np.isfinite(s) & (s > factor * np.asarray(noise_at_self, dtype=np.float64))


def sensitivities(n_probes: int, *known: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """Each probe's self-influence, gathered from (columns, values) pairs; NaN where unknown."""
    out = np.full(n_probes, np.nan)
    for columns, values in known:
        out[np.asarray(columns, dtype=np.int64)] = np.asarray(values, dtype=np.float64)
    return out


def cosine(matrix: np.ndarray, self_influence: np.ndarray, sensitivity: np.ndarray) -> np.ndarray:
    """``M[s, p] / sqrt(|self(s)| |sens(p)|)``; NaN where either scale is zero or unknown."""
    scale = np.sqrt(np.abs(np.asarray(self_influence))[:, None] * np.abs(np.asarray(sensitivity))[None, :])
    with np.errstate(divide="ignore", invalid="ignore"):
        out: np.ndarray = np.asarray(matrix, dtype=np.float64) / scale
    out[~np.isfinite(out)] = np.nan
    return out


def row_means(values: np.ndarray) -> np.ndarray:
    """Mean of the finite entries of each row; NaN for a row with none (no warning)."""
    v = np.asarray(values, dtype=np.float64)
    finite = np.isfinite(v)
    counts = finite.sum(axis=1)
    sums = np.where(finite, v, 0.0).sum(axis=1)
    means: np.ndarray = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
    return means


def mean_of(values: np.ndarray) -> float | None:
    """Mean of the finite values, or None when there are none (a JSON null, no warning)."""
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    return float(v.mean()) if v.size else None


@dataclass(frozen=True)
class Floored:
    """A run's matrix with float noise set to zero, and what each stimulus did to its own probe.

    Attributes:
        matrix: (n_s, n_p) the influence, zero within float noise.
        self_column: (n_s,) each stimulus's own probe.
        own: (n_s,) each stimulus's self-influence.
        learned: (n_s,) whether it raised its own probe beyond the measurable factor.

    """

    matrix: np.ndarray
    self_column: np.ndarray
    own: np.ndarray
    learned: np.ndarray

    def probe_scales(self, sensitivity: InfluenceResult, columns: np.ndarray) -> np.ndarray:
        """Each probe's sensitivity: its own stimulus's self-influence, or the ``sensitivity`` run's; (n_p,)."""
        return sensitivities(
            self.matrix.shape[1], (self.self_column, self.own), (columns, diagonal(sensitivity.matrix.numpy(), columns))
        )


def floored_run(result: InfluenceResult, self_column: np.ndarray, factor: float) -> Floored:
    """The run floored at its float noise, its self-influences and which stimuli were learned."""
    noise = noise_of(result)
    matrix = floored(result.matrix.numpy(), noise)
    own = diagonal(matrix, self_column)
    return Floored(matrix, self_column, own, learned(own, noise[self_column], factor))
