"""``eifbench.influence``: the one entry point to every engine, and its result."""

from __future__ import annotations

import contextlib
import sys
import time
import types
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from eifbench.adapters.base import ModelAdapter, PreparedProbes, precision_of, prepare_readout
from eifbench.errors import DeviceMemoryError, FineTuneDivergedError, InputError
from eifbench.finetune import FineTune
from eifbench.influence.batched import BatchPlan, batching_plan, check_batch_stimuli, run_exact_engine
from eifbench.influence.first_order import run_first_order
from eifbench.influence.groups import check_mask, only_rows, probe_groups
from eifbench.influence.guard import engine_state
from eifbench.influence.in_context import run_in_context
from eifbench.influence.layout import channels_last_while_running
from eifbench.progress import Progress
from eifbench.stats import FLOAT32_EPS
from eifbench.stimuli import Example, as_single, as_stimulus, links_of

ENGINES = ("exact", "first-order", "in-context")


@dataclass
class InfluenceResult:
    """An influence matrix and what produced it.

    Attributes:
        matrix: ``M[i, j] = EIF(stimulus i -> probe j)``; shape (n_stimuli, n_probes),
            float32 (float64 for a float64 model), on the CPU. Rows of stimuli whose
            fine-tune diverged are NaN.
        baseline: ``f_{theta_0}(probes)``; shape (n_probes,), same dtype, on the CPU.
        seconds: wall time of the call.
        engine: the engine name.
        finetune: the recipe (also recorded for in-context, where it is unused).
        failures: stimulus index -> reason, for rows that are NaN.
        reference: in context only, f(p | neutral context) of each cell, the read-out the
            matrix is measured against; shape (n_stimuli, n_probes). None for other engines.
        precision: the machine epsilon of the model's coarsest parameter dtype: the
            desiderata's float-noise floor scales with it (float32 1.2e-7, float64 2.2e-16,
            bfloat16 7.8e-3).
        batched: the exact engine's largest batch of stimuli fine-tuned together (each on
            its own adapter copy); 0 when they went one at a time.

    Cells left out by a ``mask`` are NaN in ``matrix``.

    """

    matrix: torch.Tensor
    baseline: torch.Tensor
    seconds: float
    engine: str
    finetune: FineTune
    failures: dict[int, str] = field(default_factory=dict)
    reference: torch.Tensor | None = None
    batched: int = 0
    precision: float = FLOAT32_EPS


def _out_of_memory(error: BaseException) -> bool:
    return isinstance(error, torch.OutOfMemoryError) or "out of memory" in str(error).lower()


def influence(
    model: ModelAdapter,
    stimuli: Iterable[Any],
    probes: Iterable[Any],
    engine: str = "exact",
    finetune: FineTune | None = None,
    *,
    mask: Any = None,
    progress: Progress | None = None,
    paranoid: bool = False,
    batch_stimuli: int | None = None,
    rows: Iterable[int] | None = None,
) -> InfluenceResult:
    """Compute the empirical influence of each stimulus on each probe.

    Args:
        model: a ModelAdapter (``eifbench.load_model(...)``, ``ClassifierAdapter``, ...).
        stimuli: n_s items: ``Example``, ``(x, y)``, ``Text`` or ``Chain``.
        probes: n_p items: ``Example`` or ``(x, y)``.
        engine: ``"exact"``, ``"first-order"`` or ``"in-context"`` (language models only).
        finetune: the recipe; ``FineTune()`` (1 SGD step, lr 1e-2) when ``None``.
        mask: optional boolean array (n_s, n_p): compute only these cells (the rest are
            NaN); a stimulus with no cell is not fine-tuned at all.
        progress: called as ``progress(done, total)`` after each stimulus.
        paranoid: checksum every parameter and buffer before the run and after every
            stimulus (exact engine).
        batch_stimuli: exact engine, recipes that train only LoRA adapters or whole Linear
            layers (the base frozen): how many stimuli to fine-tune at once, each on its own
            copy of the trained weights. None (default): the model's ``batch_stimuli`` arg if
            set, else batch automatically with B from a memory budget; 1: one at a time;
            B >= 2: at most B, and an error if the recipe cannot be batched.
        rows: compute only these stimuli's rows (the others are NaN, never fine-tuned).
            What stimuli share is still planned over the whole run (the in-context
            engine's neutral read-outs), so a run split across workers by rows gives the
            whole run's numbers bit for bit.

    Returns:
        An InfluenceResult with ``matrix`` of shape (n_s, n_p) and ``baseline`` (n_p,).
        The module's parameters, buffers, gradients and train/eval modes are as they were.

    Raises:
        InputError: empty lists, wrong types, shapes or labels, a bad mask, or an unknown engine.
        FineTuneDivergedError: every stimulus's loss went NaN/inf (single failures only
            NaN their row and are listed in ``failures``).
        DeviceMemoryError: the device ran out of memory; the message says what to reduce.

    """
    recipe = _recipe(finetune)
    if engine not in ENGINES:
        raise InputError(f"Unknown engine {engine!r}; choose one of {', '.join(ENGINES)}.")
    check_batch_stimuli(batch_stimuli)
    items = [as_stimulus(s) for s in _listed(stimuli, "stimuli")]
    probe_items = [_as_probe(p) for p in _listed(probes, "probes")]
    if not items:
        raise InputError("The stimulus list is empty: pass at least one stimulus.")
    reads = check_mask(mask, len(items), len(probe_items))
    cells = only_rows(reads, rows, len(items), len(probe_items))
    start = time.perf_counter()
    module = model.module
    layout = channels_last_while_running(module) if model.kind == "classifier" else contextlib.nullcontext()
    try:
        with engine_state(module, paranoid=paranoid), layout:
            batching = batch_stimuli if batch_stimuli is not None else getattr(model, "batch_stimuli", None)
            plan = batching_plan(model, recipe, batching) if engine == "exact" else None
            # a causal LM reads its probes' shared opening once, except where whole rows are read (batched
            # copies, first-order's per-probe terms): a baseline and the read-outs it is subtracted from are
            # always taken the same way
            whole_rows = plan is not None or engine == "first-order"
            readable = model.prepare_probes(probe_items) if whole_rows else prepare_readout(model, probe_items)
            baseline = model.readout(readable)
            if engine == "in-context":
                matrix, reference = run_in_context(model, items, probe_items, reads, cells, progress=progress)
                finite, batched = None, 0
            else:
                matrix, finite, batched = _run_engine(
                    model, engine, items, probe_items, readable, baseline, recipe, progress, paranoid, cells, plan
                )
                reference = None
    except RuntimeError as error:
        if _out_of_memory(error):
            raise DeviceMemoryError(
                f"{model.device} ran out of memory computing influence on {model.name}: pass fewer "
                "probes or a smaller probe batch (batch_tokens / batch_size), a narrower "
                "FineTune(trainable=...), or load the model with dtype=bfloat16."
            ) from error
        raise
    # a float64 model's matrix stays float64: its smallest influences are below float32's ulp
    kept = torch.float64 if baseline.dtype == torch.float64 else torch.float32
    matrix = matrix.detach().to(kept).cpu()
    failures = _failures(matrix, None if finite is None else finite.cpu(), cells)
    attempted = len(items) if cells is None else int(cells.any(axis=1).sum())
    if failures and len(failures) == attempted:
        raise FineTuneDivergedError(
            f"Every fine-tune diverged (loss NaN/inf) on {model.name} with {recipe.label()}; "
            "lower the lr or use optimizer='adam'. The weights were restored."
        )
    if failures:
        warnings.warn(
            f"{len(failures)} of {attempted} stimuli diverged (rows set to NaN): "
            + "; ".join(f"#{i}: {r}" for i, r in list(failures.items())[:3]),
            RuntimeWarning,
            stacklevel=2,
        )
    return InfluenceResult(
        matrix=matrix,
        baseline=baseline.detach().to(kept).cpu(),
        seconds=time.perf_counter() - start,
        engine=engine,
        finetune=recipe,
        failures=failures,
        reference=None if reference is None else reference.detach().to(kept).cpu(),
        batched=batched,
        precision=precision_of(model.module),
    )


def _recipe(finetune: Any) -> FineTune:
    if finetune is None:
        return FineTune()
    if not isinstance(finetune, FineTune):
        raise InputError(
            f"finetune must be eifbench.FineTune(steps=..., lr=..., optimizer=...); got {type(finetune).__name__}."
        )
    return finetune


def _listed(items: Iterable[Any], what: str) -> list[Any]:
    if isinstance(items, (str, bytes)) or not isinstance(items, Iterable):
        raise InputError(f"{what} must be a list of items; got {type(items).__name__}.")
    return list(items)


def _run_engine(
    model: ModelAdapter,
    engine: str,
    items: list[Any],
    probe_items: list[Example],
    prepared_probes: PreparedProbes,
    baseline: torch.Tensor,
    recipe: FineTune,
    progress: Progress | None,
    paranoid: bool,
    cells: np.ndarray | None,
    plan: BatchPlan | None,
) -> tuple[torch.Tensor, torch.Tensor | None, int]:
    """Matrix (n_s, n_p), finite-loss flags (n_s,) or None, and B, of a weight-changing engine.

    ``prepared_probes`` are whole rows when the first-order engine reads them (its per-probe terms).
    """
    prepared = [[model.prepare_stimulus(link) for link in links_of(s)] for s in items]
    if engine == "exact":
        # each mask pattern's probes prepared once, read the way the baseline was (batched copies: whole rows)
        groups = probe_groups(model, probe_items, cells, len(items), prepared_probes, share_openings=plan is None)
        matrix, finite, batched = run_exact_engine(
            model,
            prepared,
            groups,
            baseline,
            recipe,
            plan=plan,
            progress=progress,
            paranoid=paranoid,
        )
        return matrix, finite, batched
    dense = run_first_order(model, prepared, prepared_probes, recipe, progress=progress)
    if cells is not None:
        dense = dense.masked_fill(~torch.as_tensor(cells, device=dense.device), float("nan"))
    return dense, None, 0


def _as_probe(item: Any) -> Example:
    probe = as_single(item)
    if not isinstance(probe, Example):
        raise InputError("A probe must be Example(x, y) or a pair (x, y); Text has no completion to read out.")
    return probe


def _failures(matrix: torch.Tensor, finite: torch.Tensor | None, cells: np.ndarray | None) -> dict[int, str]:
    """Mark rows whose loss or read-out went non-finite, and NaN them entirely."""
    failures: dict[int, str] = {}
    computed = torch.ones_like(matrix, dtype=torch.bool) if cells is None else torch.as_tensor(cells)
    for i in range(matrix.shape[0]):
        if not bool(computed[i].any()):
            continue
        if finite is not None and not bool(finite[i]):
            failures[i] = "fine-tuning loss became NaN or inf; weights restored"
        elif not bool(torch.isfinite(matrix[i][computed[i]]).all()):
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
