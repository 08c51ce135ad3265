"""Distance: influence should fall as probes get semantically further from the stimulus.

Per stimulus, the probes are graded by how far they are from it (LM: 1 = the same fact in
other words, 2 = the same entity in another relation, 3 = another entity, relation and
object; images: 1 / 2 / 3 = the nearest, middle and farthest images of the same class in
pixel space, a measure the model never sees). The item value is the Spearman correlation
of |c(s, p)| (the cosine-normalized influence) with the level: scale-free on both sides,
so a probe that moves whatever you train on does not look close. The stimulus's own
probe is left out (it is trivially the closest). Ties everywhere (a shared shift, float
noise) give 0: no ordering at all.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from eifbench.desiderata.base import Desideratum, Measurement, Thresholds
from eifbench.desiderata.normalize import (
    cosine,
    diagonal,
    floored,
    mean_of,
    measurable,
    noise_of,
    row_means,
    sensitivities,
)
from eifbench.intervals import mean_interval
from eifbench.kinds import ModelKind
from eifbench.stats import spearman

if TYPE_CHECKING:
    from eifbench.influence import InfluenceResult
    from eifbench.tasks.base import Task

NEAR, RELATED, FAR = 1, 2, 3
UNUSED = -1


@dataclass(frozen=True, eq=False)
class DistanceLayout:
    """Where each stimulus's graded probes are.

    Attributes:
        self_column: (n_s,) the stimulus's own probe in the ``main`` run.
        levels: (n_s, n_p) distance level of each probe for each stimulus, -1 = not used.
        sensitivity_columns: (n_q,) probes whose self-influence the ``sensitivity`` run
            measures (row r reads column ``sensitivity_columns[r]``).

    """

    self_column: np.ndarray
    levels: np.ndarray
    sensitivity_columns: np.ndarray


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


class Distance(Desideratum[DistanceLayout]):
    """Mean per-stimulus Spearman rho of |c| vs distance level; passes at or below -0.3."""

    name: ClassVar[str] = "distance"
    metric: ClassVar[str] = "spearman rho(|c|, distance level)"
    threshold_key: ClassVar[str] = "distance"
    higher_is_better: ClassVar[bool] = False
    description: ClassVar[str] = "influence decreases with semantic distance"
    builders: ClassVar[Mapping[ModelKind, str]] = {
        ModelKind.CAUSAL_LM: "eifbench.tasks.lm:distance",
        ModelKind.SEQ2SEQ_LM: "eifbench.tasks.lm:distance",
        ModelKind.CLASSIFIER: "eifbench.tasks.images:distance",
        ModelKind.TEXT_CLASSIFIER: "eifbench.tasks.labelled:distance",
    }

    def measure(
        self, task: Task[DistanceLayout], results: Mapping[str, InfluenceResult], thresholds: Thresholds
    ) -> Measurement:
        """Rho per stimulus from the ``main`` and ``sensitivity`` runs."""
        layout = task.layout
        main, sens = results["main"], results["sensitivity"]
        noise = noise_of(main)
        matrix = floored(main.matrix.numpy(), noise)
        own = diagonal(matrix, layout.self_column)
        ok = measurable(own, noise[layout.self_column], thresholds.measurable)
        probe_scale = sensitivities(
            matrix.shape[1],
            (layout.self_column, own),
            (layout.sensitivity_columns, diagonal(sens.matrix.numpy(), layout.sensitivity_columns)),
        )
        normalized = cosine(matrix, own, probe_scale)
        rhos = np.where(ok, level_correlations(normalized, layout.levels), np.nan)
        present = [level for level in (NEAR, RELATED, FAR) if (layout.levels == level).any()]
        by_level = {int(lv): mean_of(np.abs(normalized[(layout.levels == lv) & ok[:, None]])) for lv in present}
        # the curve's band: the interval of the mean over items of each item's mean |c| at that level
        item_means = {lv: row_means(np.where(layout.levels == lv, np.abs(normalized), np.nan))[ok] for lv in present}
        band = {int(lv): list(mean_interval(item_means[lv], level=thresholds.confidence)) for lv in present}
        details = {"mean_abs_c_by_level": by_level, "mean_abs_c_ci_by_level": band}
        return self.summarize(rhos, thresholds, details, unmeasured=int((~ok).sum()))
