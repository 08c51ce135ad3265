"""The adapter that lets the real engines and suite run the reference language learners."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import ClassVar, Protocol

import torch
from torch import nn

from eifbench.adapters.base import PreparedProbes
from eifbench.errors import InputError
from eifbench.kinds import ModelKind
from eifbench.reference.parse import words
from eifbench.stimuli import Example, Text


class Reader(Protocol):
    """What a reference learner offers: summed log p of texts' completions."""

    def read(self, texts: Sequence[str], context: str | None = None, prompt_words: Sequence[int] = ()) -> torch.Tensor:
        """Shape (n,)."""
        ...


@dataclass(frozen=True)
class Statements:
    """Texts ready to read: the full text, how many leading words are prompt, the context."""

    texts: tuple[str, ...]
    prompt_words: tuple[int, ...]
    context: str | None


class ReferenceLMAdapter:
    """A reference learner behind the causal-LM interface (words are its tokens)."""

    kind: ClassVar[ModelKind] = ModelKind.CAUSAL_LM

    def __init__(self, learner: nn.Module, *, name: str) -> None:
        self.module = learner.eval()  # built here, so eval is this learner's mode
        self.name = name

    @property
    def device(self) -> torch.device:
        """Always the CPU."""
        return torch.device("cpu")

    def _reader(self) -> Reader:
        return self.module  # type: ignore[return-value]

    def _text(self, item: Example | Text, role: str) -> tuple[str, int]:
        if isinstance(item, Text) and isinstance(item.text, str) and item.text.strip():
            return item.text, 1
        if isinstance(item, Example) and isinstance(item.x, str) and isinstance(item.y, str) and item.y.strip():
            return f"{item.x}{item.y}", len(words(item.x))
        raise InputError(f"A reference-learner {role} is Text(statement) or Example(prompt, completion).")

    def prepare_stimulus(self, stimulus: Example | Text) -> Statements:
        """The statement to train on."""
        text, prompt = self._text(stimulus, "stimulus")
        return Statements((text,), (prompt,), None)

    def loss(self, prepared: Statements) -> torch.Tensor:
        """Minus the log-probability of the statement."""
        return -self._reader().read(prepared.texts, None, prepared.prompt_words)[0]

    def prepare_probes(self, probes: Sequence[Example], context: str | None = None) -> PreparedProbes:
        """One batch of all probes."""
        if not probes:
            raise InputError("The probe list is empty: pass at least one Example(prompt, completion).")
        pairs = [self._text(p, "probe") for p in probes]
        batch = Statements(tuple(t for t, _ in pairs), tuple(n for _, n in pairs), context)
        return PreparedProbes((batch,), torch.arange(len(pairs)), len(pairs))

    def readout(self, prepared: PreparedProbes) -> torch.Tensor:
        """Log p of every probe's completion; shape (n,)."""
        with torch.inference_mode():
            return torch.cat([self._reader().read(b.texts, b.context, b.prompt_words) for b in prepared.batches])

    def probe_terms(self, prepared: PreparedProbes) -> Iterator[tuple[int, torch.Tensor]]:
        """Each probe's read-out with grad."""
        position = 0
        for batch in prepared.batches:
            for text, prompt in zip(batch.texts, batch.prompt_words):
                yield position, self._reader().read((text,), batch.context, (prompt,))[0]
                position += 1

    def stimulus_text(self, stimulus: Example | Text) -> str:
        """The statement, for the in-context engine."""
        return self._text(stimulus, "stimulus")[0]

    def count_tokens(self, text: str) -> int:
        """Words are this learner's tokens."""
        return len(words(text))
