"""Influence results built by hand on a real task's layout: learners whose right answer is known."""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import numpy as np
import torch

import eifbench
from eifbench.influence import InfluenceResult
from eifbench.tasks.base import Run, Task

Fill = Callable[[str, Run], np.ndarray]


def results(task: Task, fill: Fill) -> dict[str, InfluenceResult]:
    """One InfluenceResult per run: ``fill(name, run)`` gives the full (n_s, n_p) matrix,
    masked-out cells become NaN, and every read-out before is 0 (float noise ~ 7.6e-6)."""
    out = {}
    for name, run in task.runs.items():
        matrix = np.asarray(fill(name, run), dtype=np.float64)
        if run.mask is not None:
            matrix = np.where(run.mask, matrix, np.nan)
        out[name] = InfluenceResult(
            matrix=torch.tensor(matrix, dtype=torch.float32),
            baseline=torch.zeros(len(run.probes)),
            seconds=0.0,
            engine="exact",
            finetune=eifbench.FineTune(),
        )
    return out


def shared_shift(amount: float = 0.7) -> Fill:
    """Every probe moves by the same amount, whatever was trained."""
    return lambda name, run: np.full((len(run.stimuli), len(run.probes)), amount)


def float_noise(scale: float = 1e-7, seed: int = 0) -> Fill:
    """Nothing is learned: every cell is float noise far below the engine's noise floor."""
    rng = np.random.default_rng(seed)
    return lambda name, run: scale * rng.standard_normal((len(run.stimuli), len(run.probes)))


def zeros() -> Fill:
    """Nothing moves at all."""
    return lambda name, run: np.zeros((len(run.stimuli), len(run.probes)))


def same_probe(self_value: float = 2.0) -> Fill:
    """An ideal sparse learner: a stimulus raises exactly the probe that states it, nothing else.

    A stimulus "states" a probe when the probe, read as a statement, is the stimulus's text.
    """

    def fill(name: str, run: Run) -> np.ndarray:
        texts = [_text(p) for p in run.probes]
        m = np.zeros((len(run.stimuli), len(run.probes)))
        for i, s in enumerate(run.stimuli):
            for j, t in enumerate(texts):
                if _text(s) == t:
                    m[i, j] = self_value
        return m

    return fill


def _text(item: object) -> str:
    if isinstance(item, eifbench.Chain):
        return " ".join(_text(link) for link in item.links)
    if isinstance(item, eifbench.Text):
        return item.text.rstrip(".")
    if isinstance(item, eifbench.Example) and isinstance(item.x, str):
        return f"{item.x}{item.y}"
    if isinstance(item, eifbench.Example):
        return hashlib.sha1(item.x.numpy().tobytes()).hexdigest() + f"/{item.y}"
    return repr(item)
