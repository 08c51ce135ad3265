"""Memory layout for convolutional nets during an influence run.

On CPU (and GPU) PyTorch's convolutions, ReLUs and poolings run 1.6-2.2x faster on the
small CNNs here in channels-last layout (measured in benchmarks/). The engine switches the
module to it for the run and back afterwards; values are never touched, only strides.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch
from torch import nn


@contextlib.contextmanager
def channels_last_while_running(module: nn.Module) -> Iterator[None]:
    """Run the block with 4-D parameters in channels-last layout; restore the layout after."""
    if not any(isinstance(m, nn.Conv2d) for m in module.modules()):
        yield
        return
    tensors = [p for p in module.parameters() if p.dim() == 4]
    strides = [t.stride() for t in tensors]
    # torch's stub of Module.to omits memory_format, which Module.to takes (and documents)
    module.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
    try:
        yield
    finally:
        with torch.no_grad():
            for tensor, stride in zip(tensors, strides):
                if tensor.stride() != stride:
                    # exactly the old strides: .contiguous() would keep a size-1 channel dim's
                    # channels-last strides, and that alone switches the whole net's layout
                    original = torch.empty_strided(tensor.shape, stride, dtype=tensor.dtype, device=tensor.device)
                    tensor.data = original.copy_(tensor.data)
