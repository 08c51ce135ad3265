"""The exact engine, B stimuli at a time, for recipes that train only adapters (LoRA) or heads.

Same matrix as ``run_exact`` up to float rounding: every stimulus is fine-tuned from theta_0
on its own copy of the trainable weights, with its own optimizer state (Adam: fresh per
stimulus, kept across a chain's links), and read on its own probes. The frozen base is
shared, so a batch reads the base weights once per step instead of B times; the read-out
after fine-tuning is batched too (B copies x their probes, each row on its own copy).

Stimuli are batched with others of the same chain length (all copies take the same steps)
and similar size (less padding). B is ``batch_stimuli`` when given, else what a memory
budget allows, from the bytes autograd saves for one row (measured on the largest stimulus).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch

from eifbench.adapters.base import ModelAdapter, PreparedProbes
from eifbench.errors import InputError, RestoreError
from eifbench.finetune import FineTune
from eifbench.influence.copies import NotBatchable, PerCopyWeights
from eifbench.influence.exact import frozen_except, run_exact, trainable_parameters
from eifbench.influence.groups import ProbeGroups
from eifbench.influence.probe_rows import ProbeRows, probe_rows
from eifbench.influence.row_losses import RowLoss, row_loss_for
from eifbench.influence.snapshot import Snapshot, checksum
from eifbench.progress import Progress

MAX_COPIES = 64
CPU_BUDGET_OF_MODEL = 0.35  # on a CPU, B copies may add this fraction of the model's bytes
CPU_BUDGET_FLOOR = 64 * 2**20
GPU_BUDGET_OF_FREE = 0.5  # on a GPU, this fraction of the free memory
TRANSIENT_FACTOR = 1.5  # backward's gradients and a forward's temporaries on top of the saved tensors


@dataclass(frozen=True)
class BatchPlan:
    """How a run is batched: the per-copy layers, the row loss, B if the user fixed it."""

    copies: PerCopyWeights
    row_loss: RowLoss
    limit: int | None


def check_batch_stimuli(batch_stimuli: Any) -> None:
    """Refuse anything but None or a positive int."""
    if batch_stimuli is not None and (
        isinstance(batch_stimuli, bool) or not isinstance(batch_stimuli, int) or batch_stimuli < 1
    ):
        raise InputError(f"batch_stimuli must be None (automatic) or an int >= 1; got {batch_stimuli!r}.")


def batching_plan(adapter: ModelAdapter, recipe: FineTune, batch_stimuli: int | None) -> BatchPlan | None:
    """The batched plan for this model and recipe, or None for one stimulus at a time.

    Args:
        adapter: the model.
        recipe: the fine-tune recipe (its ``trainable`` filter decides what is copied).
        batch_stimuli: None: batch when possible, B from the memory budget; 1: never;
            B >= 2: batch at most B stimuli, and refuse a recipe that cannot be batched.

    Raises:
        InputError: ``batch_stimuli`` is not a positive int, or forces batching where it cannot work.

    """
    check_batch_stimuli(batch_stimuli)
    if batch_stimuli == 1:
        return None
    trainable = trainable_parameters(adapter.module, recipe)
    row_loss = row_loss_for(adapter)
    if row_loss is None:  # no recipe helps: the model kind itself has no batched loss
        if batch_stimuli is None:
            return None
        raise InputError(
            f"batch_stimuli={batch_stimuli} cannot batch {adapter.name}: {unbatched_kind(adapter)} has no batched "
            "loss, so it is fine-tuned one stimulus at a time whatever FineTune(trainable=...) trains; pass "
            "batch_stimuli=1 or leave it unset."
        )
    try:
        if not trainable:
            return None  # run_exact says what the filter missed
        return BatchPlan(PerCopyWeights(adapter.module, trainable), row_loss, batch_stimuli)
    except NotBatchable as why:
        if batch_stimuli is None:
            return None
        raise InputError(
            f"batch_stimuli={batch_stimuli} cannot batch {adapter.name} with {recipe.label()}: {why}. "
            "Train only LoRA adapters or Linear layers (FineTune(trainable=...)), or pass batch_stimuli=1."
        ) from None


def unbatched_kind(adapter: ModelAdapter) -> str:
    """``a text classifier (TextClassifierAdapter)``: what a model without a batched loss is, for messages."""
    kind = getattr(adapter, "kind", None)
    article = "an" if str(kind)[:1] in "aeiou" else "a"
    what = f"{article} {kind}" if kind is not None else "a model"
    return f"{what} ({type(adapter).__name__})"


def memory_budget(adapter: ModelAdapter) -> int:
    """Bytes the copies of one batch may take: a share of a GPU's free memory, of a CPU model's size."""
    device = adapter.device
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)  # once per run, before the loop
        return int(GPU_BUDGET_OF_FREE * free)
    model = sum(p.numel() * p.element_size() for p in adapter.module.parameters())
    return max(CPU_BUDGET_FLOOR, int(CPU_BUDGET_OF_MODEL * model))


def saved_bytes_per_row(adapter: ModelAdapter, plan: BatchPlan, link: Any) -> int:
    """Bytes autograd keeps for backward when one copy fine-tunes on ``link`` (one forward, no step)."""
    plan.copies.reset(1)
    shared = {t.untyped_storage().data_ptr() for t in (*adapter.module.parameters(), *adapter.module.buffers())}
    seen: dict[int, int] = {}

    def pack(tensor: torch.Tensor) -> torch.Tensor:
        storage = tensor.untyped_storage()
        if storage.data_ptr() not in shared:
            seen[storage.data_ptr()] = storage.nbytes()
        return tensor

    with torch.enable_grad(), torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
        plan.row_loss.losses(adapter, plan.row_loss.stack(adapter, [link]))
    return sum(seen.values())


def batch_size(adapter: ModelAdapter, plan: BatchPlan, stimuli: Sequence[Sequence[Any]], recipe: FineTune) -> int:
    """B: the user's, else as many copies as the memory budget holds (1..64)."""
    if plan.limit is not None:
        return plan.limit
    largest = max((link for links in stimuli for link in links), key=plan.row_loss.size)
    state = plan.copies.bytes_per_copy * (4 if recipe.optimizer == "adam" else 2)  # weights, grads, Adam's moments
    per_copy = state + TRANSIENT_FACTOR * saved_bytes_per_row(adapter, plan, largest)
    return max(1, min(MAX_COPIES, int(memory_budget(adapter) // max(per_copy, 1))))


def batches(stimuli: Sequence[Sequence[Any]], groups: ProbeGroups, plan: BatchPlan, size: int) -> list[list[int]]:
    """Stimulus indices in batches of at most ``size``, each of one chain length, by work."""
    active = [i for i in range(len(stimuli)) if groups.of_stimulus[i] >= 0]
    active.sort(key=lambda i: (len(stimuli[i]), sum(plan.row_loss.size(link) for link in stimuli[i])))
    out: list[list[int]] = []
    for i in active:
        if out and len(out[-1]) < size and len(stimuli[out[-1][0]]) == len(stimuli[i]):
            out[-1].append(i)
        else:
            out.append([i])
    return out


def finetune_copies(
    adapter: ModelAdapter, plan: BatchPlan, links: Sequence[Sequence[Any]], recipe: FineTune
) -> torch.Tensor:
    """Take k steps on each link position for B copies at once; returns (B,) 'all losses finite' flags.

    ``links[c]`` are copy c's prepared links (all the same count). No host sync happens here.
    """
    stacks = plan.copies.reset(len(links))
    finite = torch.ones(len(links), dtype=torch.bool, device=adapter.device)
    optimizer = torch.optim.Adam(stacks, lr=recipe.lr) if recipe.optimizer == "adam" else None
    for position in range(len(links[0])):
        rows = plan.row_loss.stack(adapter, [copy_links[position] for copy_links in links])
        for _ in range(recipe.steps):
            with torch.enable_grad():
                losses = plan.row_loss.losses(adapter, rows)
                finite &= torch.isfinite(losses.detach())
                # a sum of per-row losses: each copy's gradient is its own stimulus's
                grads = torch.autograd.grad(losses.sum(), stacks, allow_unused=True)
            pairs = [(s, g) for s, g in zip(stacks, grads) if g is not None]
            if optimizer is None:
                with torch.no_grad():
                    torch._foreach_add_([s for s, _ in pairs], [g for _, g in pairs], alpha=-recipe.lr)
            else:
                for stack, grad in pairs:
                    stack.grad = grad
                optimizer.step()
                optimizer.zero_grad(set_to_none=True)
    return finite


def read_copies(adapter: ModelAdapter, plan: BatchPlan, table: ProbeRows) -> torch.Tensor:
    """Every copy's read-out on its probes, in ``table``'s row order; shape (n,) on the device."""
    values = []
    for batch, copy_of_row in zip(table.prepared.batches, table.copy_of_rows):
        plan.copies.rows = copy_of_row
        order = torch.arange(copy_of_row.shape[0], device=copy_of_row.device)
        values.append(adapter.readout(PreparedProbes((batch,), order, copy_of_row.shape[0])))
    plan.copies.rows = None
    return torch.cat(values)


def run_batched(
    adapter: ModelAdapter,
    plan: BatchPlan,
    stimuli: Sequence[Sequence[Any]],
    groups: ProbeGroups,
    baseline: torch.Tensor,
    recipe: FineTune,
    *,
    progress: Progress | None = None,
    paranoid: bool = False,
) -> tuple[torch.Tensor, torch.Tensor, int]:
    """Exact EIF rows, B stimuli per forward/backward (see ``run_exact`` for the contract).

    Returns:
        ``(matrix, finite, B)``: influence (n_stimuli, n_probes) and finite-loss flags
        (n_stimuli,), both on the device, and the largest batch used.

    Raises:
        BatchingError: the model turned out to reshape its batch before a copied layer.

    """
    module = adapter.module
    rows = torch.full((len(stimuli), len(baseline)), float("nan"), dtype=baseline.dtype, device=baseline.device)
    finite_flags = torch.ones(len(stimuli), dtype=torch.bool, device=baseline.device)
    tables: dict[tuple[int, ...], ProbeRows] = {}
    largest = 0
    with frozen_except(module, recipe), plan.copies.installed():
        # eval mode leaves buffers alone; restored anyway, as run_exact does
        buffers = Snapshot(module, []) if next(module.buffers(), None) is not None else None
        reference = checksum(module) if paranoid else None
        size = batch_size(adapter, plan, stimuli, recipe) if any(g >= 0 for g in groups.of_stimulus) else 1
        done = len(stimuli) - sum(g >= 0 for g in groups.of_stimulus)
        for chunk in batches(stimuli, groups, plan, size):
            key = tuple(groups.of_stimulus[i] for i in chunk)
            if key not in tables:
                tables[key] = probe_rows(adapter, groups, key, plan.row_loss.batch_rows)
            table = tables[key]
            index = torch.tensor(chunk, device=baseline.device)
            try:
                finite_flags[index] = finetune_copies(adapter, plan, [stimuli[i] for i in chunk], recipe)
                values = read_copies(adapter, plan, table)
            finally:
                if buffers is not None:
                    buffers.restore()
            rows[index[table.copy], table.column] = values - baseline[table.column]
            largest = max(largest, len(chunk))
            if reference is not None and checksum(module) != reference:
                raise RestoreError(
                    "paranoid check: weights differ from theta_0 after a batch of stimuli; this is a bug in "
                    "eifbench's batched engine, please report it with the model spec."
                )
            done += len(chunk)
            if progress is not None:
                progress(done, len(stimuli))
    return rows, finite_flags, largest


def run_exact_engine(
    adapter: ModelAdapter,
    stimuli: Sequence[Sequence[Any]],
    groups: ProbeGroups,
    baseline: torch.Tensor,
    recipe: FineTune,
    *,
    plan: BatchPlan | None,
    progress: Progress | None = None,
    paranoid: bool = False,
) -> tuple[torch.Tensor, torch.Tensor, int]:
    """The exact engine: batched where ``plan`` (``batching_plan``, made once by the caller) says, else one at a time.

    Returns:
        ``(matrix, finite, B)`` as ``run_batched``; B is 0 when stimuli went one at a time.

    """
    if plan is not None:
        try:
            return run_batched(adapter, plan, stimuli, groups, baseline, recipe, progress=progress, paranoid=paranoid)
        except NotBatchable as why:  # nothing changed: the model's weights are only ever read
            if plan.limit is not None:
                raise InputError(
                    f"batch_stimuli={plan.limit} cannot batch {adapter.name}: {why}; pass batch_stimuli=1."
                ) from None
    matrix, finite = run_exact(adapter, stimuli, groups, baseline, recipe, progress=progress, paranoid=paranoid)
    return matrix, finite, 0
