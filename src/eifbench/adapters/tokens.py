"""What the tokenizer-based adapters share: text checks, model facts, length buckets, token counts.

Causal LMs, seq2seq LMs and text classifiers all encode text with a Hugging Face
tokenizer, pack probes of similar length into batches under a token budget, and (the
language models) count tokens for the in-context engine.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from eifbench.errors import InputError
from eifbench.stimuli import Example, Text

IGNORE_INDEX = -100
CONTEXT_SEPARATOR = "\n"


def check_text(text: str, role: str) -> None:
    """Refuse text no tokenizer can take (a lone UTF-16 surrogate, e.g. from a broken decode)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:
        raise InputError(
            f"{role} text {text[:40]!r} holds a lone surrogate at {error.start}; decode your data as UTF-8 first."
        ) from None


def forward_parameters(model: nn.Module) -> frozenset[str]:
    """The keyword args the model's own forward takes.

    A PEFT wrapper's forward passes ``**kwargs`` through to its base model, so the base
    model's signature is the one that says whether ``logits_to_keep`` is supported.
    """
    hf: Any = model  # a transformers model: nn.Module types its attributes Tensor | Module
    base = hf.get_base_model() if hasattr(hf, "get_base_model") else hf
    return frozenset(inspect.signature(base.forward).parameters)


def context_length(model: nn.Module) -> int | None:
    """The longest sequence the model's position embeddings cover, if its config says."""
    config = getattr(model, "config", None)
    for name in ("max_position_embeddings", "n_positions", "n_ctx", "max_sequence_length"):
        value = getattr(config, name, None)
        if isinstance(value, int) and value > 0:
            return value
    return None


def ensure_pad_token(tokenizer: Any) -> None:
    """Give a tokenizer without a pad token its EOS (or UNK) token to pad with; padding is masked out."""
    if tokenizer.pad_token_id is None:
        fallback = tokenizer.eos_token or tokenizer.unk_token
        if fallback is None:
            raise InputError(
                "The tokenizer has no pad, EOS or UNK token to pad with; set tokenizer.pad_token before wrapping it."
            )
        tokenizer.pad_token = fallback


def embedding_device(model: nn.Module) -> torch.device:
    """The device of a transformers model's input embeddings (where its inputs must go)."""
    hf: Any = model  # a transformers model: nn.Module types its attributes Tensor | Module
    device: torch.device = hf.get_input_embeddings().weight.device
    return device


def checked_length(ids: list[int], max_length: int | None, name: str, what: str) -> list[int]:
    """``ids`` unchanged, or an InputError when they are longer than the model's context."""
    if max_length is not None and len(ids) > max_length:
        raise InputError(f"{what} is {len(ids)} tokens, but {name} takes at most {max_length}; shorten it.")
    return ids


def length_buckets(sizes: Sequence[int], budget: int) -> tuple[list[int], list[list[int]]]:
    """Rows sorted by size and packed into batches of at most ``budget`` padded tokens.

    Returns:
        ``(order, batches)``: the row indices by size, and each batch's row indices (a run
        of ``order``; a row longer than the budget gets a batch of its own).

    """
    order = sorted(range(len(sizes)), key=lambda i: sizes[i])
    batches: list[list[int]] = []
    start = 0
    while start < len(order):
        stop = start + 1
        # rows are sorted by size, so the padded size of [start, stop) is the last row's
        while stop < len(order) and (stop - start + 1) * sizes[order[stop]] <= budget:
            stop += 1
        batches.append(order[start:stop])
        start = stop
    return order, batches


class CountsTokens:
    """Token counts and stimulus texts of a language-model adapter (what the in-context engine asks)."""

    tokenizer: Any

    def count_tokens(self, text: str) -> int:
        """Tokens of ``text`` without special tokens (the in-context engine matches lengths)."""
        return len(self.tokenizer(text, add_special_tokens=False).input_ids)

    def stimulus_text(self, stimulus: Example | Text) -> str:
        """``Text.text``, or ``prompt + completion`` of an Example."""
        if isinstance(stimulus, Text):
            return stimulus.text
        return f"{stimulus.x}{stimulus.y}"
