"""First-order influence for classifiers without materializing per-sample gradients.

For a Linear layer applied once per sample, the per-sample gradient is an outer product
``g_i = d_i a_i^T`` (d: gradient at the output, a: the input), so
``<g_i, g_j> = (d_i . d_j)(a_i . a_j)``: the Gram matrix costs O(n^2 (in + out)) instead of
O(n^2 in out). Conv2d gradients are formed per sample from unfolded patches (they are
small). One batched forward/backward yields every a_i and d_i, because in eval mode
sample i's read-out depends on sample i alone. Any other trainable parameter -> None, and
the caller falls back to the generic per-sample path.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import cast

import torch
import torch.nn.functional as F
from torch import nn

from eifbench.adapters.base import widened


@dataclass
class GradientFeatures:
    """What the Gram matrix needs, for a batch of n samples."""

    linear: list[tuple[torch.Tensor, torch.Tensor, bool]] = field(default_factory=list)  # (a (n, in), d (n, out), bias)
    explicit: list[torch.Tensor] = field(default_factory=list)  # per-sample conv gradients, (n, P_layer)


def _supported(module: nn.Module) -> list[nn.Linear | nn.Conv2d] | None:
    layers: list[nn.Linear | nn.Conv2d] = []
    covered: set[int] = set()
    for m in module.modules():
        own = [p for p in m.parameters(recurse=False) if p.requires_grad]
        if not own:
            continue
        if isinstance(m, nn.Linear) or (
            # padding="same"/"valid" is a string, which unfold does not take: the generic path has it
            isinstance(m, nn.Conv2d) and m.groups == 1 and m.padding_mode == "zeros" and not isinstance(m.padding, str)
        ):
            layers.append(m)
            covered.update(id(p) for p in own)
        else:
            return None
    trainable = [p for p in module.parameters() if p.requires_grad]
    return layers if all(id(p) in covered for p in trainable) else None


def gradient_features(module: nn.Module, x: torch.Tensor, y: torch.Tensor) -> GradientFeatures | None:
    """Per-sample gradient features of ``log p(y|x)`` for x (n, ...), y (n,); None if unsupported."""
    layers = _supported(module)
    if layers is None:
        return None
    inputs: dict[nn.Module, list[torch.Tensor]] = {m: [] for m in layers}
    outputs: dict[nn.Module, list[torch.Tensor]] = {m: [] for m in layers}

    def remember(m: nn.Module, args: tuple[torch.Tensor, ...], out: torch.Tensor) -> None:
        inputs[m].append(args[0].detach())
        out.retain_grad()
        outputs[m].append(out)

    handles = [m.register_forward_hook(remember) for m in layers]
    try:
        with torch.enable_grad():
            logp = F.log_softmax(widened(module(x)), dim=-1)
            total = logp.gather(1, y[:, None]).sum()
            total.backward(inputs=[o for outs in outputs.values() for o in outs])
    finally:
        for h in handles:
            h.remove()
    features = GradientFeatures()
    for m in layers:
        if len(inputs[m]) != 1:  # applied more than once per forward: not an outer product
            return None
        # backward(inputs=outputs) above gave every retained output a grad
        a, d = inputs[m][0], cast(torch.Tensor, outputs[m][0].grad).detach()
        if isinstance(m, nn.Linear):
            if a.dim() != 2:
                return None
            features.linear.append((a.float(), d.float(), m.bias is not None and m.bias.requires_grad))
            continue
        padding = cast(tuple[int, ...], m.padding)  # _supported refused string paddings
        patches = F.unfold(a, m.kernel_size, dilation=m.dilation, padding=padding, stride=m.stride)
        per_sample = torch.einsum("nop,nkp->nok", d.flatten(2), patches).flatten(1)
        parts = [per_sample] if m.weight.requires_grad else []
        if m.bias is not None and m.bias.requires_grad:
            parts.append(d.sum(dim=(2, 3)))
        features.explicit.append(torch.cat(parts, dim=1).float())
    return features


def gram(left: GradientFeatures, right: GradientFeatures) -> torch.Tensor:
    """``<g_i, g_j>`` for every left sample i and right sample j; shape (n_left, n_right)."""
    total = None
    for (a1, d1, bias), (a2, d2, _) in zip(left.linear, right.linear):
        dd = d1 @ d2.T
        term = dd * (a1 @ a2.T) + (dd if bias else 0.0)
        total = term if total is None else total + term
    for g1, g2 in zip(left.explicit, right.explicit):
        term = g1 @ g2.T
        total = term if total is None else total + term
    assert total is not None
    return total
