"""The first-order engine: ``EIF(s -> p) ~ lr * k * <grad f(p), -grad L(s)>``.

Exact to first order in lr for plain SGD (the NTK regime). Classifiers built of Linear and
Conv2d layers use the Gram-matrix identity of ``gradient_kernel``; other classifiers use
per-sample gradients from ``torch.func`` (grad + vmap); causal LMs use one backward per
item, with probe gradients held in chunks under a memory budget.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

import torch
from torch import nn

from eifbench.adapters.base import ModelAdapter, PreparedProbes, widened
from eifbench.errors import InputError
from eifbench.finetune import FineTune
from eifbench.influence.exact import frozen_except
from eifbench.influence.gradient_kernel import gradient_features, gram
from eifbench.progress import Progress

GRADIENT_BUDGET_BYTES = 1 << 30


def _flat_grad(value: torch.Tensor, parameters: list[nn.Parameter]) -> torch.Tensor:
    grads = torch.autograd.grad(value, parameters, allow_unused=True)
    return torch.cat(
        [(g if g is not None else torch.zeros_like(p)).reshape(-1).float() for g, p in zip(grads, parameters)]
    )


def _classifier_probe_grads(
    adapter: Any, parameters: dict[str, torch.Tensor], x: torch.Tensor, y: torch.Tensor
) -> torch.Tensor:
    """Per-sample gradients of log p(y|x) w.r.t. ``parameters``; shape (b, P)."""
    from torch.func import functional_call, grad, vmap

    module = adapter.module
    constants = {n: t for n, t in list(module.named_parameters()) + list(module.named_buffers()) if n not in parameters}

    def readout(params: dict[str, torch.Tensor], xi: torch.Tensor, yi: torch.Tensor) -> torch.Tensor:
        logits = functional_call(module, {**params, **constants}, (xi[None],))
        return torch.log_softmax(widened(logits), dim=-1)[0].gather(0, yi[None])[0]

    per_sample = vmap(grad(readout), in_dims=(None, 0, 0))(parameters, x, y)
    return torch.cat([g.reshape(g.shape[0], -1) for g in per_sample.values()], dim=1)


def _run_classifier_kernel(
    adapter: Any, stimuli: Sequence[Sequence[Any]], probes: PreparedProbes, recipe: FineTune
) -> torch.Tensor | None:
    """The Gram-matrix fast path (Linear/Conv2d nets); None when the net has other layers."""
    module = adapter.module
    link_x = torch.cat([x for links in stimuli for x, _ in links])
    link_y = torch.cat([y for links in stimuli for _, y in links])
    with frozen_except(module, recipe):
        stimulus_features = gradient_features(module, link_x, link_y)
        if stimulus_features is None:
            return None
        columns = []
        for x, y in probes.batches:
            probe_features = gradient_features(module, x, y)
            if probe_features is None:
                return None
            columns.append(gram(stimulus_features, probe_features))
    per_link = torch.cat(columns, dim=1)
    owner = torch.tensor([i for i, links in enumerate(stimuli) for _ in links], device=per_link.device)
    matrix = torch.zeros(len(stimuli), per_link.shape[1], device=per_link.device).index_add_(0, owner, per_link)
    out = torch.empty_like(matrix)
    out[:, probes.order.to(matrix.device)] = matrix
    return out * (recipe.lr * recipe.steps)


def _run_classifier(
    adapter: Any, stimuli: Sequence[Sequence[Any]], probes: PreparedProbes, recipe: FineTune
) -> torch.Tensor:
    fast = _run_classifier_kernel(adapter, stimuli, probes, recipe)
    if fast is not None:
        return fast
    module = adapter.module
    with frozen_except(module, recipe):
        params = {n: p.detach() for n, p in module.named_parameters() if p.requires_grad}
    n_params = sum(p.numel() for p in params.values())
    chunk = max(1, GRADIENT_BUDGET_BYTES // (4 * n_params))
    # -grad L(s) = grad log p(y_s | x_s) for a one-example cross-entropy, summed over links
    link_x = torch.cat([x for links in stimuli for x, _ in links])
    link_y = torch.cat([y for links in stimuli for _, y in links])
    owner = torch.tensor([i for i, links in enumerate(stimuli) for _ in links], device=link_x.device)
    stimulus_grads = torch.zeros(len(stimuli), n_params, device=link_x.device)
    for start in range(0, len(link_y), chunk):
        g = _classifier_probe_grads(adapter, params, link_x[start : start + chunk], link_y[start : start + chunk])
        stimulus_grads.index_add_(0, owner[start : start + chunk], g)
    columns = []
    for x, y in probes.batches:
        for start in range(0, len(y), chunk):
            g = _classifier_probe_grads(adapter, params, x[start : start + chunk], y[start : start + chunk])
            columns.append(stimulus_grads @ g.T)
    matrix = torch.cat(columns, dim=1)
    out = torch.empty_like(matrix)
    out[:, probes.order.to(matrix.device)] = matrix
    return out * (recipe.lr * recipe.steps)


def _run_generic(
    adapter: ModelAdapter,
    stimuli: Sequence[Sequence[Any]],
    probes: PreparedProbes,
    recipe: FineTune,
    progress: Progress | None,
) -> torch.Tensor:
    module = adapter.module
    with frozen_except(module, recipe) as parameters, torch.enable_grad():
        n_params = sum(p.numel() for p in parameters)
        chunk = max(1, GRADIENT_BUDGET_BYTES // (4 * n_params))
        descent = []
        for links in stimuli:
            # a stimulus has at least one link, so the sum is a tensor, never the start value 0
            g = cast(torch.Tensor, sum(_flat_grad(-adapter.loss(link), parameters) for link in links))
            descent.append(g)
            if progress is not None:
                progress(len(descent), len(stimuli))
        matrix = torch.zeros(len(stimuli), probes.count, device=adapter.device)
        descent_matrix = torch.stack(descent)  # (n_stimuli, P)
        indices: list[int] = []
        block: list[torch.Tensor] = []
        for index, term in adapter.probe_terms(probes):
            indices.append(index)
            block.append(_flat_grad(term, parameters))
            if len(block) == chunk or len(indices) == probes.count:
                matrix[:, indices[-len(block) :]] = descent_matrix @ torch.stack(block).T
                block = []
    return matrix * (recipe.lr * recipe.steps)


def run_first_order(
    adapter: ModelAdapter,
    stimuli: Sequence[Sequence[Any]],
    probes: PreparedProbes,
    recipe: FineTune,
    *,
    progress: Progress | None = None,
) -> torch.Tensor:
    """First-order EIF estimate; shape (n_stimuli, n_probes), on the device."""
    if recipe.optimizer != "sgd":
        raise InputError("first-order is the SGD estimate; use optimizer='sgd' or engine='exact'.")
    if adapter.kind == "classifier":
        result = _run_classifier(adapter, stimuli, probes, recipe)
        if progress is not None:
            progress(len(stimuli), len(stimuli))
        return result
    return _run_generic(adapter, stimuli, probes, recipe, progress)
