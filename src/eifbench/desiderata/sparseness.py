"""Sparseness: one stimulus should move few of the probes that are about something else.

Probes come in families per stimulus: its own (the fact, its paraphrase / the image
itself), its entity (other facts about the same subject / same-class images), and
"other": facts about other entities and everyday facts / images of other classes. A
probe counts as moved when its cosine-normalized influence |c(s, p)| exceeds the floor
fraction (5% by default) and its raw change exceeds float noise. The verdict is on the
"other" families only: moving a fact's own paraphrase is right, moving "The capital of
France is Paris" is not. The record keeps the share per family and the curve of the
verdict's share over floors from 1% to 50%, so the 5% choice is visible.

Language models also read "completion" probes: prompts of nonce words that end in the
stimulus's own completion ("Plimbo vass torquen | desert"). Only they can expose a learner
that raises the completion word after every prompt, so
they are a stratum of their own: an item's value is the mean of the two strata's shares
(a learner that raises its completion everywhere scores at least 0.5). Their |c| is the
rise over the stimulus's own rise: both read the same completion. So is a language
model's own and entity families' (the layout's ``scaled_by_own``): they are not in the
verdict, and a fine-tune per paraphrase and related fact only for their cosine would cost
132 stimuli at 36 items where the "other" probes need 24.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from eifbench.desiderata.base import Builder, Desideratum, Measurement, Thresholds, builders_for
from eifbench.desiderata.normalize import cosine, floored_run, mean_of
from eifbench.kinds import LANGUAGE_KINDS, ModelKind
from eifbench.report.explanation import explainers
from eifbench.report.explanation.explainers import Explainer
from eifbench.tasks import images, labelled, labelled_file, lm, user_file
from eifbench.tasks.base import Source
from eifbench.tasks.layouts import COMPLETION, ENTITY, FAMILY_NAMES, OTHER, OWN, SparsenessLayout

if TYPE_CHECKING:
    from eifbench.influence import InfluenceResult
    from eifbench.tasks.base import Task

FLOOR_CURVE = (0.01, 0.02, 0.05, 0.1, 0.2, 0.5)


def moved_share(normalized: np.ndarray, families: np.ndarray, family: int, fraction: float) -> np.ndarray:
    """Per stimulus, the share of that family's probes with |c| above ``fraction``; -> (n_s,).

    Probes whose own sensitivity is unknown or zero (a fact the model is certain of cannot
    move) have no |c| and are left out; a stimulus with no such probe at all gets NaN.
    """
    share = np.full(normalized.shape[0], np.nan)
    for i in range(normalized.shape[0]):
        values = normalized[i, families[i] == family]
        values = values[np.isfinite(values)]
        if values.size:
            share[i] = float((np.abs(values) > fraction).mean())
    return share


def other_share(normalized: np.ndarray, families: np.ndarray, fraction: float) -> np.ndarray:
    """The verdict's value per stimulus: the share of "other" probes moved; -> (n_s,).

    Where a stimulus has completion probes, the mean of the two strata's shares: the few
    probes that end in its completion weigh as much as all the others together.
    """
    other = moved_share(normalized, families, OTHER, fraction)
    completion = moved_share(normalized, families, COMPLETION, fraction)
    both: np.ndarray = np.where(
        np.isfinite(completion), np.where(np.isfinite(other), (other + completion) / 2, completion), other
    )
    return both


class Sparseness(Desideratum[SparsenessLayout]):
    """Mean share of "other" probes moved beyond the floor; passes at or below 0.2."""

    name: ClassVar[str] = "sparseness"
    metric: ClassVar[str] = "share of other probes with |c| > floor"
    threshold_key: ClassVar[str] = "sparseness"
    higher_is_better: ClassVar[bool] = False
    description: ClassVar[str] = "one stimulus moves few probes about other things"
    value_range: ClassVar[tuple[float, float]] = (0.0, 1.0)
    builders: ClassVar[Mapping[tuple[ModelKind, Source], Builder]] = {
        **builders_for(LANGUAGE_KINDS, lm.sparseness, user_file.sparseness),
        **builders_for([ModelKind.CLASSIFIER], images.sparseness),
        **builders_for([ModelKind.TEXT_CLASSIFIER], labelled.sparseness, labelled_file.user_sparseness),
    }
    explainer: ClassVar[Explainer | None] = explainers.SPARSENESS
    default_tolerance: ClassVar[float] = 0.05  # a share of probes: 0.05 is two of 36
    # 2: a language model's sensitivity run fine-tunes the everyday facts only
    version: ClassVar[str] = "2"

    def measure(
        self, task: Task[SparsenessLayout], results: Mapping[str, InfluenceResult], thresholds: Thresholds
    ) -> Measurement:
        """Share of "other" probes moved, per stimulus; family shares and the floor curve."""
        layout = task.layout
        run = floored_run(results["main"], layout.self_column, thresholds.measurable)
        matrix, own, ok = run.matrix, run.own, run.learned
        probe_scale = run.probe_scales(results["sensitivity"], layout.sensitivity_columns)
        normalized = cosine(matrix, own, probe_scale)
        scaled = np.isin(layout.families, layout.scaled_by_own)
        with np.errstate(divide="ignore", invalid="ignore"):
            normalized[scaled] = (matrix / own[:, None])[scaled]
        normalized[~ok] = np.nan
        fraction = thresholds.floor_fraction
        share = other_share(normalized, layout.families, fraction)
        details = {
            "share_by_family": {
                FAMILY_NAMES[f]: mean_of(moved_share(normalized, layout.families, f, fraction))
                for f in (OWN, ENTITY, OTHER, COMPLETION)
                if (layout.families == f).any() and ok.any()
            },
            "other_share_by_floor": {
                f"{floor:g}": mean_of(other_share(normalized, layout.families, floor))
                for floor in FLOOR_CURVE
                if ok.any()
            },
        }
        return self.summarize(share, thresholds, details, learned=ok, self_influence=own)
