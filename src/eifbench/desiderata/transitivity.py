"""Transitivity: learning "A is a B" and "all Bs have C" should teach "A has C".

LMs. After fine-tuning on the premise chain, the conclusion "A wug has a tail" is read
against three controls: the property claimed of an unrelated entity ("A zorp has a
tail"), another property of the entity ("A wug has a horn"), and both ("A zorp has a
horn"). The difference-in-differences
``lift = M[concl] - M[ctrl entity] - M[ctrl property] + M[ctrl both]`` is zero for any
learner whose influence adds up word by word (a bag of words, a shared shift) and equals
the conclusion's own rise for a learner that deduces it. The item value divides it by
what training on the conclusion itself gives, with the same number of optimizer steps
as the chain (depth x k).

Images. Triples a -> b -> c where training on a moves b and training on b moves c
(cosine-normalized influence above a link threshold). The conclusion a -> c is compared
with a -> c' for every other image c' of c's class (chosen without looking at b), so
class similarity alone scores 0; the value is that excess over the b -> c link. Selection
reads only the link cells M[a, b], M[b, c], never the scored cells; one item per start
image a (its triples averaged), and the record counts distinct endpoints.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from eifbench.desiderata.base import Builder, Desideratum, Measurement, Thresholds, builders_for
from eifbench.desiderata.normalize import LINK, cosine, diagonal, floored, learned, mean_of, noise_of
from eifbench.kinds import LANGUAGE_KINDS, ModelKind
from eifbench.report.explanation import explainers
from eifbench.report.explanation.explainers import Explainer
from eifbench.tasks import images, lm, user_file
from eifbench.tasks.base import Source
from eifbench.tasks.layouts import ChainLayout, TripleLayout

if TYPE_CHECKING:
    from eifbench.influence import InfluenceResult
    from eifbench.tasks.base import Task

TRIPLES_PER_START = 8


def chain_lift(matrix: np.ndarray, layout: ChainLayout) -> np.ndarray:
    """The difference-in-differences of each chain on its conclusion; -> (n,)."""
    rows = np.arange(len(layout.conclusion))
    lift: np.ndarray = (
        matrix[rows, layout.conclusion]
        - matrix[rows, layout.control_entity]
        - matrix[rows, layout.control_property]
        + matrix[rows, layout.control_both]
    )
    return lift


def symmetry(normalized: np.ndarray) -> float | None:
    """Pearson correlation of c(a, b) with c(b, a) over every pair of the pool (descriptive).

    1 is the small-step (NTK) picture of the reference study's CNNs; it is recorded, not
    judged: a symmetric influence is not illogical for images.
    """
    upper = np.triu_indices(len(normalized), k=1)
    forward, backward = normalized[upper], normalized.T[upper]
    keep = np.isfinite(forward) & np.isfinite(backward)
    if keep.sum() < 3 or np.ptp(forward[keep]) == 0 or np.ptp(backward[keep]) == 0:
        return None
    return float(np.corrcoef(forward[keep], backward[keep])[0, 1])


def triple_scores(normalized: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, int]:
    """Per start image a: mean over its triples of (c(a,c) - mean c(a,c')) / c(b,c).

    Returns the per-start values (NaN where a starts no triple) and the number of distinct
    (a, c) endpoints scored.
    """
    n = len(labels)
    linked = np.nan_to_num(normalized, nan=-np.inf) >= LINK
    np.fill_diagonal(linked, False)
    values = np.full(n, np.nan)
    endpoints: set[tuple[int, int]] = set()
    for a in range(n):
        scores: list[float] = []
        for b in np.flatnonzero(linked[a]):
            for c in np.flatnonzero(linked[b]):
                if c == a or len(scores) >= TRIPLES_PER_START:
                    continue
                # every other image of c's class: chosen without looking at b, so a selected c
                # beats them only if a -> b -> c carries something beyond the class
                controls = np.flatnonzero((labels == labels[c]) & ~np.isin(np.arange(n), [a, int(b), int(c)]))
                if controls.size == 0 or not np.isfinite(normalized[a, controls]).all():
                    continue
                scores.append(float((normalized[a, c] - normalized[a, controls].mean()) / normalized[b, c]))
                endpoints.add((a, int(c)))
        if scores:
            values[a] = float(np.mean(scores))
    return values, len(endpoints)


class Transitivity(Desideratum[ChainLayout | TripleLayout]):
    """Mean control-corrected lift of the conclusion / training on it; passes at or above 0.3."""

    name: ClassVar[str] = "transitivity"
    metric: ClassVar[str] = "lift of the conclusion over controls / training on it"
    threshold_key: ClassVar[str] = "transitivity"
    higher_is_better: ClassVar[bool] = True
    description: ClassVar[str] = "premises teach their conclusion beyond association"
    value_range: ClassVar[tuple[float, float]] = (-2.0, 2.0)
    builders: ClassVar[Mapping[tuple[ModelKind, Source], Builder]] = {
        **builders_for(LANGUAGE_KINDS, lm.transitivity, user_file.transitivity),
        **builders_for([ModelKind.CLASSIFIER], images.transitivity),
    }
    explainer: ClassVar[Explainer | None] = explainers.TRANSITIVITY
    not_applicable_reasons: ClassVar[Mapping[ModelKind, str]] = {
        ModelKind.TEXT_CLASSIFIER: "a text classifier reads labels, not conclusions of premises",
    }

    def measure(
        self,
        task: Task[ChainLayout | TripleLayout],
        results: Mapping[str, InfluenceResult],
        thresholds: Thresholds,
    ) -> Measurement:
        """Chains (LMs) or triples (images)."""
        layout = task.layout
        main = results["main"]
        noise = noise_of(main)
        matrix = floored(main.matrix.numpy(), noise)
        if isinstance(layout, TripleLayout):
            own = np.diag(matrix)
            ok = learned(own, noise, thresholds.measurable)
            normalized = cosine(matrix, own, own)
            normalized[~ok] = np.nan
            normalized[:, ~ok] = np.nan
            values, endpoints = triple_scores(normalized, layout.labels)
            pool = {"distinct_endpoints": endpoints, "symmetry": symmetry(normalized)}
            return self.summarize(values, thresholds, pool, learned=ok, self_influence=own)
        reference = floored(results["reference"].matrix.numpy(), noise)
        trained = diagonal(reference, layout.conclusion)
        ok = learned(trained, noise[layout.conclusion], thresholds.measurable)
        lift = chain_lift(matrix, layout)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(ok, lift / np.abs(trained), np.nan)
            uncorrected = np.where(ok, diagonal(matrix, layout.conclusion) / np.abs(trained), np.nan)
        details: dict[str, object] = {
            "uncorrected_ratio": mean_of(uncorrected),
            "depths": sorted({int(d) for d in layout.depths}),
        }
        return self.summarize(ratio, thresholds, details, learned=ok, self_influence=trained)
