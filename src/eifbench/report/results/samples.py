"""``--eif-log-samples PATH``: every computed cell as one JSON line, to audit and re-score a run.

Each line holds the model, condition, desideratum, run, the stimulus and probe (text, or
a description of an image), the influence and the probe's read-out before it. Lines of
one test are appended under an exclusive file lock, so xdist workers can share the file.
"""

from __future__ import annotations

import fcntl
import json
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from eifbench.report.results.records import Record, finite
from eifbench.stimuli import Chain, Example, Text

if TYPE_CHECKING:
    from eifbench.influence import InfluenceResult
    from eifbench.tasks.base import Task


def describe_item(item: Any) -> Any:
    """A JSON-ready description: texts as they are, images by shape and label."""
    if isinstance(item, Chain):
        return [describe_item(link) for link in item.links]
    if isinstance(item, Text):
        return item.text
    if isinstance(item, Example):
        if isinstance(item.x, str):
            return {"prompt": item.x, "completion": item.y}
        shape = tuple(getattr(item.x, "shape", ()))
        return {"input_shape": list(shape), "label": int(item.y), "input_sum": float(item.x.sum())}
    return repr(item)


def log_samples(path: str, record: Record, task: Task[Any], results: Mapping[str, InfluenceResult]) -> None:
    """Append one line per computed cell of every run of the task."""
    lines = []
    for name, run in task.runs.items():
        result = results[name]
        matrix, before = result.matrix.numpy(), result.baseline.numpy()
        reference = None if result.reference is None else result.reference.numpy()
        probes = [describe_item(p) for p in run.probes]
        cells = np.ones(matrix.shape, dtype=bool) if run.mask is None else run.mask
        for i, j in zip(*np.nonzero(cells)):
            lines.append(
                json.dumps(
                    {
                        "model": record.model,
                        "condition": record.condition,
                        "desideratum": record.desideratum,
                        "stimuli": record.stimuli,
                        "run": name,
                        "stimulus_index": int(i),
                        "probe_index": int(j),
                        "stimulus": describe_item(run.stimuli[i]),
                        "probe": probes[j],
                        "eif": finite(float(matrix[i, j])),
                        "before": finite(float(reference[i, j] if reference is not None else before[j])),
                    }
                )
            )
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target, "a", encoding="utf-8") as stream:
        fcntl.flock(stream, fcntl.LOCK_EX)
        try:
            stream.write("\n".join(lines) + "\n")
        finally:
            fcntl.flock(stream, fcntl.LOCK_UN)
