"""The exact engine: fine-tune from theta_0, read the probes, restore, repeat."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import Any, cast

import torch
from torch import nn

from eifbench.adapters.base import ModelAdapter
from eifbench.errors import InputError, RestoreError
from eifbench.finetune import FineTune
from eifbench.influence.groups import ProbeGroups
from eifbench.influence.snapshot import Snapshot, checksum
from eifbench.progress import Progress


def trainable_parameters(module: nn.Module, recipe: FineTune) -> list[nn.Parameter]:
    """The parameters the recipe fine-tunes (deduplicated, so tied weights appear once)."""
    return [p for name, p in module.named_parameters() if p.requires_grad and recipe.selects(name)]


@contextlib.contextmanager
def frozen_except(module: nn.Module, recipe: FineTune) -> Iterator[list[nn.Parameter]]:
    """Turn off ``requires_grad`` outside the recipe's filter (saves backward work); undo after."""
    frozen = [p for name, p in module.named_parameters() if p.requires_grad and not recipe.selects(name)]
    trainable = trainable_parameters(module, recipe)
    if not trainable:
        names = [name for name, p in module.named_parameters() if p.requires_grad][:3]
        raise InputError(
            f"FineTune(trainable={recipe.trainable!r}) selects no trainable parameter; "
            f"names look like {', '.join(names) or '(the model has none that require grad)'}."
        )
    for p in frozen:
        p.requires_grad_(False)
    try:
        yield trainable
    finally:
        for p in frozen:
            p.requires_grad_(True)


class FusedSGD:
    """Plain SGD applied inside backward.

    Each gradient is used and freed as soon as it is accumulated, so a full set of
    gradients never exists at once (peak memory ~ the model plus its snapshot).
    """

    def __init__(self, parameters: list[nn.Parameter], lr: float) -> None:
        self._handles = [p.register_post_accumulate_grad_hook(self._step) for p in parameters]
        self.lr = lr

    def _step(self, parameter: torch.Tensor) -> None:
        with torch.no_grad():
            parameter.add_(cast(torch.Tensor, parameter.grad), alpha=-self.lr)  # just accumulated: not None
        parameter.grad = None

    def close(self) -> None:
        """Remove the hooks, so later backward passes (other engines) are untouched."""
        for handle in self._handles:
            handle.remove()


def finetune_steps(
    adapter: ModelAdapter,
    links: Sequence[Any],
    recipe: FineTune,
    parameters: list[nn.Parameter],
    sgd: FusedSGD | None,
) -> torch.Tensor:
    """Run k steps on each prepared link, in order; returns a 0-d bool 'all losses finite'.

    No host sync happens here: the finiteness flag stays on the device.
    """
    finite = torch.ones((), dtype=torch.bool, device=adapter.device)
    # Adam starts fresh for every stimulus and keeps its state across the links of a chain
    optimizer = None if sgd else torch.optim.Adam(parameters, lr=recipe.lr)
    for link in links:
        for _ in range(recipe.steps):
            loss = adapter.loss(link)
            finite = finite & torch.isfinite(loss.detach())
            loss.backward()
            if optimizer is not None:
                optimizer.step()
                optimizer.zero_grad(set_to_none=True)
    return finite


def run_exact(
    adapter: ModelAdapter,
    stimuli: Sequence[Sequence[Any]],
    groups: ProbeGroups,
    baseline: torch.Tensor,
    recipe: FineTune,
    *,
    progress: Progress | None = None,
    paranoid: bool = False,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Exact EIF rows for prepared stimuli (each a sequence of prepared links).

    Each stimulus is read on its group's probes only; the other cells stay NaN, and a
    stimulus that reads nothing is not fine-tuned at all.

    Returns:
        ``(matrix, finite)``: influence of shape (n_stimuli, n_probes) on the device, and a
        bool tensor of shape (n_stimuli,) that is False where a loss went non-finite.

    """
    module = adapter.module
    rows = torch.full((len(stimuli), len(baseline)), float("nan"), dtype=baseline.dtype, device=baseline.device)
    finite_flags = torch.ones(len(stimuli), dtype=torch.bool, device=baseline.device)
    with frozen_except(module, recipe) as parameters:
        snapshot = Snapshot(module, parameters)
        reference = checksum(module) if paranoid else None
        sgd = FusedSGD(parameters, recipe.lr) if recipe.optimizer == "sgd" else None
        try:
            for index, links in enumerate(stimuli):
                group = groups.of_stimulus[index]
                if group >= 0:
                    columns = groups.columns[group]
                    try:
                        with torch.enable_grad():
                            finite_flags[index] = finetune_steps(adapter, links, recipe, parameters, sgd)
                        rows[index, columns] = adapter.readout(groups.prepared[group]) - baseline[columns]
                    finally:
                        snapshot.restore()
                        for p in parameters:
                            p.grad = None
                    if reference is not None and checksum(module) != reference:
                        raise RestoreError(
                            f"paranoid check: weights differ from theta_0 after stimulus {index}; this is a "
                            "bug in eifbench's restore, please report it with the model spec."
                        )
                if progress is not None:
                    progress(index + 1, len(stimuli))
        finally:
            if sgd is not None:
                sgd.close()
    return rows, finite_flags
