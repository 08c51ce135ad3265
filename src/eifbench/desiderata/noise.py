"""Noise invariance: a noised stimulus teaches what the clean one does; pure noise teaches little."""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from eifbench.desiderata.base import (
    FAIL,
    INCONCLUSIVE,
    PASS,
    Desideratum,
    Measurement,
    Thresholds,
    verdict,
)
from eifbench.stats import bootstrap_ci, pearson


def pair_correlations(clean: np.ndarray, noised: np.ndarray) -> np.ndarray:
    """Pearson corr of each clean row with its noised copy; (n, n_p) x2 -> (n,)."""
    return np.array(
        [
            pearson(a, b) if np.isfinite(a).all() and np.isfinite(b).all() else np.nan
            for a, b in zip(np.asarray(clean), np.asarray(noised))
        ]
    )


def noise_ratios(clean: np.ndarray, pure_noise: np.ndarray) -> np.ndarray:
    """Mean |EIF| of each pure-noise row over the mean |EIF| of the clean rows; -> (n_noise,)."""
    scale = np.nanmean(np.abs(np.asarray(clean, dtype=np.float64)))
    return np.nanmean(np.abs(np.asarray(pure_noise, dtype=np.float64)), axis=1) / scale


class NoiseInvariance(Desideratum):
    """(a) corr(clean, noised) >= 0.8 and (b) pure-noise ratio <= 0.5; value = (a)."""

    name: ClassVar[str] = "noise invariance"
    metric: ClassVar[str] = "corr(clean row, noised row)"
    threshold_key: ClassVar[str] = "noise_corr"
    higher_is_better: ClassVar[bool] = True
    description: ClassVar[str] = "noised stimuli teach the same; pure noise teaches little"

    def measure(
        self, clean: np.ndarray, noised: np.ndarray, pure_noise: np.ndarray, thresholds: Thresholds
    ) -> Measurement:
        """Measure on clean rows (n, n_p), their noised copies (n, n_p), pure-noise rows (m, n_p)."""
        ratios = noise_ratios(clean, pure_noise)
        ratio_ci = bootstrap_ci(ratios, level=thresholds.confidence, statistic="median")
        ratio_status = verdict(ratio_ci, thresholds.noise_ratio, higher_is_better=False)
        ratio = {
            "value": float(np.nanmedian(ratios)),
            "ci": list(ratio_ci),
            "threshold": thresholds.noise_ratio,
            "status": ratio_status,
            "n": int(np.isfinite(ratios).sum()),
        }
        corr = self.summarize(pair_correlations(clean, noised), thresholds, {"noise_ratio": ratio})
        statuses = {corr.status, ratio_status}
        status = FAIL if FAIL in statuses else PASS if statuses == {PASS} else INCONCLUSIVE
        reason = f"pure-noise ratio {ratio['value']:.2f} {ratio_status}" if ratio_status != PASS else ""
        return Measurement(**{**corr.__dict__, "status": status, "reason": reason or corr.reason})
