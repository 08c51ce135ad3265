"""The items behind a verdict, in words, and the desideratum's heatmap: one registry, keyed by name.

``EXPLAINERS`` says, per desideratum, how the report explains it: a sentence for item i
(``report.sentences``), the heatmap of the cells its metric reads (``report.views``), and
for noise invariance the pure-noise stimuli that spill most. The desiderata modules
stay metric-only; everything here reads ``task.layout``, ``task.runs`` and the
``InfluenceResult`` matrices. A desideratum (or a layout) without an explainer gets its
item labels and the plain downsampled matrix.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from eifbench.desiderata.asymmetry import AsymmetryLayout
from eifbench.desiderata.base import PASS, Measurement
from eifbench.desiderata.consistency import ConsistencyLayout
from eifbench.desiderata.distance import DistanceLayout
from eifbench.desiderata.noise import NoiseLayout
from eifbench.desiderata.sparseness import SparsenessLayout
from eifbench.desiderata.transitivity import ChainLayout, TripleLayout
from eifbench.report import sentences, views
from eifbench.report.evidence import Evidence, Explained
from eifbench.report.figures import heatmap_data

if TYPE_CHECKING:
    from eifbench.influence import InfluenceResult
    from eifbench.tasks.base import Task

WORST = 3


def noise_spill(ev: Evidence, measurement: Measurement) -> list[dict[str, Any]]:
    """When the pure-noise criterion does not pass: the noise stimuli that moved real probes most."""
    spill = measurement.details.get("spill") or {}
    layout: NoiseLayout = ev.task.layout
    if spill.get("status", PASS.value) == PASS.value or len(layout.pure_row) == 0:
        return []
    real = np.abs(ev.matrix("noised")[layout.pure_row][:, layout.spill_columns])
    measured = np.isfinite(real).all(axis=1)  # a pure-noise stimulus whose fine-tune failed has a NaN row
    moved = np.where(measured[:, None], real, 0.0).mean(axis=1)
    order = [g for g in np.argsort(-moved, kind="stable") if measured[g]][:WORST]
    return [
        {"item": f"pure noise {g + 1}", "index": int(g), "value": float(moved[g]), "criterion": "spill"}
        | sentences.spill(ev, int(g)).as_record()
        for g in order
    ]


@dataclass(frozen=True)
class Explainer:
    """How the report explains one desideratum.

    Attributes:
        layouts: the layout types it can read (others fall back to labels and the raw matrix).
        item: (evidence, item index, item value) -> the item in words.
        view: evidence -> the heatmap (``report.views``).
        extra: (evidence, measurement) -> more examples (a second criterion's worst stimuli).

    """

    layouts: tuple[type, ...]
    item: Callable[[Evidence, int, float], Explained]
    view: Callable[[Evidence], dict[str, Any]]
    extra: Callable[[Evidence, Measurement], list[dict[str, Any]]] | None = None


EXPLAINERS: dict[str, Explainer] = {
    "distance": Explainer((DistanceLayout,), sentences.distance, views.distance),
    "sparseness": Explainer((SparsenessLayout,), sentences.sparseness, views.sparseness),
    "noise invariance": Explainer((NoiseLayout,), sentences.noise, views.noise, noise_spill),
    "transitivity": Explainer((ChainLayout, TripleLayout), sentences.transitivity, views.transitivity),
    "logical consistency": Explainer((ConsistencyLayout,), sentences.consistency, views.consistency),
    "asymmetry": Explainer((AsymmetryLayout,), sentences.asymmetry, views.asymmetry),
}


def explainer_for(name: str, task: Task[Any]) -> Explainer | None:
    """The desideratum's explainer, if it reads this task's layout."""
    explainer = EXPLAINERS.get(name)
    return explainer if explainer is not None and isinstance(task.layout, explainer.layouts) else None


def worst_items(
    measurement: Measurement,
    task: Task[Any],
    results: Mapping[str, InfluenceResult] | None = None,
    condition: str = "finetune",
) -> list[dict[str, Any]]:
    """The ``WORST`` items furthest on the bad side of the threshold, worst first, in words.

    Returns:
        One dict per item: ``item`` (its label), ``index``, ``value`` (its score) and, with
        results, ``text`` (the sentence), ``cells`` (the raw influences it quotes, nats) and
        for images ``images`` (thumbnails); then, for a failing second criterion, its worst
        stimuli (``criterion`` names it).

    """
    values = np.asarray(measurement.per_item, dtype=np.float64)
    finite = np.flatnonzero(np.isfinite(values))
    badness = -values[finite] if measurement.higher_is_better else values[finite]
    order = finite[np.argsort(-badness, kind="stable")][:WORST]
    examples = [
        {"item": task.items[i] if i < len(task.items) else f"item {i}", "index": int(i), "value": float(values[i])}
        for i in order
    ]
    explainer = explainer_for(measurement.desideratum, task)
    if explainer is None or not results:
        return examples
    evidence = Evidence(task, results, condition)
    examples = [e | explainer.item(evidence, int(e["index"]), float(e["value"])).as_record() for e in examples]
    if explainer.extra is not None:
        examples += explainer.extra(evidence, measurement)
    return examples


def figure_of(
    measurement: Measurement, task: Task[Any], results: Mapping[str, InfluenceResult], condition: str = "finetune"
) -> dict[str, Any] | None:
    """The record's heatmap: the desideratum's view, or the downsampled ``main`` matrix."""
    explainer = explainer_for(measurement.desideratum, task)
    if explainer is not None:
        return explainer.view(Evidence(task, results, condition))
    main = results.get("main")
    return heatmap_data(main.matrix.numpy()) if main is not None else None
