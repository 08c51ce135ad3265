"""The ModelAdapter protocol: what an influence engine needs from a model.

An adapter owns the read-out ``f`` and the fine-tuning loss ``L`` of one model kind, and
prepares (tokenizes, stacks, moves to the device) stimuli and probes once, so the hot loop
of an engine only runs forward and backward passes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol, runtime_checkable

import torch
from torch import nn

from eifbench.kinds import ModelKind
from eifbench.stimuli import Example, Text


@dataclass(frozen=True)
class PreparedProbes:
    """Probes ready for the device: batches plus the permutation that undoes bucketing.

    Attributes:
        batches: adapter-specific batch objects, in read-out order.
        order: ``order[j]`` is the original index of the j-th read-out value; shape (n,), on
            the model's device (so un-permuting a read-out never copies across devices).
        count: number of probes n.
        opening: what every probe starts with, read once per read-out before the batches
            (a causal LM's ``shared_opening.Opening``); None when each batch holds whole rows.

    """

    batches: tuple[Any, ...]
    order: torch.Tensor
    count: int
    opening: Any = None


@runtime_checkable
class ModelAdapter(Protocol):
    """What every engine relies on. ``kind`` is a ``ModelKind`` value (``classifier``, ``causal-lm``, ...)."""

    kind: ClassVar[ModelKind]
    module: nn.Module
    name: str

    @property
    def device(self) -> torch.device:
        """The device the module's parameters live on."""
        ...

    def prepare_stimulus(self, stimulus: Example | Text) -> Any:
        """Validate and encode one (non-chain) stimulus for ``loss``."""
        ...

    def loss(self, prepared: Any) -> torch.Tensor:
        """The fine-tuning loss L of one prepared stimulus; a scalar tensor with grad."""
        ...

    def prepare_probes(self, probes: Sequence[Example], context: str | None = None) -> PreparedProbes:
        """Validate, encode and batch probes; ``context`` is prepended (LMs only)."""
        ...

    def readout(self, prepared: PreparedProbes) -> torch.Tensor:
        """f(probes) in the original probe order; shape (n,), float32, on the device."""
        ...

    def probe_terms(self, prepared: PreparedProbes) -> Iterator[tuple[int, torch.Tensor]]:
        """Yield ``(original index, f(probe))`` one probe at a time, each a scalar with grad."""
        ...

    def stimulus_text(self, stimulus: Example | Text) -> str:
        """The text that goes into the prompt under the in-context engine."""
        ...


@runtime_checkable
class LanguageModelAdapter(ModelAdapter, Protocol):
    """A ``ModelAdapter`` for a language model, which can also count tokens (the in-context engine needs it)."""

    def count_tokens(self, text: str) -> int:
        """How many tokens ``text`` encodes to, without special tokens."""
        ...


def restore_order(values: torch.Tensor, order: torch.Tensor) -> torch.Tensor:
    """Undo a bucketing permutation: ``out[order[j]] = values[j]``; shapes (n,) -> (n,)."""
    out = torch.empty_like(values)
    out[order] = values
    return out


def prepare_readout(adapter: ModelAdapter, probes: Sequence[Any], context: str | None = None) -> PreparedProbes:
    """Probes prepared for ``readout`` alone: the opening they share split off where the adapter reads it once.

    A causal LM (``prepare_shared``) computes its probes' common opening (a chat template's
    system prompt, an in-context stimulus) once per read-out; any other adapter prepares
    them as ``prepare_probes`` does. Gradient paths (``probe_terms``) take ``prepare_probes``.
    """
    share = getattr(adapter, "prepare_shared", None)  # only the adapters that can reuse an opening define it
    if share is not None:
        prepared: PreparedProbes = share(probes, context)
        return prepared
    return adapter.prepare_probes(probes, context=context)


def read_batches(prepared: PreparedProbes, read: Callable[[Any], torch.Tensor]) -> torch.Tensor:
    """Every batch's read-out under inference mode, back in the probes' order; shape (n,)."""
    with torch.inference_mode():
        values = torch.cat([read(batch) for batch in prepared.batches])
    return restore_order(values, prepared.order)


def widened(tensor: torch.Tensor) -> torch.Tensor:
    """Logits in float32 for the log-softmax, or float64 when the model computes in float64.

    Half-precision logits are widened so the softmax's sum does not round away small
    probabilities; a float64 model keeps its precision, which is what makes the influence of
    a memorised image (a change of 1e-9 nats) measurable at all.
    """
    return tensor if tensor.dtype == torch.float64 else tensor.float()


def precision_of(module: nn.Module) -> float:
    """The relative precision (machine epsilon) of a model's read-outs.

    The coarsest floating dtype among its parameters: a bfloat16 model's logits carry
    bfloat16 rounding even though the log-softmax runs in float32.
    """
    dtypes = {p.dtype for p in module.parameters() if p.is_floating_point()} or {torch.float32}
    return max(float(torch.finfo(dtype).eps) for dtype in dtypes)
