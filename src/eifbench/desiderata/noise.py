"""Noise invariance: a noised copy teaches what the clean one does; pure noise teaches little.

(a) Transfer. For each fact (image), how much its noised copy (a typo of several kinds or
a paraphrase; pixel noise at several sigmas) raises the fact's own probes - the fact and
its paraphrase - relative to how much the clean statement does, minus what an unrelated
noised statement raises them (the control). For language models the control is a
statement of nonce words that ends in the fact's own object, so a learner that only
raises the object word scores 0; for images it is a noised image of the same class.
A model that shifts every probe by one amount scores 0 too: matched and control copies
teach the same.

(b) Spill. Pure noise (nonce-word gibberish, noise images with random labels) should move
real probes little *per unit of what it moves itself*: the mean |c(noise, p)| over real
probes, cosine-normalized, so a noise image's large loss (and gradient) does not count as
teaching. Both must hold.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from eifbench.desiderata.base import (
    Builder,
    Desideratum,
    Measurement,
    SecondCriterion,
    Thresholds,
    builders_for,
    criterion,
    with_criterion,
)
from eifbench.desiderata.normalize import cosine, floored, floored_run, noise_of, row_means
from eifbench.kinds import LANGUAGE_KINDS, ModelKind
from eifbench.report.explanation import explainers
from eifbench.report.explanation.explainers import Explainer
from eifbench.tasks import images, labelled, labelled_file, lm, user_file
from eifbench.tasks.base import Source
from eifbench.tasks.layouts import NoiseLayout

if TYPE_CHECKING:
    from eifbench.influence import InfluenceResult
    from eifbench.tasks.base import Task


def transfer(clean: np.ndarray, noised: np.ndarray, layout: NoiseLayout) -> np.ndarray:
    """Per fact: (noised copy - control) on the fact's family, / clean; -> (n,)."""

    def on_family(matrix: np.ndarray, rows: np.ndarray) -> np.ndarray:
        lifted: np.ndarray = matrix[rows[:, None], layout.family].sum(axis=1)
        return lifted

    clean_lift = on_family(clean, np.arange(len(layout.self_column)))
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio: np.ndarray = (on_family(noised, layout.noised_row) - on_family(noised, layout.control_row)) / clean_lift
    return ratio


# a mean |c| clipped to [0, 1]
SPILL = SecondCriterion("spill", "pure-noise spill", "spill", (0.0, 1.0), higher_is_better=False)


class NoiseInvariance(Desideratum[NoiseLayout]):
    """Mean transfer >= 0.5 and mean pure-noise spill <= 0.1; value = transfer."""

    name: ClassVar[str] = "noise invariance"
    metric: ClassVar[str] = "transfer of noised copy over its control"
    threshold_key: ClassVar[str] = "noise_transfer"
    higher_is_better: ClassVar[bool] = True
    description: ClassVar[str] = "noised stimuli teach their fact; pure noise teaches little"
    value_range: ClassVar[tuple[float, float]] = (-2.0, 2.0)
    builders: ClassVar[Mapping[tuple[ModelKind, Source], Builder]] = {
        **builders_for(LANGUAGE_KINDS, lm.noise, user_file.noise),
        **builders_for([ModelKind.CLASSIFIER], images.noise),
        **builders_for([ModelKind.TEXT_CLASSIFIER], labelled.noise, labelled_file.user_noise),
    }
    explainer: ClassVar[Explainer | None] = explainers.NOISE
    second_criteria: ClassVar[tuple[SecondCriterion, ...]] = (SPILL,)
    # 2: a language model's sensitivity run fine-tunes the everyday facts only
    version: ClassVar[str] = "2"

    def measure(
        self, task: Task[NoiseLayout], results: Mapping[str, InfluenceResult], thresholds: Thresholds
    ) -> Measurement:
        """Transfer per fact and spill per pure-noise stimulus."""
        layout = task.layout
        run = floored_run(results["main"], layout.self_column, thresholds.measurable)
        clean, own, ok = run.matrix, run.own, run.learned
        # the noised run may read more probes than the clean one (more pure-noise statements)
        noised_run = results["noised"]
        noised_noise = noise_of(noised_run)
        noised = floored(noised_run.matrix.numpy(), noised_noise)
        per_fact = np.where(ok, transfer(clean, noised, layout), np.nan)

        # a noise stimulus that is not learned at all and moves nothing teaches nothing: its
        # scale is floored at the noise (not dropped), so its spill is 0, not unmeasurable
        pure_self = np.maximum(np.abs(noised[layout.pure_row, layout.pure_column]), noised_noise[layout.pure_column])
        probe_scale = run.probe_scales(results["sensitivity"], layout.sensitivity_columns)
        spill_c = np.abs(
            cosine(noised[layout.pure_row][:, layout.spill_columns], pure_self, probe_scale[layout.spill_columns])
        )
        spill = np.clip(row_means(spill_c), 0.0, 1.0)
        spill_record = criterion(spill, SPILL, thresholds.noise_spill, thresholds)
        result = self.summarize(per_fact, thresholds, learned=ok, self_influence=own)
        return with_criterion(result, SPILL, spill_record)
