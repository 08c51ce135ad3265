"""Distance: influence should fall as probes get semantically further from the stimulus."""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from eifbench.desiderata.base import Desideratum, Measurement, Thresholds
from eifbench.stats import spearman

# LM levels: same fact, paraphrase, same entity other relation, unrelated.
# Image levels: the image itself, same class near, same class far, other class.
SAME, NEAR, FAR, UNRELATED = 0, 1, 2, 3
IGNORE = -1


def distance_rho(matrix: np.ndarray, levels: np.ndarray) -> np.ndarray:
    """Per-stimulus Spearman rho of |EIF| vs distance level.

    Args:
        matrix: influence, shape (n_s, n_p).
        levels: distance level of probe j for stimulus i, shape (n_s, n_p); -1 = not used.

    Returns:
        rho per stimulus, shape (n_s,); NaN where fewer than two levels or a diverged row.

    """
    matrix = np.asarray(matrix, dtype=np.float64)
    rhos = np.full(matrix.shape[0], np.nan)
    for i in range(matrix.shape[0]):
        used = levels[i] >= 0
        if len(np.unique(levels[i][used])) >= 2 and np.isfinite(matrix[i, used]).all():
            rhos[i] = spearman(np.abs(matrix[i, used]), levels[i][used])
    return rhos


class Distance(Desideratum):
    """Mean per-stimulus Spearman rho of |EIF| vs distance; passes below -0.3."""

    name: ClassVar[str] = "distance"
    metric: ClassVar[str] = "spearman rho(|EIF|, distance)"
    threshold_key: ClassVar[str] = "distance"
    higher_is_better: ClassVar[bool] = False
    description: ClassVar[str] = "influence decreases with semantic distance"

    def measure(self, matrix: np.ndarray, levels: np.ndarray, thresholds: Thresholds) -> Measurement:
        """Measure on a matrix (n_s, n_p) with its level layout (n_s, n_p)."""
        rhos = distance_rho(matrix, levels)
        absolute = np.abs(np.asarray(matrix, dtype=np.float64))
        by_level = {
            int(level): float(np.nanmean(np.where(levels == level, absolute, np.nan)))
            for level in np.unique(levels[levels >= 0])
        }
        return self.summarize(rhos, thresholds, {"mean_abs_eif_by_level": by_level})
