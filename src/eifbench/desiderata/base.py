"""The Desideratum template: per-item metric -> bootstrap CI -> verdict.

Subclasses compute one value per item (stimulus, pair, triple or group) from influence
matrices; the base class aggregates them the same way for every desideratum.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from eifbench.errors import InputError
from eifbench.stats import bootstrap_ci, engine_noise

PASS, FAIL, INCONCLUSIVE, NOT_APPLICABLE = "pass", "fail", "inconclusive", "n/a"


@dataclass(frozen=True)
class Thresholds:
    """Every pass/fail threshold, in one place (defaults from DESIGN.md).

    Override with ``thresholds.replace(distance=-0.5)`` or ``--eif-threshold distance=-0.5``.
    """

    distance: float = -0.3  # mean Spearman rho of |EIF| vs distance; pass below
    sparseness: float = 0.2  # share of probes above the floor; pass at or below
    noise_corr: float = 0.8  # corr of clean and noised influence rows; pass at or above
    noise_ratio: float = 0.5  # mean |EIF| of pure noise / of clean stimuli; pass at or below
    transitivity: float = 0.3  # influence on the conclusion / training on it; pass at or above
    consistency: float = 0.8  # sign agreement; pass at or above
    asymmetry: float = 0.3  # norm(M - M^T) / norm(M), off-diagonal; pass at or above
    floor_fraction: float = 0.05  # floor = this fraction of |self-influence|
    confidence: float = 0.95  # bootstrap CI level

    def replace(self, **overrides: float) -> Thresholds:
        """A copy with some thresholds changed; unknown names raise InputError."""
        known = {f.name for f in dataclasses.fields(self)}
        unknown = set(overrides) - known
        if unknown:
            raise InputError(f"Unknown threshold(s) {sorted(unknown)}; known: {', '.join(sorted(known))}.")
        return dataclasses.replace(self, **{k: float(v) for k, v in overrides.items()})


@dataclass(frozen=True)
class Measurement:
    """One desideratum measured on one model under one condition."""

    desideratum: str
    metric: str
    value: float
    ci: tuple[float, float]
    threshold: float
    higher_is_better: bool
    n: int
    status: str
    per_item: tuple[float, ...] = ()
    details: dict[str, Any] = field(default_factory=dict)
    reason: str = ""


def verdict(ci: tuple[float, float], threshold: float, higher_is_better: bool) -> str:
    """PASS when the whole CI is on the good side, FAIL when on the bad side, else INCONCLUSIVE."""
    low, high = ci
    if math.isnan(low) or math.isnan(high):
        return INCONCLUSIVE
    if higher_is_better:
        return PASS if low >= threshold else FAIL if high < threshold else INCONCLUSIVE
    return PASS if high <= threshold else FAIL if low > threshold else INCONCLUSIVE


def floors(self_influence: np.ndarray, baseline_noise: np.ndarray | float, fraction: float) -> np.ndarray:
    """Per-stimulus floor: ``fraction * |self-influence|``, never below the engine's noise."""
    return np.maximum(fraction * np.abs(np.asarray(self_influence, dtype=np.float64)), baseline_noise)


def noise_level(baseline: np.ndarray) -> float:
    """The largest per-probe numerical noise of a baseline read-out (a scalar floor)."""
    return float(engine_noise(baseline).max()) if len(baseline) else 0.0


class Desideratum:
    """Template method: subclasses define ``per_item``; ``measure`` does the rest."""

    name: ClassVar[str]
    metric: ClassVar[str]
    threshold_key: ClassVar[str]
    higher_is_better: ClassVar[bool]
    kinds: ClassVar[tuple[str, ...]] = ("classifier", "causal-lm")
    description: ClassVar[str] = ""
    # bounded metrics (correlations, shares) average; unbounded ratios take the median,
    # so one near-zero denominator cannot decide the verdict
    statistic: ClassVar[str] = "mean"

    def not_applicable(self, kind: str, condition: str) -> str | None:
        """Why the desideratum does not apply to this model kind / condition, or None."""
        if kind not in self.kinds:
            return f"{self.name} does not apply to a {kind}"
        if condition == "in-context" and kind != "causal-lm":
            return "in-context needs a causal LM (a classifier has no prompt)"
        return None

    def summarize(
        self,
        per_item: np.ndarray,
        thresholds: Thresholds,
        details: dict[str, Any] | None = None,
    ) -> Measurement:
        """Aggregate per-item values (mean, bootstrap CI) and give the verdict."""
        items = np.asarray(per_item, dtype=np.float64)
        finite = items[np.isfinite(items)]
        threshold = getattr(thresholds, self.threshold_key)
        ci = bootstrap_ci(finite, level=thresholds.confidence, statistic=self.statistic)
        center = np.median if self.statistic == "median" else np.mean
        value = float(center(finite)) if finite.size else float("nan")
        status = verdict(ci, threshold, self.higher_is_better)
        reason = "" if finite.size else "no item could be measured"
        return Measurement(
            desideratum=self.name,
            metric=self.metric,
            value=value,
            ci=ci,
            threshold=threshold,
            higher_is_better=self.higher_is_better,
            n=int(finite.size),
            status=status,
            per_item=tuple(float(v) for v in items),
            details=dict(details or {}),
            reason=reason,
        )

    def not_applicable_measurement(self, reason: str, thresholds: Thresholds) -> Measurement:
        """An ``n/a`` record with the reason."""
        return Measurement(
            desideratum=self.name,
            metric=self.metric,
            value=float("nan"),
            ci=(float("nan"), float("nan")),
            threshold=getattr(thresholds, self.threshold_key),
            higher_is_better=self.higher_is_better,
            n=0,
            status=NOT_APPLICABLE,
            reason=reason,
        )
