"""The module's state around an influence run: eval mode, the user's gradients, a checksum.

Every engine reads the baseline and fine-tunes in eval mode (dropout off, BatchNorm on its
running statistics), so the module is switched *before* anything is read, and every
submodule gets its own mode back afterwards. Gradients a user left on the parameters are
set aside (the fused SGD step would otherwise add them into the update) and put back.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch
from torch import nn

from eifbench.errors import RestoreError
from eifbench.influence.snapshot import checksum


@contextlib.contextmanager
def engine_state(module: nn.Module, *, paranoid: bool = False) -> Iterator[str | None]:
    """Eval mode and no ``.grad`` inside; modes and gradients restored after.

    Yields the checksum of every parameter and buffer taken before anything ran when
    ``paranoid`` (else None), and checks it again on the way out.
    """
    reference = checksum(module) if paranoid else None
    modes = [(m, m.training) for m in module.modules()]
    grads = [(p, p.grad) for p in module.parameters()]
    for p, _ in grads:
        p.grad = None
    module.eval()
    try:
        yield reference
    finally:
        for m, training in modes:
            m.training = training
        with torch.no_grad():
            for p, grad in grads:
                p.grad = grad
    if reference is not None and checksum(module) != reference:
        raise RestoreError(
            "paranoid check: parameters or buffers differ from theta_0 after the run; this is a bug in "
            "eifbench's restore, please report it with the model spec."
        )
