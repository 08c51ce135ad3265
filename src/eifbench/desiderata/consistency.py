"""Logical consistency: learning a fact raises it, and not the statements that contradict it.

Items are exclusive attributes stated as such ("Zorpin was born in the month of March":
one month excludes the others). After training on the fact, three movements are read,
each against the same probe about an unrelated control person (which removes whatever
the model learns about "March" or about the template in general):

- ``L``: the fact itself, ``M[fact] - M[fact about the control]``;
- ``N``: its negation ("... was not born in the month of March");
- ``A``: the exclusive alternatives ("... in the month of June"), averaged.

The item value is ``(L - max(N, A)) / |M[fact]|``, clipped to [-1, 1]: 1 when the fact
rises and nothing contradicting it rises with it, 0 when the contradictions rise as much
(a model that ignores "not", a bag of words, a shared shift), negative when they rise
more. Continuous, so a verdict cannot hinge on four signs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from eifbench.desiderata.base import Builder, Desideratum, Measurement, Thresholds, builders_for
from eifbench.desiderata.normalize import floored_run, mean_of
from eifbench.kinds import LANGUAGE_KINDS, ModelKind
from eifbench.report.explanation import explainers
from eifbench.report.explanation.explainers import Explainer
from eifbench.tasks import lm, user_file
from eifbench.tasks.base import Source
from eifbench.tasks.layouts import ConsistencyLayout

if TYPE_CHECKING:
    from eifbench.influence import InfluenceResult
    from eifbench.tasks.base import Task


def contradiction_margins(matrix: np.ndarray, layout: ConsistencyLayout) -> tuple[np.ndarray, ...]:
    """``(L, N, A)`` per item, each control-subtracted; -> three (n,) arrays."""
    rows = np.arange(len(layout.fact))
    lift = matrix[rows, layout.fact] - matrix[rows, layout.fact_control]
    negation = matrix[rows, layout.negation] - matrix[rows, layout.negation_control]
    alternatives = (
        matrix[rows[:, None], layout.alternatives] - matrix[rows[:, None], layout.alternative_controls]
    ).mean(axis=1)
    return lift, negation, alternatives


class LogicalConsistency(Desideratum[ConsistencyLayout]):
    """Mean (L - max(N, A)) / |fact's rise|; passes at or above 0.5."""

    name: ClassVar[str] = "logical consistency"
    metric: ClassVar[str] = "(fact - max(negation, alternatives)) / fact"
    threshold_key: ClassVar[str] = "consistency"
    higher_is_better: ClassVar[bool] = True
    description: ClassVar[str] = "a learned fact rises; its negation and exclusive alternatives do not"
    builders: ClassVar[Mapping[tuple[ModelKind, Source], Builder]] = {
        **builders_for(LANGUAGE_KINDS, lm.consistency, user_file.consistency),
    }
    explainer: ClassVar[Explainer | None] = explainers.CONSISTENCY
    not_applicable_reasons: ClassVar[Mapping[ModelKind, str]] = {
        ModelKind.CLASSIFIER: "an image has no negation",
        ModelKind.TEXT_CLASSIFIER: "a text classifier reads labels, not negated statements",
    }

    def measure(
        self, task: Task[ConsistencyLayout], results: Mapping[str, InfluenceResult], thresholds: Thresholds
    ) -> Measurement:
        """Margins per item from the ``main`` run."""
        layout = task.layout
        run = floored_run(results["main"], layout.fact, thresholds.measurable)
        matrix, own, ok = run.matrix, run.own, run.learned
        lift, negation, alternatives = contradiction_margins(matrix, layout)
        with np.errstate(divide="ignore", invalid="ignore"):
            scale = np.abs(own)
            kappa = np.where(ok, (lift - np.maximum(negation, alternatives)) / scale, np.nan)
            details = {
                name: mean_of(values[ok] / scale[ok])
                for name, values in (("fact", lift), ("negation", negation), ("alternatives", alternatives))
            }
        return self.summarize(
            kappa, thresholds, {"control_corrected_over_fact": details}, learned=ok, self_influence=own
        )
