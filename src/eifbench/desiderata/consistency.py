"""Logical consistency: learning "A is B" raises it and lowers "A is not B" and "A is C"."""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from eifbench.desiderata.base import Desideratum, Measurement, Thresholds

UP, DOWN, IGNORE = 1, -1, 0


def sign_agreement(matrix: np.ndarray, expected: np.ndarray) -> np.ndarray:
    """Per-stimulus share of probes whose EIF has the expected sign.

    Args:
        matrix: influence, shape (n_s, n_p).
        expected: +1 (should go up), -1 (should go down) or 0 (not judged), shape (n_s, n_p).

    Returns:
        agreement per stimulus, shape (n_s,); NaN where nothing is judged or a row diverged.

    """
    matrix = np.asarray(matrix, dtype=np.float64)
    agreement = np.full(matrix.shape[0], np.nan)
    for i in range(matrix.shape[0]):
        judged = expected[i] != IGNORE
        if judged.any() and np.isfinite(matrix[i, judged]).all():
            agreement[i] = float((np.sign(matrix[i, judged]) == expected[i, judged]).mean())
    return agreement


class LogicalConsistency(Desideratum):
    """Mean sign agreement; passes at or above 0.8. Causal LMs only (negation needs language)."""

    name: ClassVar[str] = "logical consistency"
    metric: ClassVar[str] = "sign agreement"
    threshold_key: ClassVar[str] = "consistency"
    higher_is_better: ClassVar[bool] = True
    kinds: ClassVar[tuple[str, ...]] = ("causal-lm",)
    description: ClassVar[str] = "affirmation up; negation and exclusive alternatives down"

    def measure(self, matrix: np.ndarray, expected: np.ndarray, thresholds: Thresholds) -> Measurement:
        """Measure on a matrix (n_s, n_p) with expected signs (n_s, n_p)."""
        agreement = sign_agreement(matrix, expected)
        m = np.asarray(matrix, dtype=np.float64)
        by_kind = {
            "up_agreement": float(np.nanmean(np.where(expected == UP, m > 0, np.nan))),
            "down_agreement": float(np.nanmean(np.where(expected == DOWN, m < 0, np.nan))),
        }
        return self.summarize(agreement, thresholds, by_kind)
