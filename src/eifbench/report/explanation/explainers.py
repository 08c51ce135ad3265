"""Each desideratum's explainer: the words for an item and the heatmap its metric reads.

A desideratum names its explainer (``Desideratum.explainer``); ``report.explanation.explain`` uses it
to put the worst items of a verdict in words. A sentence for item i comes from
``report.explanation.sentences``, the heatmap from ``report.explanation.views``, and for noise invariance the
pure-noise stimuli that spill most. Everything here reads ``task.layout``, ``task.runs``
and the ``InfluenceResult`` matrices; the desiderata stay metric-only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from eifbench.desiderata.base import PASS, Measurement
from eifbench.report.explanation import sentences, views
from eifbench.report.explanation.evidence import Evidence, Explained
from eifbench.tasks import layouts

WORST = 3


def noise_spill(ev: Evidence, measurement: Measurement) -> list[dict[str, Any]]:
    """When the pure-noise criterion does not pass: the noise stimuli that moved real probes most."""
    spill = measurement.details.get("spill") or {}
    layout: layouts.NoiseLayout = ev.task.layout
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
        view: evidence -> the heatmap (``report.explanation.views``).
        extra: (evidence, measurement) -> more examples (a second criterion's worst stimuli).

    """

    layouts: tuple[type, ...]
    item: Callable[[Evidence, int, float], Explained]
    view: Callable[[Evidence], dict[str, Any]]
    extra: Callable[[Evidence, Measurement], list[dict[str, Any]]] | None = None


DISTANCE = Explainer((layouts.DistanceLayout,), sentences.distance, views.distance)
SPARSENESS = Explainer((layouts.SparsenessLayout,), sentences.sparseness, views.sparseness)
NOISE = Explainer((layouts.NoiseLayout,), sentences.noise, views.noise, noise_spill)
TRANSITIVITY = Explainer((layouts.ChainLayout, layouts.TripleLayout), sentences.transitivity, views.transitivity)
CONSISTENCY = Explainer((layouts.ConsistencyLayout,), sentences.consistency, views.consistency)
ASYMMETRY = Explainer((layouts.AsymmetryLayout,), sentences.asymmetry, views.asymmetry)
