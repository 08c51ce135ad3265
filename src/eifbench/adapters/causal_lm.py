"""CausalLMAdapter: any Hugging Face causal LM plus its tokenizer."""

from __future__ import annotations

import inspect
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from eifbench.adapters.base import PreparedProbes, restore_order
from eifbench.errors import InputError
from eifbench.stimuli import Example, Text

IGNORE_INDEX = -100
CONTEXT_SEPARATOR = "\n"


@dataclass(frozen=True)
class TokenBatch:
    """Right-padded probes. All tensors have shape (b, L).

    ``counted[i, t]`` is True when token t of row i is a completion token whose
    log-probability (predicted at position t-1) enters the read-out. Only the last ``keep``
    positions can predict a counted token, so only their logits are computed.
    """

    input_ids: torch.Tensor
    attention_mask: torch.Tensor
    counted: torch.Tensor
    keep: int


@dataclass(frozen=True)
class TokenStimulus:
    """One tokenized stimulus: ids and labels of shape (1, L), prompt labels -100.

    ``first_label`` is the position of the first labelled token, known at tokenization so
    the fine-tune loop never has to ask the device for it.
    """

    input_ids: torch.Tensor
    labels: torch.Tensor
    first_label: int


class CausalLMAdapter:
    """Wrap a Hugging Face causal LM.

    Read-out of ``Example(prompt, completion)``: the summed log-probability of the
    completion tokens, where the ids are ``tokenizer(prompt + completion).input_ids`` and
    the first ``len(tokenizer(prompt).input_ids)`` of them are the prompt. Loss of
    ``Text(t)``: ``model(ids, labels=ids).loss``; of an Example: the mean over completion
    tokens only.

    Args:
        model: a ``PreTrainedModel`` with a causal-LM head (``model(ids).logits``).
        tokenizer: its tokenizer; a missing pad token is set to the EOS (or UNK) token,
            since padding is masked out and never counted.
        name: a label for reports.
        batch_tokens: the token budget of one probe batch (rows x padded length).

    """

    kind: ClassVar[str] = "causal-lm"

    def __init__(self, model: nn.Module, tokenizer: Any, *, name: str = "causal-lm", batch_tokens: int = 4096) -> None:
        self.module = model.eval()
        self.tokenizer = tokenizer
        self.name = name
        self.batch_tokens = batch_tokens
        # the LM head over a 50k vocabulary costs a fifth of a small LM's forward pass:
        # compute logits only at positions that predict a completion token, where supported
        self.trims_logits = "logits_to_keep" in inspect.signature(model.forward).parameters
        if tokenizer.pad_token_id is None:
            fallback = tokenizer.eos_token or tokenizer.unk_token
            if fallback is None:
                raise InputError(
                    "The tokenizer has no pad, EOS or UNK token to pad with; set "
                    "tokenizer.pad_token before wrapping it."
                )
            tokenizer.pad_token = fallback

    @property
    def device(self) -> torch.device:
        """The device of the input embeddings."""
        return self.module.get_input_embeddings().weight.device

    def _ids(self, text: str) -> list[int]:
        return list(self.tokenizer(text).input_ids)

    def _split(self, prompt: Any, completion: Any, role: str) -> tuple[list[int], int]:
        if not isinstance(prompt, str) or not isinstance(completion, str):
            raise InputError(f"A causal-LM {role} is Example(prompt: str, completion: str).")
        ids = self._ids(prompt + completion)
        n_prompt = len(self._ids(prompt)) if prompt else 0
        if n_prompt >= len(ids):
            raise InputError(
                f"{role} Example({prompt!r}, {completion!r}) has no completion tokens after "
                "the prompt; give it a non-empty completion."
            )
        if n_prompt == 0:
            raise InputError(
                f"{role} Example('', {completion!r}) has an empty prompt: the first token has "
                "no prediction. Put at least one word in the prompt, or use Text(...)."
            )
        return ids, n_prompt

    def prepare_stimulus(self, stimulus: Example | Text) -> TokenStimulus:
        """Token ids and labels, each of shape (1, L); prompt labels are -100 for Examples."""
        if isinstance(stimulus, Text):
            if not isinstance(stimulus.text, str) or not stimulus.text.strip():
                raise InputError("Text stimulus is empty: give it at least one word.")
            ids = self._ids(stimulus.text)
            if len(ids) < 2:
                raise InputError(f"Text({stimulus.text!r}) has one token; it needs two to train on.")
            labels, n_prompt = list(ids), 0
        elif isinstance(stimulus, Example):
            ids, n_prompt = self._split(stimulus.x, stimulus.y, "stimulus")
            labels = [IGNORE_INDEX] * n_prompt + ids[n_prompt:]
        else:
            raise InputError(f"A causal-LM stimulus is Text or Example; got {type(stimulus).__name__}.")
        return TokenStimulus(
            torch.tensor([ids], device=self.device), torch.tensor([labels], device=self.device), n_prompt
        )

    def loss(self, prepared: TokenStimulus) -> torch.Tensor:
        """Mean token cross-entropy over the labelled tokens: ``model(ids, labels=labels).loss``.

        For an Example (a labelled suffix) only the suffix's logits are computed; the mean
        is the same, up to float rounding.
        """
        ids, first = prepared.input_ids, prepared.first_label
        if first <= 1 or not self.trims_logits:
            return self.module(input_ids=ids, labels=prepared.labels).loss
        keep = ids.shape[1] - first + 1
        logits = self.module(input_ids=ids, logits_to_keep=keep).logits
        return F.cross_entropy(logits[0, :-1].float(), ids[0, first:])

    def prepare_probes(self, probes: Sequence[Example], context: str | None = None) -> PreparedProbes:
        """Tokenize probes, sort by length and pack into batches under the token budget."""
        if len(probes) == 0:
            raise InputError("The probe list is empty: pass at least one Example(prompt, completion).")
        encoded: list[tuple[list[int], int]] = []
        for probe in probes:
            if not isinstance(probe, Example):
                raise InputError("A causal-LM probe is Example(prompt, completion); Text has no completion.")
            prompt = probe.x if context is None else context + CONTEXT_SEPARATOR + probe.x
            encoded.append(self._split(prompt, probe.y, "probe"))
        order = sorted(range(len(encoded)), key=lambda i: len(encoded[i][0]))
        batches: list[TokenBatch] = []
        start = 0
        while start < len(order):
            stop = start + 1
            # rows are sorted by length, so the padded length of [start, stop) is the last row's
            while stop < len(order) and (stop - start + 1) * len(encoded[order[stop]][0]) <= self.batch_tokens:
                stop += 1
            batches.append(self._pad([encoded[i] for i in order[start:stop]]))
            start = stop
        return PreparedProbes(tuple(batches), torch.tensor(order, device=self.device), len(encoded))

    def _pad(self, rows: list[tuple[list[int], int]]) -> TokenBatch:
        width = max(len(ids) for ids, _ in rows)
        ids = torch.full((len(rows), width), self.tokenizer.pad_token_id, dtype=torch.long)
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        counted = torch.zeros((len(rows), width), dtype=torch.bool)
        for r, (row_ids, n_prompt) in enumerate(rows):
            ids[r, : len(row_ids)] = torch.tensor(row_ids)
            mask[r, : len(row_ids)] = 1
            counted[r, n_prompt : len(row_ids)] = True
        # the earliest counted token is predicted at position min(n_prompt) - 1
        keep = width - min(n for _, n in rows) + 1 if self.trims_logits else width
        return TokenBatch(ids.to(self.device), mask.to(self.device), counted.to(self.device), keep)

    def _batch_readout(self, batch: TokenBatch) -> torch.Tensor:
        width = batch.input_ids.shape[1]
        kwargs = {"logits_to_keep": batch.keep} if batch.keep < width else {}
        logits = self.module(input_ids=batch.input_ids, attention_mask=batch.attention_mask, **kwargs).logits
        # logits cover positions width-keep .. width-1; position t-1 predicts token t
        start = width - batch.keep + 1
        logp = F.log_softmax(logits[:, :-1].float(), dim=-1)
        token_logp = logp.gather(2, batch.input_ids[:, start:, None])[..., 0]
        return (token_logp * batch.counted[:, start:]).sum(dim=1)

    def readout(self, prepared: PreparedProbes) -> torch.Tensor:
        """Summed completion log-probability of every probe; shape (n,), float32."""
        with torch.inference_mode():
            values = torch.cat([self._batch_readout(b) for b in prepared.batches])
        return restore_order(values, prepared.order)

    def probe_terms(self, prepared: PreparedProbes) -> Iterator[tuple[int, torch.Tensor]]:
        """Yield ``(index, summed completion log-prob)`` with grad, one forward per probe."""
        position = 0
        for batch in prepared.batches:
            for r in range(batch.input_ids.shape[0]):
                length = int(batch.attention_mask[r].sum())
                row = TokenBatch(
                    batch.input_ids[r : r + 1, :length],
                    batch.attention_mask[r : r + 1, :length],
                    batch.counted[r : r + 1, :length],
                    length,  # all logits: this path needs gradients, not speed
                )
                yield int(prepared.order[position]), self._batch_readout(row)[0]
                position += 1

    def count_tokens(self, text: str) -> int:
        """Tokens of ``text`` without special tokens (the in-context engine matches lengths)."""
        return len(self.tokenizer(text, add_special_tokens=False).input_ids)

    def stimulus_text(self, stimulus: Example | Text) -> str:
        """``Text.text``, or ``prompt + completion`` of an Example."""
        if isinstance(stimulus, Text):
            return stimulus.text
        return f"{stimulus.x}{stimulus.y}"
