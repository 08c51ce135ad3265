"""Bit-exact restore of exactly what fine-tuning changes, without deep-copying the model."""

from __future__ import annotations

import hashlib

import torch
from torch import nn


class Snapshot:
    """Saved copies of the trainable parameters and of every buffer.

    Only what a fine-tune can change is kept: the parameters it trains, and the buffers
    (a module with its own train-mode logic could still update BatchNorm statistics or
    counters). The copies live on the same device, so ``restore`` is one ``copy_`` per tensor.

    Args:
        module: the model.
        parameters: the parameters that fine-tuning will change.

    """

    def __init__(self, module: nn.Module, parameters: list[nn.Parameter]) -> None:
        self._targets: list[torch.Tensor] = [p for p in parameters]
        self._targets += list(module.buffers())
        with torch.no_grad():
            self._saved = [t.detach().clone() for t in self._targets]

    def restore(self) -> None:
        """Copy every saved tensor back in place; afterwards the weights are bit-identical."""
        with torch.no_grad():
            torch._foreach_copy_(self._targets, self._saved)

    @property
    def nbytes(self) -> int:
        """Bytes held by the saved copies."""
        return sum(t.numel() * t.element_size() for t in self._saved)


def checksum(module: nn.Module) -> str:
    """A digest of every parameter and buffer, bit for bit (blake2b of the raw bytes)."""
    digest = hashlib.blake2b(digest_size=16)
    with torch.no_grad():
        for name, tensor in list(module.named_parameters()) + list(module.named_buffers()):
            digest.update(name.encode())
            flat = tensor.detach().contiguous().view(-1)
            digest.update(flat.view(torch.uint8).cpu().numpy().tobytes())
    return digest.hexdigest()
