"""The items behind a verdict, in words, and the desideratum's heatmap.

Each desideratum names its explainer (``Desideratum.explainer``, built in
``report.explanation.explainers``): a sentence for item i and the heatmap of the cells its metric
reads. A desideratum (or a layout) without an explainer gets its item labels and the
plain downsampled matrix.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from eifbench.desiderata.base import Measurement
from eifbench.report.explanation.evidence import Evidence
from eifbench.report.explanation.explainers import WORST, Explainer
from eifbench.report.rendering.figures import heatmap_data

if TYPE_CHECKING:
    from eifbench.influence import InfluenceResult
    from eifbench.tasks.base import Task


def explainer_for(name: str, task: Task[Any]) -> Explainer | None:
    """The desideratum's explainer, if it reads this task's layout."""
    from eifbench.desiderata import DESIDERATA

    desideratum = DESIDERATA.get(name)
    explainer = desideratum.explainer if desideratum is not None else None
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
