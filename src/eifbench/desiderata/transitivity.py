"""Transitivity: learning "A is a B" and "all Bs have C" should teach "A has C"."""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from eifbench.desiderata.base import Desideratum, Measurement, Thresholds, floors


def chain_ratios(on_conclusion: np.ndarray, on_control: np.ndarray, conclusion_self: np.ndarray) -> np.ndarray:
    """Influence of each premise chain on its conclusion, relative to training on it.

    The control is the same conclusion about an unrelated entity ("Z has C"): subtracting
    it removes what the chain teaches about C in general, leaving the logical step.

    Args:
        on_conclusion: EIF(chain_i -> conclusion_i), shape (n,).
        on_control: EIF(chain_i -> control_i), shape (n,).
        conclusion_self: EIF(conclusion_i -> conclusion_i), shape (n,).

    Returns:
        ratio per chain, shape (n,).

    """
    return (np.asarray(on_conclusion) - np.asarray(on_control)) / np.abs(np.asarray(conclusion_self))


def strong_triples(square: np.ndarray, strength: float, limit: int, seed: int = 0) -> np.ndarray:
    """Triples (a, b, c) of a square influence matrix with a->b and b->c both strong.

    Strong means ``M[x, y] >= strength * M[y, y]`` (a large share of training on y itself).
    Only items whose self-influence is at least the pool's median can be b or c: a
    confidently classified image barely moves when trained on, and a ratio over a
    near-zero self-influence says nothing.

    Args:
        square: influence among a pool, stimuli = probes, shape (n, n).
        strength: the share of self-influence that counts as strong.
        limit: at most this many triples, drawn without replacement.
        seed: seed of that draw.

    Returns:
        int array of shape (t, 3).

    """
    m = np.asarray(square, dtype=np.float64)
    diagonal = np.diag(m)
    eligible = (diagonal > 0) & (diagonal >= np.median(diagonal))
    strong = (m >= strength * diagonal[None, :]) & eligible[None, :]
    np.fill_diagonal(strong, False)
    triples = [
        (a, b, c) for a in range(len(m)) for b in np.flatnonzero(strong[a]) for c in np.flatnonzero(strong[b]) if c != a
    ]
    if len(triples) > limit:
        chosen = np.random.default_rng(seed).choice(len(triples), size=limit, replace=False)
        triples = [triples[i] for i in sorted(chosen)]
    return np.array(triples, dtype=np.int64).reshape(-1, 3)


class Transitivity(Desideratum):
    """Median (control-corrected) influence on the conclusion / training on it; passes >= 0.3."""

    statistic: ClassVar[str] = "median"
    name: ClassVar[str] = "transitivity"
    metric: ClassVar[str] = "EIF(premises -> conclusion) / EIF(conclusion -> conclusion)"
    threshold_key: ClassVar[str] = "transitivity"
    higher_is_better: ClassVar[bool] = True
    description: ClassVar[str] = "premises teach their conclusion"

    def measure(
        self,
        on_conclusion: np.ndarray,
        on_control: np.ndarray,
        conclusion_self: np.ndarray,
        noise: float,
        thresholds: Thresholds,
    ) -> Measurement:
        """Measure from the three (n,) vectors of ``chain_ratios``."""
        ratios = chain_ratios(on_conclusion, on_control, conclusion_self)
        lifted = np.asarray(on_conclusion) - np.asarray(on_control)
        above = lifted > floors(conclusion_self, noise, thresholds.floor_fraction)
        raw = np.asarray(on_conclusion) / np.abs(np.asarray(conclusion_self))
        return self.summarize(
            ratios,
            thresholds,
            {
                "share_above_floor": float(np.mean(above)) if above.size else float("nan"),
                "uncorrected_ratio": float(np.nanmean(raw)) if raw.size else float("nan"),
            },
        )

    def measure_triples(
        self, square: np.ndarray, triples: np.ndarray, noise: float, thresholds: Thresholds
    ) -> Measurement:
        """Image version: ratio M[a, c] / M[c, c] over strong triples (t, 3) of a square matrix."""
        m = np.asarray(square, dtype=np.float64)
        a, c = triples[:, 0], triples[:, 2]
        zeros = np.zeros(len(triples))
        return self.measure(m[a, c], zeros, m[c, c], noise, thresholds)
