"""The Desideratum template: build a task, measure per-item values, interval, verdict.

Every desideratum has the same shape: ``build(spec)`` draws its task from the bank (one
builder per model kind, registered on the class; a kind without a builder is n/a, never
another desideratum's task), and ``measure(task, results, thresholds)`` turns the
influence results into one value per item and a verdict. The base class aggregates the
items the same way for all of them.
"""

from __future__ import annotations

import dataclasses
import importlib
import math
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

import numpy as np

from eifbench.errors import InputError
from eifbench.intervals import mean_interval
from eifbench.kinds import ModelKind

if TYPE_CHECKING:
    from eifbench.influence import InfluenceResult
    from eifbench.tasks.base import Task, TaskSpec

LayoutT = TypeVar("LayoutT")


class Status(str, Enum):
    """A verdict. ``str`` valued, so records and baselines hold plain strings."""

    PASS = "pass"
    FAIL = "fail"
    INCONCLUSIVE = "inconclusive"
    NOT_APPLICABLE = "n/a"

    def __str__(self) -> str:
        return self.value


PASS, FAIL, INCONCLUSIVE, NOT_APPLICABLE = Status.PASS, Status.FAIL, Status.INCONCLUSIVE, Status.NOT_APPLICABLE


@dataclass(frozen=True)
class Thresholds:
    """Every pass/fail threshold, in one place.

    Override with ``thresholds.replace(distance=-0.5)`` or ``--eif-threshold distance=-0.5``.
    """

    distance: float = -0.3  # mean Spearman rho of |c| vs distance level; pass at or below
    sparseness: float = 0.2  # share of "other" probes moved beyond the floor; pass at or below
    noise_transfer: float = 0.5  # what a noised copy teaches its fact, over the clean copy; pass at or above
    noise_spill: float = 0.1  # mean |c| of pure noise on real probes; pass at or below
    transitivity: float = 0.3  # control-corrected lift of the conclusion / training on it; pass at or above
    consistency: float = 0.5  # fact's rise minus its contradictions' rise, / its rise; pass at or above
    asymmetry: float = 0.3  # forward minus backward entailment influence (cosine units); pass at or above
    floor_fraction: float = 0.05  # an influence counts when above this fraction of self-influence
    measurable: float = 10.0  # an item counts when its self-influence is this many times the engine noise
    confidence: float = 0.95  # interval level

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if not isinstance(value, (int, float)) or not math.isfinite(value):
                raise InputError(f"Threshold {f.name}={value!r} must be a finite number.")
        if not 0 < self.confidence < 1:
            raise InputError(f"Threshold confidence={self.confidence} must be between 0 and 1.")
        if self.floor_fraction < 0 or self.measurable < 0:
            raise InputError("Thresholds floor_fraction and measurable must be >= 0.")

    def replace(self, **overrides: float) -> Thresholds:
        """A copy with some thresholds changed; unknown names raise InputError."""
        known = {f.name for f in dataclasses.fields(self)}
        unknown = set(overrides) - known
        if unknown:
            raise InputError(f"Unknown threshold(s) {sorted(unknown)}; known: {', '.join(sorted(known))}.")
        return dataclasses.replace(self, **{k: float(v) for k, v in overrides.items()})


@dataclass(frozen=True)
class Measurement:
    """One desideratum measured on one model under one condition.

    Attributes:
        per_item: one value per task item (NaN where the item could not be measured).
        unmeasured: items left out because the model did not measurably learn them.
        details: secondary figures (a second criterion, per-family shares, curves).

    """

    desideratum: str
    metric: str
    value: float
    ci: tuple[float, float]
    threshold: float
    higher_is_better: bool
    n: int
    status: Status
    per_item: tuple[float, ...] = ()
    unmeasured: int = 0
    details: dict[str, Any] = field(default_factory=dict)
    reason: str = ""


def verdict(ci: tuple[float, float], threshold: float, higher_is_better: bool) -> Status:
    """PASS when the whole CI is on the good side, FAIL when on the bad side, else INCONCLUSIVE."""
    low, high = ci
    if math.isnan(low) or math.isnan(high):
        return INCONCLUSIVE
    if higher_is_better:
        return PASS if low >= threshold else FAIL if high < threshold else INCONCLUSIVE
    return PASS if high <= threshold else FAIL if low > threshold else INCONCLUSIVE


def combine(*statuses: Status) -> Status:
    """Two criteria that must both hold: FAIL if either fails, PASS if both pass."""
    if FAIL in statuses:
        return FAIL
    return PASS if all(s == PASS for s in statuses) else INCONCLUSIVE


class Desideratum(ABC, Generic[LayoutT]):
    """Template method: subclasses define ``measure``; ``summarize`` does the statistics."""

    name: ClassVar[str]
    metric: ClassVar[str]
    threshold_key: ClassVar[str]
    higher_is_better: ClassVar[bool]
    description: ClassVar[str]
    # kind -> "module:function" building the task; kinds without one are n/a (with a reason)
    builders: ClassVar[Mapping[ModelKind, str]]
    not_applicable_reasons: ClassVar[Mapping[ModelKind, str]] = {}
    # per-item values are clipped to this range, so no single item decides a mean
    value_range: ClassVar[tuple[float, float]] = (-1.0, 1.0)

    def not_applicable(self, kind: ModelKind | str, condition: str) -> str | None:
        """Why the desideratum does not apply to this model kind and condition, or None."""
        kind = ModelKind(kind)
        if condition == "in-context" and not kind.takes_context:
            return f"in-context needs a language model (a {kind} has no prompt)"
        if kind not in self.builders:
            return self.not_applicable_reasons.get(kind, f"{self.name} has no task for a {kind}")
        return None

    def build(self, spec: TaskSpec) -> Task[LayoutT]:
        """The task for a model kind, drawn from the bank (or the user's stimuli file)."""
        kind = ModelKind(spec.kind)
        if kind not in self.builders:
            raise InputError(self.not_applicable(kind, "finetune") or f"{self.name}: no task for a {kind}")
        target = self.builders[kind]
        if spec.stimuli_file and kind.reads_completions:
            target = "eifbench.tasks.user_file:" + target.rsplit(":", 1)[1]
        module, function = target.split(":")
        builder = getattr(importlib.import_module(module), function)
        task: Task[LayoutT] = builder(spec)
        return task

    @abstractmethod
    def measure(
        self, task: Task[LayoutT], results: Mapping[str, InfluenceResult], thresholds: Thresholds
    ) -> Measurement:
        """One value per item from the influence results, and the verdict."""

    def summarize(
        self,
        per_item: np.ndarray,
        thresholds: Thresholds,
        details: dict[str, Any] | None = None,
        *,
        unmeasured: int = 0,
    ) -> Measurement:
        """Clip per-item values, take the mean and its interval, give the verdict."""
        low, high = self.value_range
        items = np.clip(np.asarray(per_item, dtype=np.float64), low, high)
        finite = items[np.isfinite(items)]
        threshold = float(getattr(thresholds, self.threshold_key))
        ci = mean_interval(finite, level=thresholds.confidence)
        value = float(finite.mean()) if finite.size else float("nan")
        status = verdict(ci, threshold, self.higher_is_better)
        reason = ""
        if not finite.size:
            reason = (
                f"no item could be measured: the model did not measurably learn any of the {unmeasured} stimuli "
                "(self-influence at float noise)"
                if unmeasured
                else "no item could be measured"
            )
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
            unmeasured=unmeasured,
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
            threshold=float(getattr(thresholds, self.threshold_key)),
            higher_is_better=self.higher_is_better,
            n=0,
            status=NOT_APPLICABLE,
            reason=reason,
        )
