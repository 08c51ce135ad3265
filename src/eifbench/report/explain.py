"""The items behind a verdict: the ones that violate the desideratum most, in words."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from eifbench.desiderata.base import Measurement

if TYPE_CHECKING:
    from eifbench.influence import InfluenceResult
    from eifbench.tasks.base import Task

WORST = 3


def worst_items(
    measurement: Measurement, task: Task[Any], results: Mapping[str, InfluenceResult] | None = None
) -> list[dict[str, Any]]:
    """The ``WORST`` items furthest on the bad side of the threshold, worst first."""
    values = np.asarray(measurement.per_item, dtype=np.float64)
    finite = np.flatnonzero(np.isfinite(values))
    if finite.size == 0:
        return []
    badness = -values[finite] if measurement.higher_is_better else values[finite]
    order = finite[np.argsort(-badness, kind="stable")][:WORST]
    labels = task.items
    return [
        {"item": labels[i] if i < len(labels) else f"item {i}", "index": int(i), "value": float(values[i])}
        for i in order
    ]
