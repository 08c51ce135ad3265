"""The Desideratum template: build a task, measure per-item values, interval, verdict.

Every desideratum has the same shape: ``build(spec)`` draws its task (one builder per
model kind and stimulus source, named on the class; a kind without a builder is n/a,
never another desideratum's task), and ``measure(task, results, thresholds)`` turns the
influence results into one value per item and a verdict. The base class aggregates the
items the same way for all of them. The class is the desideratum's registry entry: its
report order is its place in ``DESIDERATA``, and its threshold, default tolerance,
version, builders and explainer are fields of the class.
"""

from __future__ import annotations

import dataclasses
import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

import numpy as np

from eifbench.errors import InputError
from eifbench.intervals import range_interval
from eifbench.kinds import ModelKind
from eifbench.tasks.base import Source, Task, TaskNotApplicable, TaskSpec

if TYPE_CHECKING:
    from eifbench.influence import InfluenceResult
    from eifbench.report.explanation.explainers import Explainer

LayoutT = TypeVar("LayoutT")
Builder = Callable[[TaskSpec], Task[Any]]
# thresholds of desiderata registered beyond the built-in ones (name -> default), filled by ``register``
EXTRA_THRESHOLDS: dict[str, float] = {}


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
    distance_contrast: float = 0.1  # |c| of the nearest level minus the farthest (cosine units); pass at or above
    floor_fraction: float = 0.05  # an influence counts when above this fraction of self-influence
    measurable: float = 10.0  # an item is learned when training raised its own probe by this many times the noise
    min_items: float = 8.0  # a decisive verdict needs this many learned items (see MIN_ITEMS_WHY)
    confidence: float = 0.95  # interval level
    # (name, value) of registered desiderata's own thresholds that differ from their defaults
    extra: tuple[tuple[str, float], ...] = ()

    def __post_init__(self) -> None:
        named = [(f.name, getattr(self, f.name)) for f in dataclasses.fields(self) if f.name != "extra"]
        for name, value in [*named, *self.extra]:
            if not isinstance(value, (int, float)) or not math.isfinite(value):
                raise InputError(f"Threshold {name}={value!r} must be a finite number.")
        if not 0 < self.confidence < 1:
            raise InputError(f"Threshold confidence={self.confidence} must be between 0 and 1.")
        if self.floor_fraction < 0 or self.measurable < 0:
            raise InputError("Thresholds floor_fraction and measurable must be >= 0.")
        if self.min_items < 2 or self.min_items != int(self.min_items):
            raise InputError(f"Threshold min_items={self.min_items:g} must be a whole number >= 2.")

    def replace(self, **overrides: float) -> Thresholds:
        """A copy with some thresholds changed; unknown names raise InputError."""
        own = {f.name for f in dataclasses.fields(self)} - {"extra"}
        unknown = set(overrides) - own - set(EXTRA_THRESHOLDS)
        if unknown:
            known = ", ".join(sorted(own | set(EXTRA_THRESHOLDS)))
            raise InputError(f"Unknown threshold(s) {sorted(unknown)}; known: {known}.")
        extra = dict(self.extra) | {k: float(v) for k, v in overrides.items() if k not in own}
        fields = {k: float(v) for k, v in overrides.items() if k in own}
        return dataclasses.replace(self, **fields, extra=tuple(sorted(extra.items())))

    def value(self, key: str) -> float:
        """The threshold of a name: a field, or a registered desideratum's own (its default unless overridden)."""
        if key != "extra" and key in {f.name for f in dataclasses.fields(self)}:
            return float(getattr(self, key))
        given = dict(self.extra)
        if key in given:
            return given[key]
        if key in EXTRA_THRESHOLDS:
            return EXTRA_THRESHOLDS[key]
        raise InputError(f"No threshold {key!r}: register its desideratum (eifbench.desiderata.register) first.")


# Why 8: with fewer items, mean_interval shows even a large effect (the mean 1.5 sd past the threshold) less
# than 80% of the time (intervals.items_for_power(effect_sd=1.5) = 8; a 1 sd effect needs 13, a 0.5 sd one 36).
# A verdict on fewer items would be decided by which items happened to be learned, not by the model.
MIN_ITEMS_WHY = "fewer items cannot show even a 1.5-sd effect with power 0.8 (intervals.items_for_power)"


@dataclass(frozen=True)
class Measurement:
    """One desideratum measured on one model under one condition.

    Attributes:
        per_item: one value per task item (NaN where the item could not be measured).
        unmeasured: items left out because training on the stimulus did not raise its own
            probe above float noise ("not learned").
        details: secondary figures (a second criterion, per-family shares, curves) and
            ``learning``: how many items were learned and the median self-influence (nats).

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


@dataclass(frozen=True)
class SecondCriterion:
    """A criterion a verdict needs besides its mean (both must pass), kept in ``details[key]``.

    Attributes:
        key: where its record (``criterion``'s dict: value, ci, threshold, status, n) is
            in the measurement's details, and so in the report's JSON.
        label: how a reason names it (``"contrast nearest - farthest"``).
        short: how a table cell and the verdict chart name it (``"contrast"``).
        axis: the range its value lives in (the verdict chart's axis for its row).
        higher_is_better: it passes at or above its threshold (else at or below).

    """

    key: str
    label: str
    short: str
    axis: tuple[float, float]
    higher_is_better: bool


@dataclass(frozen=True)
class Curve:
    """A per-level series a desideratum keeps in its details, drawn as a line with its interval band.

    Attributes:
        series: the details key of ``{level: mean}``.
        band: the details key of ``{level: [low, high]}``.
        title: the figure's title.
        labels: one x-axis label per level, in level order.
        caption: what the figure shows, and what a passing learner's line looks like.

    """

    series: str
    band: str
    title: str
    labels: tuple[str, ...]
    caption: str


def learning_figures(learned: np.ndarray, self_influence: np.ndarray | None) -> dict[str, Any]:
    """How much a cell's items were learned: counts, share, median self-influence (nats).

    Args:
        learned: (n,) bool, the items whose stimulus raised its own probe above float noise.
        self_influence: (n,) the rise of each stimulus's own probe (nats), or None.

    """
    rises = np.asarray(self_influence, dtype=np.float64) if self_influence is not None else np.zeros(0)
    rises = rises[np.isfinite(rises)]
    return {
        "items": int(learned.size),
        "learned": int(learned.sum()),
        "share": float(learned.mean()) if learned.size else None,
        "median_self_influence": float(np.median(rises)) if rises.size else None,
    }


def no_in_context_learning(measurement: Measurement) -> Measurement:
    """In context, a cell where no item was learned is a FAIL, not "could not tell".

    No stimulus in the prompt raised its own probe above a neutral passage of the same
    token length: the model does not use its context (or the context moves every probe
    alike). That is a finding about the model, and a gate must not read it as neutral.
    """
    if measurement.status != INCONCLUSIVE or measurement.n > 0 or measurement.unmeasured == 0:
        return measurement
    reason = (
        f"no in-context learning: none of the {measurement.unmeasured} stimuli raised its own probe "
        "when placed in the prompt (against a neutral passage of the same token length)"
    )
    return dataclasses.replace(measurement, status=FAIL, reason=reason)


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


def criterion(values: np.ndarray, second: SecondCriterion, threshold: float, thresholds: Thresholds) -> dict[str, Any]:
    """A second criterion's record (distance's contrast, noise invariance's spill), judged like the first.

    Args:
        values: (n,) one value per item, NaN where the item has none.
        second: the criterion: its range bounds the interval (``intervals.range_interval``),
            its direction decides the verdict, as the verdict chart draws them.
        threshold: the criterion's threshold.
        thresholds: ``min_items`` and the interval level.

    Returns:
        ``value``, ``ci``, ``threshold``, ``status`` (INCONCLUSIVE below ``min_items``), ``n``.

    """
    items = np.asarray(values, dtype=np.float64)
    items = items[np.isfinite(items)]
    ci = range_interval(items, second.axis, level=thresholds.confidence)
    status = verdict(ci, threshold, second.higher_is_better) if items.size >= thresholds.min_items else INCONCLUSIVE
    return {
        "value": float(items.mean()) if items.size else None,
        "ci": list(ci),
        "threshold": threshold,
        "status": status.value,
        "n": int(items.size),
    }


def with_criterion(result: Measurement, second: SecondCriterion, record: dict[str, Any], why: str = "") -> Measurement:
    """``result`` judged on a second criterion too (its record kept in ``details[second.key]``): both must pass.

    A criterion that does not pass says so first in the reason, with ``why`` when given.
    """
    status = combine(result.status, Status(record["status"]))
    reason = result.reason
    if record["status"] != "pass" and record["n"]:
        value = "none" if record["value"] is None else f"{record['value']:.2f}"
        reason = f"{second.label} {value} is {record['status']}" + (f" ({why})" if why else "")
        reason += f"; {result.reason}" if result.reason else ""
    details = {**result.details, second.key: record}
    return dataclasses.replace(result, status=status, reason=reason, details=details)


class Desideratum(ABC, Generic[LayoutT]):
    """Template method: subclasses define ``measure``; ``summarize`` does the statistics."""

    name: ClassVar[str]
    metric: ClassVar[str]
    threshold_key: ClassVar[str]  # a ``Thresholds`` field, or a new name with ``default_threshold``
    default_threshold: ClassVar[float | None] = None  # for a threshold_key that is no ``Thresholds`` field
    higher_is_better: ClassVar[bool]
    description: ClassVar[str]
    # (kind, source) -> the function building the task; kinds without one are n/a (with a reason)
    builders: ClassVar[Mapping[tuple[ModelKind, Source], Builder]]
    not_applicable_reasons: ClassVar[Mapping[ModelKind, str]] = {}
    # per-item values are clipped to this range, so no single item decides a mean
    value_range: ClassVar[tuple[float, float]] = (-1.0, 1.0)
    # how far a value may move in the bad direction before a baseline gate calls it a regression
    default_tolerance: ClassVar[float] = 0.1
    # bump when the desideratum's stimuli or their meaning change: its bank digest is pinned by it
    version: ClassVar[str] = "1"
    # how the report explains an item and draws the heatmap (None: item labels, the plain matrix)
    explainer: ClassVar[Explainer | None] = None
    # criteria the verdict needs besides the mean, and per-level curves, in the record's details
    second_criteria: ClassVar[tuple[SecondCriterion, ...]] = ()
    curves: ClassVar[tuple[Curve, ...]] = ()

    @property
    def kinds(self) -> frozenset[ModelKind]:
        """The model kinds it has a task for."""
        return frozenset(kind for kind, _ in self.builders)

    def threshold(self, thresholds: Thresholds) -> float:
        """Its threshold in force (``thresholds`` overrides its default)."""
        return thresholds.value(self.threshold_key)

    def not_applicable(self, kind: ModelKind | str, condition: str) -> str | None:
        """Why the desideratum does not apply to this model kind and condition, or None."""
        kind = ModelKind(kind)
        if condition == "in-context" and not kind.takes_context:
            return f"in-context needs a language model (a {kind} has no prompt)"
        if kind not in self.kinds:
            return self.not_applicable_reasons.get(kind, f"{self.name} has no task for a {kind}")
        return None

    def build(self, spec: TaskSpec) -> Task[LayoutT]:
        """The task for a model kind, drawn from the bank or the user's stimuli file (``Source.of``)."""
        kind, source = spec.kind, Source.of(spec)
        builder = self.builders.get((kind, source))
        if builder is None:  # a desideratum with no task from this source (a stimuli file) is n/a, not an error
            raise TaskNotApplicable(
                self.not_applicable(kind, "finetune") or f"{self.name} has no task for a {kind} from a {source}"
            )
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
        learned: np.ndarray | None = None,
        self_influence: np.ndarray | None = None,
    ) -> Measurement:
        """Clip per-item values, take the mean and its interval, give the verdict.

        A verdict is decisive only on at least ``thresholds.min_items`` items with a value;
        below that it is INCONCLUSIVE with the reason. The interval never leaves the metric's
        range and is never zero width: all-equal items get the widest mean a share of unseen
        items could still make (``intervals.range_interval``).

        Args:
            per_item: (n,) one value per item, NaN where the item has none.
            thresholds: the verdict's thresholds, ``min_items`` and the interval level.
            details: secondary figures to keep in the record.
            learned: (n,) whether training on each item's stimulus raised its own probe above
                float noise; items not learned have no value (NaN) and are counted apart.
            self_influence: (n,) how much each stimulus raised its own probe (nats), for the
                record's ``learning`` figures.

        """
        low, high = self.value_range
        items = np.clip(np.asarray(per_item, dtype=np.float64), low, high)
        finite = items[np.isfinite(items)]
        threshold = self.threshold(thresholds)
        ci = range_interval(finite, self.value_range, level=thresholds.confidence)
        value = float(finite.mean()) if finite.size else float("nan")
        status = verdict(ci, threshold, self.higher_is_better)
        unmeasured = int((~np.asarray(learned, dtype=bool)).sum()) if learned is not None else 0
        record = dict(details or {})
        if learned is not None:
            record["learning"] = learning_figures(np.asarray(learned, dtype=bool), self_influence)
        reason = ""
        if not finite.size:
            reason = (
                f"no item could be measured: training on the stimulus raised its own probe above float noise "
                f"for none of the {unmeasured} items (not learned)"
                if unmeasured
                else "no item could be measured"
            )
        elif finite.size < thresholds.min_items:
            status = INCONCLUSIVE
            reason = (
                f"only {finite.size} item(s) measured ({unmeasured} not learned); a verdict needs at least "
                f"{thresholds.min_items:g}: {MIN_ITEMS_WHY}"
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
            details=record,
            reason=reason,
        )

    def not_applicable_measurement(self, reason: str, thresholds: Thresholds) -> Measurement:
        """An ``n/a`` record with the reason."""
        return Measurement(
            desideratum=self.name,
            metric=self.metric,
            value=float("nan"),
            ci=(float("nan"), float("nan")),
            threshold=self.threshold(thresholds),
            higher_is_better=self.higher_is_better,
            n=0,
            status=NOT_APPLICABLE,
            reason=reason,
        )


def builders_for(
    kinds: Iterable[ModelKind], bank: Builder, file: Builder | None = None
) -> dict[tuple[ModelKind, Source], Builder]:
    """A builder table: ``bank`` for every kind, ``file`` (when given) for a user's stimuli file."""
    table: dict[tuple[ModelKind, Source], Builder] = {}
    for kind in kinds:
        table[(kind, Source.BANK)] = bank
        if file is not None:
            table[(kind, Source.FILE)] = file
    return table
