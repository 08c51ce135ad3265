"""Asymmetry: where logic is directional, EIF(a -> b) should differ from EIF(b -> a)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import numpy as np

from eifbench.desiderata.base import Desideratum, Measurement, Thresholds


def asymmetry_index(square: np.ndarray) -> float:
    """``norm(M - M^T) / norm(M)`` over the off-diagonal entries of a square block.

    The diagonal (self-influence) is symmetric by definition and would only dilute the
    index, so it is left out of both norms. 0 = symmetric; larger = more directional.
    """
    m = np.asarray(square, dtype=np.float64)
    off = ~np.eye(len(m), dtype=bool)
    denominator = np.linalg.norm(m[off])
    return float(np.linalg.norm((m - m.T)[off]) / denominator) if denominator > 0 else float("nan")


def group_indices(square: np.ndarray, groups: Sequence[Sequence[int]]) -> np.ndarray:
    """The asymmetry index of each group's block of a square matrix; -> (n_groups,)."""
    m = np.asarray(square, dtype=np.float64)
    out = np.full(len(groups), np.nan)
    for g, members in enumerate(groups):
        block = m[np.ix_(members, members)]
        if np.isfinite(block).all():
            out[g] = asymmetry_index(block)
    return out


class Asymmetry(Desideratum):
    """Mean per-group asymmetry index; passes at or above 0.3."""

    name: ClassVar[str] = "asymmetry"
    metric: ClassVar[str] = "norm(M - M^T) / norm(M)"
    threshold_key: ClassVar[str] = "asymmetry"
    higher_is_better: ClassVar[bool] = True
    description: ClassVar[str] = "directional statements influence each other asymmetrically"

    def measure(self, square: np.ndarray, groups: Sequence[Sequence[int]], thresholds: Thresholds) -> Measurement:
        """Measure on a square matrix (n, n) (stimuli = probes) split into groups."""
        return self.summarize(group_indices(square, groups), thresholds, {"groups": len(groups)})
