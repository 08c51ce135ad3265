"""TextClassifierAdapter: a Hugging Face sequence classifier and its tokenizer."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from eifbench.adapters import tokens
from eifbench.adapters.base import PreparedProbes, read_batches, widened
from eifbench.errors import InputError
from eifbench.kinds import ModelKind
from eifbench.stimuli import Example, Text

MODEL_INPUTS = ("input_ids", "attention_mask", "token_type_ids")


@dataclass(frozen=True)
class TextBatch:
    """Right-padded texts: model inputs of shape (b, L) by name, and labels (b,)."""

    inputs: dict[str, torch.Tensor]
    labels: torch.Tensor


class TextClassifierAdapter:
    """Wrap a Hugging Face text classifier (``AutoModelForSequenceClassification``).

    Stimuli and probes are ``Example(text, label)``; the label is an int, or a label name
    of the model's ``config.id2label`` (``"POSITIVE"``). Read-out:
    ``log_softmax(logits)[label]``. Loss: the cross-entropy of one example.

    Args:
        model: a sequence classifier (or a PEFT model wrapping one).
        tokenizer: its tokenizer; a missing pad token is set to the EOS (or UNK) token, and
            the model's ``config.pad_token_id`` to it (GPT-style classifiers pool the last
            non-pad token).
        name: a label for reports.
        batch_tokens: the token budget of one probe batch (rows x padded length).

    """

    kind: ClassVar[ModelKind] = ModelKind.TEXT_CLASSIFIER

    def __init__(
        self, model: nn.Module, tokenizer: Any, *, name: str = "text-classifier", batch_tokens: int | None = None
    ) -> None:
        self.module = model  # its train/eval mode is the caller's: the engines switch to eval only while they run
        self.tokenizer = tokenizer
        self.name = name
        self.batch_tokens = batch_tokens or (2048 if self.device.type == "cpu" else 8192)
        self.max_length = tokens.context_length(model)
        config: Any = model.config  # a transformers PretrainedConfig
        self.num_classes = int(config.num_labels)
        self.label_ids = {str(name): int(i) for i, name in (getattr(config, "id2label", None) or {}).items()}
        self.inputs = tuple(name for name in MODEL_INPUTS if name in tokens.forward_parameters(model))
        tokens.ensure_pad_token(tokenizer)
        if getattr(config, "pad_token_id", None) is None:
            config.pad_token_id = tokenizer.pad_token_id

    @property
    def device(self) -> torch.device:
        """The device of the input embeddings."""
        return tokens.embedding_device(self.module)

    def label_of(self, label: Any, role: str) -> int:
        """The class index of an int label or a label name."""
        if isinstance(label, str):
            label = label.strip()
            if label.lstrip("-").isdigit():
                label = int(label)
            elif label in self.label_ids:
                return self.label_ids[label]
            else:
                names = ", ".join(sorted(self.label_ids, key=self.label_ids.__getitem__)) or "none"
                raise InputError(f"{role} label {label!r} is not one of {self.name}'s labels ({names}) nor an index.")
        if isinstance(label, bool) or not isinstance(label, int):
            raise InputError(f"A text-classifier {role} is Example(text: str, label: int or label name).")
        if not 0 <= label < self.num_classes:
            raise InputError(
                f"{role} label {label} is out of range: {self.name} has {self.num_classes} classes "
                f"(0..{self.num_classes - 1})."
            )
        return label

    def encode(self, item: Any, role: str) -> tuple[list[int], int]:
        """Token ids of the text and the class index."""
        if isinstance(item, Text) or not isinstance(item, Example) or not isinstance(item.x, str):
            raise InputError(f"A text-classifier {role} is Example(text: str, label); got {item!r}.")
        if not item.x.strip():
            raise InputError(f"{role} text is empty: give it at least one word.")
        tokens.check_text(item.x, role)
        ids = list(self.tokenizer(item.x).input_ids)
        if self.max_length is not None and len(ids) > self.max_length:
            raise InputError(
                f"{role} {item.x[:40]!r}... is {len(ids)} tokens; {self.name} takes at most {self.max_length}."
            )
        return ids, self.label_of(item.y, role)

    def _pad(self, rows: list[tuple[list[int], int]]) -> TextBatch:
        padded = self.tokenizer.pad({"input_ids": [ids for ids, _ in rows]}, return_tensors="pt")
        inputs = {"input_ids": padded["input_ids"], "attention_mask": padded["attention_mask"]}
        if "token_type_ids" in self.inputs:
            inputs["token_type_ids"] = torch.zeros_like(padded["input_ids"])
        device = self.device
        inputs = {k: v.to(device) for k, v in inputs.items() if k in self.inputs}
        return TextBatch(inputs, torch.tensor([y for _, y in rows], device=device))

    def prepare_stimulus(self, stimulus: Example | Text) -> TextBatch:
        """One example as a batch of one."""
        return self._pad([self.encode(stimulus, "stimulus")])

    def loss(self, prepared: TextBatch) -> torch.Tensor:
        """Cross-entropy of the prepared example (a scalar)."""
        return F.cross_entropy(widened(self.module(**prepared.inputs).logits), prepared.labels)

    def prepare_probes(self, probes: Sequence[Example], context: str | None = None) -> PreparedProbes:
        """Encode probes, sort by length and pack into batches under the token budget."""
        if context is not None:
            raise InputError("A text classifier has no prompt: the in-context engine needs a language model.")
        if len(probes) == 0:
            raise InputError("The probe list is empty: pass at least one Example(text, label).")
        encoded = [self.encode(p, "probe") for p in probes]
        order, buckets = tokens.length_buckets([len(ids) for ids, _ in encoded], self.batch_tokens)
        batches = tuple(self._pad([encoded[i] for i in bucket]) for bucket in buckets)
        return PreparedProbes(batches, torch.tensor(order, device=self.device), len(encoded))

    def _batch_readout(self, batch: TextBatch) -> torch.Tensor:
        logp = F.log_softmax(widened(self.module(**batch.inputs).logits), dim=-1)
        return logp.gather(1, batch.labels[:, None])[:, 0]

    def readout(self, prepared: PreparedProbes) -> torch.Tensor:
        """Log p(label | text) of every probe; shape (n,), float32 (float64 for a float64 model)."""
        return read_batches(prepared, self._batch_readout)

    def probe_terms(self, prepared: PreparedProbes) -> Iterator[tuple[int, torch.Tensor]]:
        """Yield ``(index, log p(label | text))`` with grad, one forward per probe."""
        position = 0
        for batch in prepared.batches:
            for r in range(batch.labels.shape[0]):
                row = TextBatch({k: v[r : r + 1] for k, v in batch.inputs.items()}, batch.labels[r : r + 1])
                yield int(prepared.order[position]), self._batch_readout(row)[0]
                position += 1

    def stimulus_text(self, stimulus: Example | Text) -> str:
        """Text classifiers have no prompt."""
        raise InputError("A text classifier has no prompt: the in-context engine needs a language model.")
