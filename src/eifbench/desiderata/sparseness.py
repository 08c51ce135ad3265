"""Sparseness: one stimulus should move few of a broad set of probes."""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from eifbench.desiderata.base import Desideratum, Measurement, Thresholds, floors
from eifbench.stats import hoyer


def share_above_floor(
    matrix: np.ndarray, self_index: np.ndarray, noise: float, fraction: float
) -> tuple[np.ndarray, np.ndarray]:
    """Per-stimulus share of other probes above the floor, and Hoyer sparsity.

    Args:
        matrix: influence, shape (n_s, n_p); probe ``self_index[i]`` is stimulus i itself.
        self_index: shape (n_s,).
        noise: the engine's numerical noise (a lower bound on every floor).
        fraction: floor = fraction * |EIF(s -> s)|.

    Returns:
        ``(share, hoyer)``, each shape (n_s,); NaN for diverged rows.

    """
    matrix = np.asarray(matrix, dtype=np.float64)
    rows = np.arange(matrix.shape[0])
    floor = floors(matrix[rows, self_index], noise, fraction)
    share = np.full(matrix.shape[0], np.nan)
    sparsity = np.full(matrix.shape[0], np.nan)
    for i in rows:
        others = np.delete(matrix[i], self_index[i])
        if np.isfinite(others).all():
            share[i] = float((np.abs(others) > floor[i]).mean())
            sparsity[i] = hoyer(others)
    return share, sparsity


class Sparseness(Desideratum):
    """Mean share of probes above the floor; passes at or below 0.2."""

    name: ClassVar[str] = "sparseness"
    metric: ClassVar[str] = "share of probes above floor"
    threshold_key: ClassVar[str] = "sparseness"
    higher_is_better: ClassVar[bool] = False
    description: ClassVar[str] = "one stimulus moves few probes"

    def measure(self, matrix: np.ndarray, self_index: np.ndarray, noise: float, thresholds: Thresholds) -> Measurement:
        """Measure on a matrix (n_s, n_p) whose probe ``self_index[i]`` is stimulus i."""
        share, sparsity = share_above_floor(matrix, self_index, noise, thresholds.floor_fraction)
        return self.summarize(share, thresholds, {"hoyer": float(np.nanmean(sparsity))})
