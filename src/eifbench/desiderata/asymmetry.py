"""Asymmetry: where A entails B and not the reverse, A should teach B, and B not teach A.

Items are entailment pairs about a nonce entity: A = "A wug is a kind of dog" entails
B = "A wug is a kind of animal", and B does not entail A. Both are trained and read:

- forward ``M[A -> B] - M[A -> B about a control entity]``: what A teaches B beyond
  what it teaches about "animal" in general;
- backward ``M[B -> A] - M[B -> A about a control entity]``.

The item value is ``(forward - backward) / sqrt(|M[A -> A]| |M[B -> B]|)`` (cosine
units): about 1 for a learner that follows the entailment, 0 for a symmetric learner (the
small-step NTK regime, a bag of words, a shared shift), negative for one that learns the
wrong way round. Images have no statements that entail each other, so asymmetry is n/a
for classifiers.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from eifbench.desiderata.base import Builder, Desideratum, Measurement, Thresholds, builders_for
from eifbench.desiderata.normalize import floored, learned, mean_of, noise_of
from eifbench.kinds import LANGUAGE_KINDS, ModelKind
from eifbench.report.explanation import explainers
from eifbench.report.explanation.explainers import Explainer
from eifbench.tasks import lm, user_file
from eifbench.tasks.base import Source
from eifbench.tasks.layouts import AsymmetryLayout

if TYPE_CHECKING:
    from eifbench.influence import InfluenceResult
    from eifbench.tasks.base import Task


def directional_scores(matrix: np.ndarray, layout: AsymmetryLayout) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(forward, backward, scale)`` per pair; -> three (n,) arrays."""
    a, b = layout.premise_row, layout.conclusion_row
    forward = matrix[a, layout.conclusion] - matrix[a, layout.conclusion_control]
    backward = matrix[b, layout.premise] - matrix[b, layout.premise_control]
    scale = np.sqrt(np.abs(matrix[a, layout.premise]) * np.abs(matrix[b, layout.conclusion]))
    return forward, backward, scale


class Asymmetry(Desideratum[AsymmetryLayout]):
    """Mean (forward - backward) entailment influence, cosine units; passes at or above 0.3."""

    name: ClassVar[str] = "asymmetry"
    metric: ClassVar[str] = "(forward - backward) / sqrt(self A * self B)"
    threshold_key: ClassVar[str] = "asymmetry"
    higher_is_better: ClassVar[bool] = True
    description: ClassVar[str] = "A => B: A teaches B, B does not teach A"
    builders: ClassVar[Mapping[tuple[ModelKind, Source], Builder]] = {
        **builders_for(LANGUAGE_KINDS, lm.asymmetry, user_file.asymmetry),
    }
    explainer: ClassVar[Explainer | None] = explainers.ASYMMETRY
    not_applicable_reasons: ClassVar[Mapping[ModelKind, str]] = {
        ModelKind.CLASSIFIER: "images carry no logical direction (no image entails another)",
        ModelKind.TEXT_CLASSIFIER: (
            "a text classifier's label belongs to each sentence's own wording, not to a claim one sentence "
            "entails about another: 'the pasta was delicious' and 'the food was good' are both positive whichever "
            "is learned first, so there is no direction to test"
        ),
    }

    def measure(
        self, task: Task[AsymmetryLayout], results: Mapping[str, InfluenceResult], thresholds: Thresholds
    ) -> Measurement:
        """Forward minus backward per pair from the ``main`` run."""
        layout = task.layout
        main = results["main"]
        noise = noise_of(main)
        matrix = floored(main.matrix.numpy(), noise)
        premise_self = matrix[layout.premise_row, layout.premise]
        conclusion_self = matrix[layout.conclusion_row, layout.conclusion]
        ok = learned(premise_self, noise[layout.premise], thresholds.measurable)
        ok &= learned(conclusion_self, noise[layout.conclusion], thresholds.measurable)
        forward, backward, scale = directional_scores(matrix, layout)
        with np.errstate(divide="ignore", invalid="ignore"):
            alpha = np.where(ok, (forward - backward) / scale, np.nan)
            details = {
                "forward": mean_of(forward[ok] / scale[ok]),
                "backward": mean_of(backward[ok] / scale[ok]),
            }
        # an item is as learned as the less learned of its two statements
        rise = np.minimum(premise_self, conclusion_self)
        return self.summarize(alpha, thresholds, details, learned=ok, self_influence=rise)
