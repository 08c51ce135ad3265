"""CausalLMAdapter: any Hugging Face causal LM plus its tokenizer."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, cast

import torch
import torch.nn.functional as F
from torch import nn

from eifbench.adapters import tokens
from eifbench.adapters.base import PreparedProbes, precision_of, read_batches, restore_order, widened
from eifbench.adapters.chat import ChatFormat
from eifbench.adapters.shared_opening import agrees, open_once, read_rest, shared_length, split_probes
from eifbench.errors import InputError
from eifbench.kinds import ModelKind
from eifbench.stimuli import Example, Text


@dataclass(frozen=True)
class TokenBatch:
    """Left-padded probes. Tensors have shape (b, L); completions end every row.

    ``counted[i, t]`` is True when token t of row i is a completion token whose
    log-probability (predicted at position t-1) enters the read-out. Completions sit at the
    right edge, so only the last ``keep`` positions' logits are ever needed.
    """

    input_ids: torch.Tensor
    attention_mask: torch.Tensor
    position_ids: torch.Tensor | None
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


class CausalLMAdapter(tokens.CountsTokens):
    """Wrap a Hugging Face causal LM.

    Read-out of ``Example(prompt, completion)``: the summed log-probability of the
    completion's tokens after the prompt's, where prompt and completion are tokenized
    separately (the completion's tokens are exactly ``tokenizer(completion)``'s, whatever
    the prompt ends with; a prompt's trailing whitespace moves to the completion). Loss of
    ``Text(t)``: ``model(ids, labels=ids).loss``; of an Example: the mean over completion
    tokens only. With a chat template (``chat``), every sequence is a conversation in which
    the assistant states the fact (``eifbench.adapters.chat``); the loss and the read-out
    cover the same tokens as without one.

    Args:
        model: a ``PreTrainedModel`` with a causal-LM head (``model(ids).logits``), or a
            PEFT model wrapping one.
        tokenizer: its tokenizer; a missing pad token is set to the EOS (or UNK) token,
            since padding is masked out and never counted.
        name: a label for reports.
        batch_tokens: the token budget of one probe batch (rows x padded length); by default
            512 on a CPU (small batches pad less, and a CPU gains nothing from big ones:
            2.3 s vs 4.8 s at 4096 for 180 mixed probes on SmolLM2) and 4096 on a GPU.
        chat: the chat format to wrap every sequence in, or None for raw text.

    """

    kind: ClassVar[ModelKind] = ModelKind.CAUSAL_LM

    def __init__(
        self,
        model: nn.Module,
        tokenizer: Any,
        *,
        name: str = "causal-lm",
        batch_tokens: int | None = None,
        chat: ChatFormat | None = None,
    ) -> None:
        self.module = model  # its train/eval mode is the caller's: the engines switch to eval only while they run
        self.tokenizer = tokenizer
        self.name = name
        self.chat = chat
        self.batch_tokens = batch_tokens or (512 if self.device.type == "cpu" else 4096)
        forward = tokens.forward_parameters(model)
        # the LM head over a 50k vocabulary costs a fifth of a small LM's forward pass:
        # compute logits only where a completion token is predicted, where supported
        self.trims_logits = "logits_to_keep" in forward
        # left padding keeps every completion at the right edge; it needs explicit positions
        self.left_pads = "position_ids" in forward
        # a shared opening is read once and its keys and values reused: positions and a cache are needed
        # (transformers 5 names the cache argument ``cache``, earlier releases ``past_key_values``)
        cache = next((name for name in ("cache", "past_key_values") if name in forward), None)
        self.cache_argument = cache if self.left_pads else None
        self.reads_openings: bool | None = None  # found on first use (prepare_shared)
        self.max_length = tokens.context_length(model)
        tokens.ensure_pad_token(tokenizer)

    @property
    def device(self) -> torch.device:
        """The device of the input embeddings."""
        return tokens.embedding_device(self.module)

    def _check_length(self, ids: list[int], what: str) -> list[int]:
        return tokens.checked_length(ids, self.max_length, self.name, what)

    def encode(self, prompt: Any, completion: Any, role: str, context: str | None = None) -> tuple[list[int], int]:
        """Token ids of (context +) prompt + completion and the number of tokens before the completion."""
        if not isinstance(prompt, str) or not isinstance(completion, str):
            raise InputError(f"A causal-LM {role} is Example(prompt: str, completion: str).")
        tokens.check_text(prompt + completion if context is None else context + prompt + completion, role)
        if context is not None and self.chat is None:
            prompt = context + tokens.CONTEXT_SEPARATOR + prompt
        stripped = prompt.rstrip()
        completion = prompt[len(stripped) :] + completion
        if self.chat is not None:  # the template's assistant prefix comes first: an empty prompt is fine
            head = self.chat.assistant_prefix(context) + (self.chat.reply_ids(stripped) if stripped else [])
        elif not stripped:
            raise InputError(
                f"{role} Example({prompt!r}, {completion!r}) has an empty prompt: the first token has no "
                "prediction. Put at least one word in the prompt, or use Text(...)."
            )
        else:
            head = list(self.tokenizer(stripped).input_ids)
        tail = list(self.tokenizer(completion, add_special_tokens=False).input_ids) if completion.strip() else []
        if not tail:
            raise InputError(
                f"{role} Example({prompt!r}, {completion!r}) has no completion tokens; give it a completion."
            )
        return self._check_length(head + tail, f"{role} {stripped[:40]!r}..."), len(head)

    def prepare_stimulus(self, stimulus: Example | Text) -> TokenStimulus:
        """Token ids and labels, each of shape (1, L); prompt labels are -100 for Examples."""
        if isinstance(stimulus, Text):
            if not isinstance(stimulus.text, str) or not stimulus.text.strip():
                raise InputError("Text stimulus is empty: give it at least one word.")
            tokens.check_text(stimulus.text, "stimulus")
            if self.chat is not None:  # the statement is the assistant's answer; loss on its tokens only
                head, body = self.chat.assistant_prefix(), self.chat.reply_ids(stimulus.text)
            else:
                head, body = [], list(self.tokenizer(stimulus.text).input_ids)
            ids = self._check_length(head + body, f"stimulus {stimulus.text[:40]!r}...")
            if len(body) < 2 and not head:
                raise InputError(f"Text({stimulus.text!r}) has one token; it needs two to train on.")
            n_prompt = len(head)
            labels = [tokens.IGNORE_INDEX] * n_prompt + body
        elif isinstance(stimulus, Example):
            ids, n_prompt = self.encode(stimulus.x, stimulus.y, "stimulus")
            labels = [tokens.IGNORE_INDEX] * n_prompt + ids[n_prompt:]
        else:
            raise InputError(f"A causal-LM stimulus is Text or Example; got {type(stimulus).__name__}.")
        device = self.device
        return TokenStimulus(torch.tensor([ids], device=device), torch.tensor([labels], device=device), n_prompt)

    def loss(self, prepared: TokenStimulus) -> torch.Tensor:
        """Mean token cross-entropy over the labelled tokens: ``model(ids, labels=labels).loss``.

        For an Example (a labelled suffix) only the suffix's logits are computed; the mean
        is the same, up to float rounding.
        """
        ids, first = prepared.input_ids, prepared.first_label
        if first <= 1 or not self.trims_logits:
            return cast(torch.Tensor, self.module(input_ids=ids, labels=prepared.labels).loss)  # transformers: untyped
        keep = ids.shape[1] - first + 1
        logits = self.module(input_ids=ids, logits_to_keep=keep).logits
        return F.cross_entropy(widened(logits[0, :-1]), ids[0, first:])

    def prepare_probes(self, probes: Sequence[Example], context: str | None = None) -> PreparedProbes:
        """Tokenize probes, sort by length and pack into batches under the token budget."""
        return self._batched(self._encoded(probes, context))

    def prepare_shared(self, probes: Sequence[Example], context: str | None = None) -> PreparedProbes:
        """Probes for ``readout`` with the opening they all share split off, to be computed once per read-out.

        Falls back to ``prepare_probes`` when the model takes no cache, the probes share
        fewer than ``shared_opening.MIN_SHARED`` tokens, or the model turned out on first use
        not to read a shared opening as it reads whole rows (``reads_openings``).
        """
        encoded = self._encoded(probes, context)
        shared = shared_length(encoded) if self.cache_argument and self.reads_openings is not False else 0
        if not shared:
            return self._batched(encoded)
        if self.reads_openings is None:
            self.reads_openings = self._reads_openings_alike(encoded[:2])
            if not self.reads_openings:
                return self._batched(encoded)
        return split_probes(encoded, shared, self.tokenizer.pad_token_id, self.device, self.batch_tokens)

    def _reads_openings_alike(self, rows: list[tuple[list[int], int]]) -> bool:
        """Once per model: a few probes read both ways agree (a hybrid cache or a prompt-learning adapter does not)."""
        split = split_probes(rows, shared_length(rows), self.tokenizer.pad_token_id, self.device, self.batch_tokens)
        try:
            shared_read = self.readout(split)
        except (AttributeError, IndexError, KeyError, RuntimeError, TypeError, ValueError):
            return False  # a cache this model cannot copy per row (recurrent or hybrid layers): whole rows it is
        return agrees(self.readout(self._batched(rows)), shared_read, precision_of(self.module))

    def _encoded(self, probes: Sequence[Example], context: str | None) -> list[tuple[list[int], int]]:
        if len(probes) == 0:
            raise InputError("The probe list is empty: pass at least one Example(prompt, completion).")
        encoded: list[tuple[list[int], int]] = []
        for probe in probes:
            if not isinstance(probe, Example):
                raise InputError("A causal-LM probe is Example(prompt, completion); Text has no completion.")
            encoded.append(self.encode(probe.x, probe.y, "probe", context))
        return encoded

    def _batched(self, encoded: list[tuple[list[int], int]]) -> PreparedProbes:
        order, buckets = tokens.length_buckets([len(ids) for ids, _ in encoded], self.batch_tokens)
        batches = tuple(self._pad([encoded[i] for i in bucket]) for bucket in buckets)
        return PreparedProbes(batches, torch.tensor(order, device=self.device), len(encoded))

    def _pad(self, rows: list[tuple[list[int], int]]) -> TokenBatch:
        width = max(len(ids) for ids, _ in rows)
        ids = torch.full((len(rows), width), self.tokenizer.pad_token_id, dtype=torch.long)
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        counted = torch.zeros((len(rows), width), dtype=torch.bool)
        for r, (row_ids, n_prompt) in enumerate(rows):
            begin = width - len(row_ids) if self.left_pads else 0
            ids[r, begin : begin + len(row_ids)] = torch.tensor(row_ids)
            mask[r, begin : begin + len(row_ids)] = 1
            counted[r, begin + n_prompt : begin + len(row_ids)] = True
        positions = (mask.cumsum(dim=1) - 1).clamp(min=0) if self.left_pads else None
        # the earliest counted token of any row is predicted one position before it
        first = int(counted.float().argmax(dim=1).min())
        keep = width - first + 1 if self.trims_logits else width
        device = self.device
        return TokenBatch(
            ids.to(device),
            mask.to(device),
            None if positions is None else positions.to(device),
            counted.to(device),
            keep,
        )

    def _batch_readout(self, batch: TokenBatch) -> torch.Tensor:
        width = batch.input_ids.shape[1]
        kwargs: dict[str, Any] = {"logits_to_keep": batch.keep} if batch.keep < width else {}
        if batch.position_ids is not None:
            kwargs["position_ids"] = batch.position_ids
        logits = self.module(input_ids=batch.input_ids, attention_mask=batch.attention_mask, **kwargs).logits
        # logits cover positions width-keep .. width-1; position t-1 predicts token t
        start = width - batch.keep + 1
        logp = F.log_softmax(widened(logits[:, :-1]), dim=-1)
        token_logp = logp.gather(2, batch.input_ids[:, start:, None])[..., 0]
        return (token_logp * batch.counted[:, start:]).sum(dim=1)

    def readout(self, prepared: PreparedProbes) -> torch.Tensor:
        """Summed completion log-probability of every probe; shape (n,), float32 (float64 for a float64 model)."""
        if prepared.opening is None:
            return read_batches(prepared, self._batch_readout)
        with torch.inference_mode():
            cache = cast(str, self.cache_argument)  # an opening is split off only when the model takes a cache
            opened = open_once(self.module, prepared.opening, self.trims_logits)
            rests = [
                read_rest(self.module, opened, prepared.opening, batch, cache, self.trims_logits)
                for batch in prepared.batches
            ]
            values = torch.cat(rests)
        return restore_order(values, prepared.order)

    def probe_terms(self, prepared: PreparedProbes) -> Iterator[tuple[int, torch.Tensor]]:
        """Yield ``(index, summed completion log-prob)`` with grad, one forward per probe."""
        if prepared.opening is not None:
            raise ValueError("probe_terms reads whole rows: prepare the probes with prepare_probes")
        position = 0
        for batch in prepared.batches:
            for r in range(batch.input_ids.shape[0]):
                real = batch.attention_mask[r].bool()
                length = int(real.sum())
                row = TokenBatch(
                    batch.input_ids[r : r + 1, real],
                    batch.attention_mask[r : r + 1, real],
                    None,
                    batch.counted[r : r + 1, real],
                    length,  # all logits: this path needs gradients, not speed
                )
                yield int(prepared.order[position]), self._batch_readout(row)[0]
                position += 1
