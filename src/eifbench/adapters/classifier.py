"""ClassifierAdapter: any ``nn.Module`` mapping a batch of inputs to logits."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from eifbench.adapters.base import PreparedProbes, restore_order
from eifbench.errors import InputError
from eifbench.stimuli import Example, Text


class ClassifierAdapter:
    """Wrap an image (or any tensor) classifier.

    Read-out: ``f(x, y) = log_softmax(module(x))[y]``. Loss: cross-entropy of one example.

    Args:
        module: maps a batch ``(b, *input_shape)`` to logits ``(b, num_classes)``; inputs
            are passed as given (normalize inside the module if it needs it).
        input_shape: the shape of one input, e.g. ``(1, 28, 28)``; inferred from the first
            example when ``None``.
        num_classes: inferred from one forward pass when ``None``.
        name: a label for reports.
        batch_size: probes per forward pass.

    """

    kind: ClassVar[str] = "classifier"

    def __init__(
        self,
        module: nn.Module,
        *,
        input_shape: Sequence[int] | None = None,
        num_classes: int | None = None,
        name: str = "classifier",
        batch_size: int = 512,
    ) -> None:
        self.module = module  # its train/eval mode is the caller's: the engines switch to eval only while they run
        self.input_shape = tuple(input_shape) if input_shape is not None else None
        self.num_classes = num_classes
        self.name = name
        self.batch_size = batch_size

    @property
    def device(self) -> torch.device:
        """The device of the module's first parameter."""
        return next(self.module.parameters()).device

    def _dtype(self) -> torch.dtype:
        return next(self.module.parameters()).dtype

    def _check_example(self, item: Any, role: str) -> tuple[torch.Tensor, int]:
        if isinstance(item, Text):
            raise InputError(f"A classifier {role} must be Example(x, y); got Text({item.text!r}).")
        if not isinstance(item, Example):
            raise InputError(f"A classifier {role} must be Example(x, y) or (x, y).")
        x = torch.as_tensor(item.x)
        if self.input_shape is None:
            self.input_shape = tuple(x.shape)
        if tuple(x.shape) != self.input_shape:
            raise InputError(
                f"{role} input has shape {tuple(x.shape)}, but {self.name} takes "
                f"{self.input_shape}; reshape it (e.g. x.reshape{self.input_shape})."
            )
        if not torch.is_floating_point(x):
            x = x.float()
        y = int(item.y)
        n = self._classes(x)
        if not 0 <= y < n:
            raise InputError(f"{role} label {y} is out of range: {self.name} has {n} classes (0..{n - 1}).")
        return x, y

    def _classes(self, x: torch.Tensor) -> int:
        if self.num_classes is None:
            with torch.inference_mode():
                logits = self.module(x[None].to(self.device, self._dtype()))
            self.num_classes = int(logits.shape[-1])
        return self.num_classes

    def prepare_stimulus(self, stimulus: Example | Text) -> tuple[torch.Tensor, torch.Tensor]:
        """Stack one example to a batch of one on the device: ``(1, *shape)``, ``(1,)``."""
        x, y = self._check_example(stimulus, "stimulus")
        return (
            x[None].to(self.device, self._dtype()),
            torch.tensor([y], device=self.device),
        )

    def loss(self, prepared: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        """Cross-entropy of the prepared example (a scalar)."""
        x, y = prepared
        return F.cross_entropy(self.module(x).float(), y)

    def prepare_probes(self, probes: Sequence[Example], context: str | None = None) -> PreparedProbes:
        """Stack probes into batches of ``batch_size``: ``x (b, *shape)``, ``y (b,)``."""
        if context is not None:
            raise InputError("A classifier has no prompt: the in-context engine needs a causal LM.")
        if len(probes) == 0:
            raise InputError("The probe list is empty: pass at least one Example(x, y).")
        pairs = [self._check_example(p, "probe") for p in probes]
        xs = torch.stack([x for x, _ in pairs]).to(self.device, self._dtype())
        ys = torch.tensor([y for _, y in pairs], device=self.device)
        batches = tuple(
            (xs[i : i + self.batch_size], ys[i : i + self.batch_size]) for i in range(0, len(pairs), self.batch_size)
        )
        return PreparedProbes(batches, torch.arange(len(pairs), device=self.device), len(pairs))

    def _batch_readout(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        logp = F.log_softmax(self.module(x).float(), dim=-1)
        return logp.gather(1, y[:, None])[:, 0]

    def readout(self, prepared: PreparedProbes) -> torch.Tensor:
        """Log p(y | x) of every probe; shape (n,), float32."""
        with torch.inference_mode():
            values = torch.cat([self._batch_readout(x, y) for x, y in prepared.batches])
        return restore_order(values, prepared.order)

    def probe_terms(self, prepared: PreparedProbes) -> Iterator[tuple[int, torch.Tensor]]:
        """Yield ``(index, log p(y|x))`` with grad, one forward pass per probe."""
        index = 0
        for x, y in prepared.batches:
            for i in range(len(y)):
                yield int(prepared.order[index]), self._batch_readout(x[i : i + 1], y[i : i + 1])[0]
                index += 1

    def stimulus_text(self, stimulus: Example | Text) -> str:
        """Classifiers have no prompt."""
        raise InputError("A classifier has no prompt: the in-context engine needs a causal LM.")
