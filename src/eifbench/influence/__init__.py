"""``eifbench.influence``: the one entry point to every engine, and its result."""

from __future__ import annotations

import contextlib
import sys
import time
import types
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from eifbench.adapters.base import ModelAdapter
from eifbench.errors import DeviceMemoryError, FineTuneDivergedError, InputError
from eifbench.finetune import FineTune
from eifbench.influence.exact import run_exact
from eifbench.influence.first_order import run_first_order
from eifbench.influence.in_context import run_in_context
from eifbench.influence.layout import channels_last_while_running
from eifbench.progress import Progress
from eifbench.stimuli import Example, as_single, as_stimulus, links_of

ENGINES = ("exact", "first-order", "in-context")


@dataclass
class InfluenceResult:
    """An influence matrix and what produced it.

    Attributes:
        matrix: ``M[i, j] = EIF(stimulus i -> probe j)``; shape (n_stimuli, n_probes),
            float32, on the CPU. Rows of stimuli whose fine-tune diverged are NaN.
        baseline: ``f_{theta_0}(probes)``; shape (n_probes,), float32, on the CPU.
        seconds: wall time of the call.
        engine: the engine name.
        finetune: the recipe (also recorded for in-context, where it is unused).
        failures: stimulus index -> reason, for rows that are NaN.

    """

    matrix: torch.Tensor
    baseline: torch.Tensor
    seconds: float
    engine: str
    finetune: FineTune
    failures: dict[int, str] = field(default_factory=dict)


def _out_of_memory(error: BaseException) -> bool:
    return isinstance(error, torch.OutOfMemoryError) or "out of memory" in str(error).lower()


def influence(
    model: ModelAdapter,
    stimuli: Sequence[Any],
    probes: Sequence[Any],
    engine: str = "exact",
    finetune: FineTune | None = None,
    *,
    progress: Progress | None = None,
    paranoid: bool = False,
) -> InfluenceResult:
    """Compute the empirical influence of each stimulus on each probe.

    Args:
        model: a ModelAdapter (``eifbench.load_model(...)``, ``ClassifierAdapter``, ...).
        stimuli: n_s items: ``Example``, ``(x, y)``, ``Text`` or ``Chain``.
        probes: n_p items: ``Example`` or ``(x, y)``.
        engine: ``"exact"``, ``"first-order"`` or ``"in-context"`` (causal LMs only).
        finetune: the recipe; ``FineTune()`` (1 SGD step, lr 1e-2) when ``None``.
        progress: called as ``progress(done, total)`` after each stimulus.
        paranoid: check a checksum of all weights after every stimulus (exact engine).

    Returns:
        An InfluenceResult with ``matrix`` of shape (n_s, n_p) and ``baseline`` (n_p,).
        The model's weights are bit-identical before and after the call.

    Raises:
        InputError: empty lists, wrong types, shapes or labels, or an unknown engine.
        FineTuneDivergedError: every stimulus's loss went NaN/inf (single failures only
            NaN their row and are listed in ``failures``).
        DeviceMemoryError: the device ran out of memory; the message says what to reduce.

    """
    recipe = finetune if finetune is not None else FineTune()
    if engine not in ENGINES:
        raise InputError(f"Unknown engine {engine!r}; choose one of {', '.join(ENGINES)}.")
    if len(stimuli) == 0:
        raise InputError("The stimulus list is empty: pass at least one stimulus.")
    start = time.perf_counter()
    items = [as_stimulus(s) for s in stimuli]
    probe_items = [_as_probe(p) for p in probes]
    prepared_probes = model.prepare_probes(probe_items)
    layout = channels_last_while_running(model.module) if model.kind == "classifier" else contextlib.nullcontext()
    try:
        with layout:
            baseline, matrix, finite = _run_engine(
                model, engine, items, probe_items, prepared_probes, recipe, progress, paranoid
            )
    except RuntimeError as error:
        if _out_of_memory(error):
            raise DeviceMemoryError(
                f"{model.device} ran out of memory computing influence on {model.name}: pass fewer "
                "probes or a smaller probe batch (batch_tokens / batch_size), a narrower "
                "FineTune(trainable=...), or load the model with dtype=bfloat16."
            ) from error
        raise
    matrix = matrix.detach().float().cpu()
    failures = _failures(matrix, None if finite is None else finite.cpu())
    if failures and len(failures) == len(items):
        raise FineTuneDivergedError(
            f"Every fine-tune diverged (loss NaN/inf) on {model.name} with {recipe.label()}; "
            "lower the lr or use optimizer='adam'. The weights were restored."
        )
    if failures:
        warnings.warn(
            f"{len(failures)} of {len(items)} stimuli diverged (rows set to NaN): "
            + "; ".join(f"#{i}: {r}" for i, r in list(failures.items())[:3]),
            RuntimeWarning,
            stacklevel=2,
        )
    return InfluenceResult(
        matrix=matrix,
        baseline=baseline.detach().float().cpu(),
        seconds=time.perf_counter() - start,
        engine=engine,
        finetune=recipe,
        failures=failures,
    )


def _run_engine(
    model: ModelAdapter,
    engine: str,
    items: list[Any],
    probes: list[Example],
    prepared_probes: Any,
    recipe: FineTune,
    progress: Progress | None,
    paranoid: bool,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """Baseline (n_p,), matrix (n_s, n_p) and the finite-loss flags (n_s,) or None."""
    baseline = model.readout(prepared_probes)
    if engine == "in-context":
        return baseline, run_in_context(model, items, probes, baseline, progress=progress), None
    prepared = [[model.prepare_stimulus(link) for link in links_of(s)] for s in items]
    if engine == "exact":
        matrix, finite = run_exact(
            model, prepared, prepared_probes, baseline, recipe, progress=progress, paranoid=paranoid
        )
        return baseline, matrix, finite
    return baseline, run_first_order(model, prepared, prepared_probes, recipe, progress=progress), None


def _as_probe(item: Any) -> Example:
    probe = as_single(item)
    if not isinstance(probe, Example):
        raise InputError("A probe must be Example(x, y) or a pair (x, y); Text has no completion to read out.")
    return probe


def _failures(matrix: torch.Tensor, finite: torch.Tensor | None) -> dict[int, str]:
    """Mark rows whose loss or read-out went non-finite, and NaN them entirely."""
    failures: dict[int, str] = {}
    for i in range(matrix.shape[0]):
        if finite is not None and not bool(finite[i]):
            failures[i] = "fine-tuning loss became NaN or inf; weights restored"
        elif not bool(torch.isfinite(matrix[i]).all()):
            failures[i] = "read-out became NaN or inf after fine-tuning; weights restored"
    for i in failures:
        matrix[i] = float("nan")
    return failures


class _CallableModule(types.ModuleType):
    """Make ``eifbench.influence`` both this package and the function.

    Importing the package rebinds the attribute on ``eifbench``, so the package itself
    forwards calls to ``influence``.
    """

    def __call__(self, *args: Any, **kwargs: Any) -> InfluenceResult:
        return influence(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
