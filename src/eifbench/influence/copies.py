"""Per-stimulus copies of a recipe's trainable layers, over one shared frozen base.

When a recipe trains only LoRA factors (PEFT ``lora.Linear``) or whole ``nn.Linear``
layers (a classifier's head), B stimuli can be fine-tuned in one forward/backward: each
gets its own copy of those weights, and the frozen rest of the model is shared and read
once per batch. For the run, each such layer's forward is replaced by one that gives row
``i`` of its input the weights of copy ``rows[i]``: a batched matmul over stacked copies
(``(B, r, in)`` and ``(B, out, r)`` for LoRA). A row touches no other copy, so the gradient
of a sum of per-row losses is, copy by copy, the gradient of that copy's own loss.

The model's own parameters are only read: the copies are fresh tensors, so nothing needs
restoring but the forwards, which ``installed()`` puts back on the way out.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator, Sequence
from typing import Any, cast

import torch
from torch import nn

LORA_MODULE = "peft.tuners.lora.layer"


class NotBatchable(Exception):
    """The model and recipe cannot be fine-tuned in batches; the message says why."""


class BatchingError(NotBatchable):
    """A copied layer saw an input whose rows are not the batch's rows (it flattens the batch)."""


class CopyMatmul(torch.autograd.Function):
    """``y[c] = x[c] @ w[c]^T`` over stacked copies, with gradients laid out as ``F.linear``'s.

    bmm's own backward takes the weight gradient as ``x^T @ grad`` (then transposed); this
    one takes ``grad^T @ x`` as ``F.linear`` does, which gives each copy, bit for bit, the
    gradient the one-at-a-time engine gets (measured on CPU; float rounding otherwise).
    """

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        """``x`` (C, T, in) times each copy's ``weight`` (C, out, in), transposed: (C, T, out)."""
        ctx.save_for_backward(x, weight)
        return torch.bmm(x, weight.transpose(1, 2))

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        """Gradients of ``x`` and ``weight``, each None when autograd does not need it."""
        x, weight = ctx.saved_tensors
        grad_x = torch.bmm(grad, weight) if ctx.needs_input_grad[0] else None
        grad_weight = torch.bmm(grad.transpose(1, 2), x) if ctx.needs_input_grad[1] else None
        return grad_x, grad_weight


def row_matmul(owner: PerCopyWeights, x: torch.Tensor, stack: torch.Tensor) -> torch.Tensor:
    """Each row of ``x`` (R, T, in) times its copy of ``stack`` (C, out, in), transposed: (R, T, out)."""
    if owner.rows is None:
        # torch leaves Function.apply unannotated (untyped *args); it returns forward's tensor
        return cast(torch.Tensor, CopyMatmul.apply(x, stack))  # type: ignore[no-untyped-call]
    return torch.bmm(x, stack.index_select(0, owner.rows).transpose(1, 2))


class _CopiedLayer:
    """One layer with per-copy tensors ("slots"); subclasses give its batched forward."""

    def __init__(self, module: nn.Module, slots: list[torch.Tensor], trainable: set[int]) -> None:
        self.module = module
        self.slots = slots
        self.trains = [id(t) in trainable for t in slots]

    def forward(self, owner: PerCopyWeights, stacks: list[torch.Tensor], x: torch.Tensor, *args: Any, **kw: Any) -> Any:
        raise NotImplementedError


class _LoraLinear(_CopiedLayer):
    """A PEFT ``lora.Linear``: ``base(x) + B_c (A_c dropout(x)) * scaling`` for each row's copy c."""

    def __init__(self, module: Any, adapter: str, trainable: set[int]) -> None:  # a peft lora.Linear
        super().__init__(module, [module.lora_A[adapter].weight, module.lora_B[adapter].weight], trainable)
        self.adapter = adapter
        self.variant_keys = tuple(getattr(sys.modules[LORA_MODULE], "VARIANT_KWARG_KEYS", ()))

    def forward(self, owner: PerCopyWeights, stacks: list[torch.Tensor], x: torch.Tensor, *args: Any, **kw: Any) -> Any:
        layer: Any = self.module  # a peft lora.Linear (peft is imported lazily, so duck-typed)
        for key in self.variant_keys:  # as peft does: never passed on to the base layer
            kw.pop(key, None)
        result = layer.base_layer(x, *args, **kw)
        a, b = stacks  # (C, r, in), (C, out, r)
        cast = getattr(layer, "_cast_input_dtype", lambda t, dtype: t.to(dtype))
        h = layer.lora_dropout[self.adapter](cast(x, a.dtype))
        flat = h.reshape(owner.check_rows(h), -1, h.shape[-1])
        delta = row_matmul(owner, row_matmul(owner, flat, a), b) * layer.scaling[self.adapter]
        return (result + delta.reshape(result.shape)).to(result.dtype)


class _Linear(_CopiedLayer):
    """A whole ``nn.Linear`` (weight and, if any, bias) copied per row."""

    def __init__(self, module: nn.Linear, trainable: set[int]) -> None:
        slots = [module.weight] + ([module.bias] if module.bias is not None else [])
        super().__init__(module, slots, trainable)

    def forward(self, owner: PerCopyWeights, stacks: list[torch.Tensor], x: torch.Tensor, *args: Any, **kw: Any) -> Any:
        weight = stacks[0]  # (C, out, in)
        copies, out, width = weight.shape
        rows = owner.check_rows(x)
        flat = x.reshape(rows, -1, width)  # (R, T, in)
        if owner.rows is None or width <= flat.shape[1] * copies:  # gathering R weight copies is smaller
            y = row_matmul(owner, flat, weight)
        else:  # a wide layer and few rows per copy (a classifier head): every copy's output, then pick
            every = torch.matmul(flat, weight.reshape(copies * out, width).T).view(rows, flat.shape[1], copies, out)
            pick = owner.rows.view(rows, 1, 1, 1).expand(rows, flat.shape[1], 1, out)
            y = every.gather(2, pick).squeeze(2)
        if len(stacks) > 1:
            y = y + owner.weights(stacks[1])[:, None, :]
        return y.reshape(*x.shape[:-1], out)


def _lora_layer(module: Any, pending: dict[int, torch.Tensor], names: dict[int, str]) -> _CopiedLayer | None:
    """The copied form of a PEFT LoRA layer whose factors are trained, None if they are not.

    ``module`` is a peft ``LoraLayer``, duck-typed: peft is imported lazily, only if in use.
    """
    lora = sys.modules[LORA_MODULE]
    owned = [p for key in module.lora_A for p in (*module.lora_A[key].parameters(), *module.lora_B[key].parameters())]
    trained = [p for p in owned if id(p) in pending]
    if not trained:
        return None
    where = names[id(trained[0])]
    if type(module).forward is not lora.Linear.forward:
        raise NotBatchable(f"{where}: LoRA on {type(module).__name__} layers is not batched (only on nn.Linear)")
    active = list(module.active_adapters)
    if len(active) != 1 or module.merged or module.disable_adapters:
        raise NotBatchable(f"{where}: batching needs exactly one active, unmerged LoRA adapter")
    adapter = active[0]
    # peft >= 0.15 keeps DoRA and other variants in lora_variant; older releases flag DoRA in use_dora
    variant = adapter in getattr(module, "lora_variant", {}) or getattr(module, "use_dora", {}).get(adapter, False)
    if variant or getattr(module, "lora_bias", {}).get(adapter, False):
        raise NotBatchable(f"{where}: LoRA variants (DoRA, ...) and LoRA biases are not batched")
    layer = _LoraLinear(module, adapter, set(pending))
    if any(id(p) not in {id(s) for s in layer.slots} for p in trained):
        raise NotBatchable(f"{where}: an inactive LoRA adapter is trained")
    return layer


def find_layers(module: nn.Module, trainable: Sequence[torch.Tensor]) -> list[_CopiedLayer]:
    """The copied layers that together hold every trainable tensor.

    Raises:
        NotBatchable: a trainable tensor lives elsewhere (an embedding, a norm, a tied weight...).

    """
    names = {id(p): name for name, p in module.named_parameters(remove_duplicate=False)}
    pending = {id(p): p for p in trainable}
    layers: list[_CopiedLayer] = []
    if LORA_MODULE in sys.modules:  # a PEFT model imported peft; no import otherwise
        base = sys.modules[LORA_MODULE].LoraLayer
        for sub in module.modules():
            if isinstance(sub, base) and (layer := _lora_layer(sub, pending, names)) is not None:
                layers.append(layer)
                for slot in layer.slots:
                    pending.pop(id(slot), None)
    owners: dict[int, list[tuple[nn.Module, str]]] = {}
    for sub in module.modules():
        for attribute, p in sub._parameters.items():
            if p is not None and id(p) in pending:
                owners.setdefault(id(p), []).append((sub, attribute))
    linears: dict[int, nn.Linear] = {}
    for key in pending:
        where = names.get(key, "a parameter")
        found = owners.get(key, [])
        if len(found) != 1:
            raise NotBatchable(f"{where} is shared by {len(found)} modules (tied weights)")
        sub, _ = found[0]
        if not isinstance(sub, nn.Linear) or type(sub).forward is not nn.Linear.forward:
            raise NotBatchable(
                f"{where} ({type(sub).__name__}) is trained; only LoRA factors and whole nn.Linear layers are batched"
            )
        linears[id(sub)] = sub
    layers += [_Linear(sub, set(pending)) for sub in linears.values()]
    for layer in layers:
        if "forward" in layer.module.__dict__:
            raise NotBatchable(f"{type(layer.module).__name__} already has its forward replaced")
    return layers


class PerCopyWeights:
    """Stacks of per-copy weights for a model's trainable layers, and the forwards that use them.

    Args:
        module: the model.
        trainable: the tensors the recipe trains (each must sit in a LoRA or Linear layer).

    Raises:
        NotBatchable: some trainable tensor cannot be copied per row.

    """

    def __init__(self, module: nn.Module, trainable: Sequence[torch.Tensor]) -> None:
        self.layers = find_layers(module, trainable)
        self.rows: torch.Tensor | None = None  # None: row i of a forward uses copy i
        self.copies = 0
        self._stacks: list[list[torch.Tensor]] = []

    @property
    def bytes_per_copy(self) -> int:
        """Bytes of one copy of the trainable tensors."""
        return sum(
            s.numel() * s.element_size() for layer in self.layers for s, t in zip(layer.slots, layer.trains) if t
        )

    def reset(self, copies: int) -> list[torch.Tensor]:
        """Start ``copies`` copies from the model's weights; returns the trainable stacks (leaves).

        A trainable tensor of shape S becomes a fresh ``(copies, *S)`` leaf that requires
        grad; a frozen one (say a LoRA A when only B trains) an expanded, shared view.
        """
        self.copies = copies
        self._stacks = []
        trainable: list[torch.Tensor] = []
        for layer in self.layers:
            stacks = []
            for slot, trains in zip(layer.slots, layer.trains):
                shared = slot.detach().unsqueeze(0).expand(copies, *slot.shape)
                stacks.append(shared.clone().requires_grad_(True) if trains else shared)
                if trains:
                    trainable.append(stacks[-1])
            self._stacks.append(stacks)
        return trainable

    def weights(self, stack: torch.Tensor) -> torch.Tensor:
        """Each row's copy of a stacked tensor: ``(C, ...)`` -> ``(R, ...)``."""
        return stack if self.rows is None else stack.index_select(0, self.rows)

    def check_rows(self, x: torch.Tensor) -> int:
        """The number of rows R, after checking the input has one per row (shapes only, no sync)."""
        expected = self.copies if self.rows is None else self.rows.shape[0]
        if x.dim() < 2 or x.shape[0] != expected:
            raise BatchingError(
                f"a batched layer got an input of shape {tuple(x.shape)} for {expected} rows "
                "(the model reshapes its batch before this layer)"
            )
        return expected

    @contextlib.contextmanager
    def installed(self) -> Iterator[PerCopyWeights]:
        """Route every copied layer's forward through the stacks; the original forwards after."""
        try:
            for index, layer in enumerate(self.layers):
                layer.module.forward = self._forward_of(index)
            yield self
        finally:
            for layer in self.layers:
                layer.module.__dict__.pop("forward", None)
            self._stacks = []
            self.rows = None

    def _forward_of(self, index: int) -> Any:
        layer = self.layers[index]

        def forward(x: torch.Tensor, *args: Any, **kwargs: Any) -> Any:
            return layer.forward(self, self._stacks[index], x, *args, **kwargs)

        return forward
