"""Seq2SeqLMAdapter: an encoder-decoder LM (T5, BART, ...) and its tokenizer."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from eifbench.adapters import tokens
from eifbench.adapters.base import PreparedProbes, read_batches, widened
from eifbench.adapters.chat import FACT_REQUEST
from eifbench.errors import InputError
from eifbench.kinds import ModelKind
from eifbench.stimuli import Example, Text


@dataclass(frozen=True)
class Seq2SeqBatch:
    """Encoder inputs (b, S) right-padded; decoder inputs and labels (b, T), labels -100 on padding."""

    input_ids: torch.Tensor
    attention_mask: torch.Tensor
    decoder_input_ids: torch.Tensor
    labels: torch.Tensor


class Seq2SeqLMAdapter(tokens.CountsTokens):
    """Wrap a Hugging Face encoder-decoder LM.

    Read-out of ``Example(prompt, completion)``: the summed log-probability of the
    completion's tokens as the decoder target, with the prompt as the encoder input. The
    target is exactly ``tokenizer(completion, add_special_tokens=False)``: no BOS or EOS is
    counted, as for a causal LM. Loss of an Example: the mean cross-entropy of the same
    target tokens. A ``Text(t)`` statement has no prompt/completion split, so it trains as
    the answer to a fixed request: encoder ``"Tell me a fact."``, decoder target ``t``
    (every token of the statement, like a causal LM's statement). In context, the
    stimulus is prepended to the encoder input.

    Args:
        model: an ``AutoModelForSeq2SeqLM`` model (or a PEFT model wrapping one).
        tokenizer: its tokenizer; a missing pad token is set to the EOS (or UNK) token.
        name: a label for reports.
        batch_tokens: the token budget of one probe batch (rows x (source + target) length).

    """

    kind: ClassVar[ModelKind] = ModelKind.SEQ2SEQ_LM

    def __init__(
        self, model: nn.Module, tokenizer: Any, *, name: str = "seq2seq-lm", batch_tokens: int | None = None
    ) -> None:
        self.module = model  # its train/eval mode is the caller's: the engines switch to eval only while they run
        self.tokenizer = tokenizer
        self.name = name
        self.batch_tokens = batch_tokens or (512 if self.device.type == "cpu" else 4096)
        self.max_length = tokens.context_length(model)
        tokens.ensure_pad_token(tokenizer)
        hf: Any = model  # a transformers model: nn.Module types its attributes Tensor | Module
        base = hf.get_base_model() if hasattr(hf, "get_base_model") else hf
        self._shift: Callable[..., torch.Tensor] = base.prepare_decoder_input_ids_from_labels

    @property
    def device(self) -> torch.device:
        """The device of the input embeddings."""
        return tokens.embedding_device(self.module)

    def _check_length(self, ids: list[int], what: str) -> list[int]:
        return tokens.checked_length(ids, self.max_length, self.name, what)

    def encode(
        self, prompt: Any, completion: Any, role: str, context: str | None = None
    ) -> tuple[list[int], list[int]]:
        """Encoder ids of (context +) prompt and decoder target ids of the completion."""
        if not isinstance(prompt, str) or not isinstance(completion, str):
            raise InputError(f"A seq2seq-LM {role} is Example(prompt: str, completion: str).")
        source = prompt if context is None else context + tokens.CONTEXT_SEPARATOR + prompt
        tokens.check_text(source + completion, role)
        target = list(self.tokenizer(completion, add_special_tokens=False).input_ids) if completion.strip() else []
        if not target:
            raise InputError(
                f"{role} Example({prompt!r}, {completion!r}) has no completion tokens; give it a completion."
            )
        source_ids = self._check_length(list(self.tokenizer(source).input_ids), f"{role} prompt {prompt[:40]!r}...")
        return source_ids, self._check_length(target, f"{role} completion {completion[:40]!r}...")

    def prepare_stimulus(self, stimulus: Example | Text) -> Seq2SeqBatch:
        """One encoded stimulus as a batch of one."""
        if isinstance(stimulus, Text):
            if not isinstance(stimulus.text, str) or not stimulus.text.strip():
                raise InputError("Text stimulus is empty: give it at least one word.")
            pair = self.encode(FACT_REQUEST, stimulus.text, "stimulus")
        elif isinstance(stimulus, Example):
            pair = self.encode(stimulus.x, stimulus.y, "stimulus")
        else:
            raise InputError(f"A seq2seq-LM stimulus is Text or Example; got {type(stimulus).__name__}.")
        return self._pad([pair])

    def loss(self, prepared: Seq2SeqBatch) -> torch.Tensor:
        """Mean cross-entropy of the target tokens (a scalar)."""
        logits = self._logits(prepared)
        return F.cross_entropy(widened(logits[0]), prepared.labels[0])

    def _logits(self, batch: Seq2SeqBatch) -> torch.Tensor:
        logits: torch.Tensor = self.module(
            input_ids=batch.input_ids, attention_mask=batch.attention_mask, decoder_input_ids=batch.decoder_input_ids
        ).logits
        return logits

    def prepare_probes(self, probes: Sequence[Example], context: str | None = None) -> PreparedProbes:
        """Encode probes, sort by length and pack into batches under the token budget."""
        if len(probes) == 0:
            raise InputError("The probe list is empty: pass at least one Example(prompt, completion).")
        encoded = []
        for probe in probes:
            if not isinstance(probe, Example):
                raise InputError("A seq2seq-LM probe is Example(prompt, completion); Text has no completion.")
            encoded.append(self.encode(probe.x, probe.y, "probe", context))
        order, buckets = tokens.length_buckets([len(s) + len(t) for s, t in encoded], self.batch_tokens)
        batches = tuple(self._pad([encoded[i] for i in bucket]) for bucket in buckets)
        return PreparedProbes(batches, torch.tensor(order, device=self.device), len(encoded))

    def _pad(self, rows: list[tuple[list[int], list[int]]]) -> Seq2SeqBatch:
        source_width = max(len(s) for s, _ in rows)
        target_width = max(len(t) for _, t in rows)
        ids = torch.full((len(rows), source_width), self.tokenizer.pad_token_id, dtype=torch.long)
        mask = torch.zeros((len(rows), source_width), dtype=torch.long)
        labels = torch.full((len(rows), target_width), tokens.IGNORE_INDEX, dtype=torch.long)
        for r, (source, target) in enumerate(rows):
            ids[r, : len(source)] = torch.tensor(source)
            mask[r, : len(source)] = 1
            labels[r, : len(target)] = torch.tensor(target)
        device = self.device
        # the model's own shift: decoder start token, then the target, padding for -100
        decoder = self._shift(labels=labels)
        return Seq2SeqBatch(ids.to(device), mask.to(device), decoder.to(device), labels.to(device))

    def _batch_readout(self, batch: Seq2SeqBatch) -> torch.Tensor:
        logp = F.log_softmax(widened(self._logits(batch)), dim=-1)
        counted = batch.labels != tokens.IGNORE_INDEX
        token_logp = logp.gather(2, batch.labels.clamp(min=0)[..., None])[..., 0]
        return (token_logp * counted).sum(dim=1)

    def readout(self, prepared: PreparedProbes) -> torch.Tensor:
        """Summed target log-probability of every probe; shape (n,), float32 (float64 for a float64 model)."""
        return read_batches(prepared, self._batch_readout)

    def probe_terms(self, prepared: PreparedProbes) -> Iterator[tuple[int, torch.Tensor]]:
        """Yield ``(index, summed target log-prob)`` with grad, one forward per probe."""
        position = 0
        for batch in prepared.batches:
            for r in range(batch.input_ids.shape[0]):
                row = Seq2SeqBatch(
                    *(
                        t[r : r + 1]
                        for t in (batch.input_ids, batch.attention_mask, batch.decoder_input_ids, batch.labels)
                    )
                )
                yield int(prepared.order[position]), self._batch_readout(row)[0]
                position += 1
