"""ClassifierAdapter: any ``nn.Module`` mapping a batch of inputs to logits."""

from __future__ import annotations

import numbers
from collections.abc import Iterator, Sequence
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from eifbench.adapters.base import PreparedProbes, restore_order, widened
from eifbench.errors import InputError
from eifbench.kinds import ModelKind
from eifbench.stimuli import Example, Text


def label_of(raw: Any, role: str) -> int:
    """A class label as an int: Python or numpy integers and 0-d integer tensors, never bools or text."""
    if (
        isinstance(raw, torch.Tensor)
        and raw.numel() == 1
        and not torch.is_floating_point(raw)
        and raw.dtype != torch.bool
    ):
        return int(raw)
    if isinstance(raw, numbers.Integral) and not isinstance(raw, (bool, np.bool_)):
        return int(raw)
    raise InputError(f"{role} label {raw!r} is not a class index; pass an int such as 3.")


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

    kind: ClassVar[ModelKind] = ModelKind.CLASSIFIER

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
        try:
            x = torch.as_tensor(item.x)
        except (TypeError, ValueError, RuntimeError):
            raise InputError(f"{role} input must be a tensor or array; got {type(item.x).__name__}.") from None
        if self.input_shape is not None and tuple(x.shape) != self.input_shape:
            raise InputError(
                f"{role} input has shape {tuple(x.shape)}, but {self.name} takes "
                f"{self.input_shape}; reshape it (e.g. x.reshape{self.input_shape})."
            )
        if x.dtype == torch.uint8:  # 0..255 pixels: the packaged images and zoo models use [0, 1]
            x = x.float() / 255.0
        elif not torch.is_floating_point(x):
            x = x.float()
        y = label_of(item.y, role)
        n = self._classes(x, role)
        if not 0 <= y < n:
            raise InputError(f"{role} label {y} is out of range: {self.name} has {n} classes (0..{n - 1}).")
        return x, y

    def _classes(self, x: torch.Tensor, role: str) -> int:
        """The number of classes; the first input also fixes the input shape, once it has run."""
        if self.num_classes is None or self.input_shape is None:
            try:
                with torch.inference_mode():
                    logits = self.module(x[None].to(self.device, self._dtype()))
            except (RuntimeError, ValueError) as error:
                first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
                raise InputError(
                    f"{self.name} cannot take a {role} input of shape {tuple(x.shape)} ({first}); pass "
                    "input_shape= to ClassifierAdapter or an input of the shape the model expects."
                ) from None
            self.num_classes = self.num_classes or int(logits.shape[-1])
            self.input_shape = tuple(x.shape)
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
        return F.cross_entropy(widened(self.module(x)), y)

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
        logp = F.log_softmax(widened(self.module(x)), dim=-1)
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
