"""Distance: influence should fall as probes get semantically further from the stimulus.

Per stimulus, the probes are graded by how far they are from it (LM: 1 = the same fact in
other words, 2 = the same entity in another relation, 3 = another entity and relation;
images: 1 / 2 / 3 = the nearest, middle and farthest images of the same class in pixel
space, a measure the model never sees). The item value is the Spearman correlation of
|c(s, p)| with the level. The stimulus's own probe is left out (it is trivially the
closest). Ties everywhere (a shared shift, float noise) give 0: no ordering at all.

For language models every graded probe ends in the stimulus's own completion
(``completion_matched``): a read-out is log p(completion | prompt), so a learner that only
raises the completion word, whatever the prompt, moves every level alike and gets no
order. Those probes share the stimulus's completion, so |c| is the probe's rise over the
stimulus's own. Elsewhere |c| is the cosine-normalized influence (``normalize.cosine``).

A rank correlation has no size: a learner that moves every probe almost as much as the
nearest (an image model that sees only brightness) still ranks them. So distance has a
second criterion, the **contrast**: the mean |c| of the nearest level minus the farthest
must clear ``Thresholds.distance_contrast``, and no adjacent pair of levels may be
inverted (the farther level moving significantly more).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from eifbench.desiderata.base import (
    FAIL,
    Builder,
    Curve,
    Desideratum,
    Measurement,
    SecondCriterion,
    Thresholds,
    builders_for,
    criterion,
    with_criterion,
)
from eifbench.desiderata.normalize import cosine, floored_run, mean_of, row_means
from eifbench.intervals import mean_interval, range_interval
from eifbench.kinds import LANGUAGE_KINDS, ModelKind
from eifbench.report.explanation import explainers
from eifbench.report.explanation.explainers import Explainer
from eifbench.stats import spearman
from eifbench.tasks import images, labelled, labelled_file, lm, user_file
from eifbench.tasks.base import Source
from eifbench.tasks.layouts import FAR, NEAR, RELATED, DistanceLayout

if TYPE_CHECKING:
    from eifbench.influence import InfluenceResult
    from eifbench.tasks.base import Task


def level_correlations(normalized: np.ndarray, levels: np.ndarray) -> np.ndarray:
    """Per-stimulus Spearman rho of |c| vs level; (n_s, n_p) x2 -> (n_s,).

    Probes with no |c| (unknown or zero sensitivity) are left out; NaN where fewer than two
    levels remain; 0 where |c| is the same for every remaining probe (no ordering at all).
    """
    rhos = np.full(normalized.shape[0], np.nan)
    for i in range(normalized.shape[0]):
        used = (levels[i] > 0) & np.isfinite(normalized[i])
        values = np.abs(normalized[i, used])
        if len(np.unique(levels[i, used])) < 2:
            continue
        rhos[i] = 0.0 if np.ptp(values) == 0 else spearman(values, levels[i, used])
    return rhos


CONTRAST = SecondCriterion("contrast", "contrast nearest - farthest", "contrast", (-1.0, 1.0), higher_is_better=True)
LEVEL_CURVE = Curve(
    "mean_abs_c_by_level",
    "mean_abs_c_ci_by_level",
    "distance: mean |c| by distance level",
    ("near", "related", "far"),
    "|c| is the influence divided by the stimulus's and the probe's own self-influence (1 = as much as itself). "
    "Band: the 95% interval of the mean over items of each item's mean |c| at that level. A learner that passes "
    "has a falling line.",
)


class Distance(Desideratum[DistanceLayout]):
    """Mean per-stimulus Spearman rho of |c| vs distance level; passes at or below -0.3."""

    name: ClassVar[str] = "distance"
    metric: ClassVar[str] = "spearman rho(|c|, distance level)"
    threshold_key: ClassVar[str] = "distance"
    higher_is_better: ClassVar[bool] = False
    description: ClassVar[str] = "influence decreases with semantic distance"
    builders: ClassVar[Mapping[tuple[ModelKind, Source], Builder]] = {
        **builders_for(LANGUAGE_KINDS, lm.distance, user_file.distance),
        **builders_for([ModelKind.CLASSIFIER], images.distance),
        **builders_for([ModelKind.TEXT_CLASSIFIER], labelled.distance, labelled_file.user_distance),
    }
    explainer: ClassVar[Explainer | None] = explainers.DISTANCE
    second_criteria: ClassVar[tuple[SecondCriterion, ...]] = (CONTRAST,)
    curves: ClassVar[tuple[Curve, ...]] = (LEVEL_CURVE,)

    def measure(
        self, task: Task[DistanceLayout], results: Mapping[str, InfluenceResult], thresholds: Thresholds
    ) -> Measurement:
        """Rho per stimulus and the level contrast, from the ``main`` (and ``sensitivity``) runs."""
        layout = task.layout
        run = floored_run(results["main"], layout.self_column, thresholds.measurable)
        matrix, own, ok = run.matrix, run.own, run.learned
        if layout.completion_matched:
            with np.errstate(divide="ignore", invalid="ignore"):
                normalized = matrix / own[:, None]
            normalized[~np.isfinite(normalized)] = np.nan
        else:
            probe_scale = run.probe_scales(results["sensitivity"], layout.sensitivity_columns)
            normalized = cosine(matrix, own, probe_scale)
        rhos = np.where(ok, level_correlations(normalized, layout.levels), np.nan)
        present = [level for level in (NEAR, RELATED, FAR) if (layout.levels == level).any()]
        by_level = {int(lv): mean_of(np.abs(normalized[(layout.levels == lv) & ok[:, None]])) for lv in present}
        # each item's mean |c| per level (capped at 1: a probe moved more than the stimulus's own is "as near")
        item_means = {
            lv: np.where(
                ok, row_means(np.where(layout.levels == lv, np.minimum(np.abs(normalized), 1.0), np.nan)), np.nan
            )
            for lv in present
        }
        # the curve's band: the interval of the mean over items of each item's mean |c| at that level
        band = {int(lv): list(mean_interval(item_means[lv], level=thresholds.confidence)) for lv in present}
        details: dict[str, Any] = {LEVEL_CURVE.series: by_level, LEVEL_CURVE.band: band}
        result = self.summarize(rhos, thresholds, details, learned=ok, self_influence=own)
        if len(present) < 2:
            return result
        contrast = level_contrast(item_means, present, thresholds)
        why = (
            f"inverted levels {', '.join(contrast['inverted'])}"
            if contrast["inverted"]
            else "too few items"
            if contrast["n"] < thresholds.min_items
            else f"its interval straddles {thresholds.distance_contrast:g}"
            if contrast["status"] == "inconclusive"
            else "too small"
        )
        return with_criterion(result, CONTRAST, contrast, why)


def level_contrast(item_means: Mapping[int, np.ndarray], present: list[int], thresholds: Thresholds) -> dict[str, Any]:
    """The second criterion: nearest minus farthest level, and no adjacent pair inverted.

    Args:
        item_means: level -> (n_s,) each item's mean |c| at that level (NaN: no value).
        present: the levels the task grades, nearest first.
        thresholds: ``distance_contrast``, ``min_items`` and the interval level.

    Returns:
        ``value``, ``ci``, ``threshold``, ``status``, ``n`` of the contrast, and
        ``inverted``: adjacent level pairs whose farther level moves significantly more.

    """
    record = criterion(
        item_means[present[0]] - item_means[present[-1]], CONTRAST, thresholds.distance_contrast, thresholds
    )
    inverted = []
    for closer, farther in zip(present, present[1:]):
        step = item_means[closer] - item_means[farther]
        step = step[np.isfinite(step)]
        if (
            step.size >= thresholds.min_items
            and range_interval(step, CONTRAST.axis, level=thresholds.confidence)[1] < 0
        ):
            inverted.append(f"{closer}<{farther}")
    return {**record, "status": FAIL.value if inverted else record["status"], "inverted": inverted}
