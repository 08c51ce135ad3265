"""One fine-tuning loss per row: B prepared stimuli stacked into one batch, one forward.

Row ``c`` of the batch is stimulus ``c`` (and, under ``PerCopyWeights``, copy ``c``); its
loss is exactly what the adapter's ``loss`` gives that stimulus alone, up to float
rounding. One registry entry per adapter class; an adapter without one is fine-tuned one
stimulus at a time.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

from eifbench.adapters.base import widened
from eifbench.adapters.causal_lm import CausalLMAdapter, TokenStimulus
from eifbench.adapters.classifier import ClassifierAdapter


@dataclass(frozen=True)
class TokenRows:
    """Stimuli right-padded to one width: ``input_ids`` of shape (B, L).

    Right padding needs no attention mask in a causal LM: no real token attends to the
    padding after it, so each row's logits are those of the stimulus alone. ``keep`` is
    how many trailing positions' logits the loss reads; ``spans[c]`` is row c's first
    labelled token (>= 1) and its length.
    """

    input_ids: torch.Tensor
    spans: tuple[tuple[int, int], ...]
    keep: int


def stack_tokens(adapter: CausalLMAdapter, items: Sequence[TokenStimulus]) -> TokenRows:
    """Pad prepared LM stimuli to the widest with the pad id."""
    width = max(item.input_ids.shape[1] for item in items)
    ids = torch.full((len(items), width), adapter.tokenizer.pad_token_id, dtype=torch.long, device=adapter.device)
    for row, item in enumerate(items):
        ids[row, : item.input_ids.shape[1]] = item.input_ids[0]
    spans = tuple((max(item.first_label, 1), int(item.input_ids.shape[1])) for item in items)
    # position t-1 predicts token t: the earliest labelled token of any row fixes the first logit needed
    first = min(start for start, _ in spans) - 1
    return TokenRows(ids, spans, width - first if adapter.trims_logits else width)


def token_losses(adapter: CausalLMAdapter, rows: TokenRows) -> torch.Tensor:
    """Mean token cross-entropy of each row over its labelled tokens; shape (B,).

    One ``cross_entropy`` per row over exactly its labelled tokens: the same reduction, in
    the same order, as the loss of that stimulus alone.
    """
    width = rows.input_ids.shape[1]
    kwargs = {"logits_to_keep": rows.keep} if rows.keep < width else {}
    logits = widened(adapter.module(input_ids=rows.input_ids, **kwargs).logits)  # (B, keep, V)
    offset = width - rows.keep + 1  # logits[:, j] predicts token j + offset
    losses = [
        F.cross_entropy(logits[row, start - offset : end - offset], rows.input_ids[row, start:end])
        for row, (start, end) in enumerate(rows.spans)
    ]
    return torch.stack(losses)


def token_count(item: TokenStimulus) -> int:
    """Tokens of a prepared LM stimulus (batches are formed from similar lengths)."""
    return int(item.input_ids.shape[1])


def stack_images(adapter: ClassifierAdapter, items: Sequence[tuple[torch.Tensor, torch.Tensor]]) -> Any:
    """Concatenate prepared examples: ``x (B, *shape)``, ``y (B,)``."""
    return torch.cat([x for x, _ in items]), torch.cat([y for _, y in items])


def image_losses(adapter: ClassifierAdapter, rows: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
    """Cross-entropy of each row; shape (B,)."""
    x, y = rows
    return F.cross_entropy(widened(adapter.module(x)), y, reduction="none")


@dataclass(frozen=True)
class RowLoss:
    """How an adapter class stacks prepared stimuli and takes one loss per row.

    Attributes:
        stack: ``(adapter, prepared items) -> batch``.
        losses: ``(adapter, batch) -> (B,)`` losses with grad.
        size: ``prepared item -> int``, the work of one row (tokens), to batch like with like.
        batch_rows: ``prepared probe batch -> int``, its number of rows.

    """

    stack: Callable[[Any, Sequence[Any]], Any]
    losses: Callable[[Any, Any], torch.Tensor]
    size: Callable[[Any], int]
    batch_rows: Callable[[Any], int]


ROW_LOSSES: dict[type, RowLoss] = {
    CausalLMAdapter: RowLoss(stack_tokens, token_losses, token_count, lambda batch: int(batch.input_ids.shape[0])),
    ClassifierAdapter: RowLoss(stack_images, image_losses, lambda item: 1, lambda batch: int(batch[1].shape[0])),
}


def row_loss_for(adapter: Any) -> RowLoss | None:
    """The registered row loss of the adapter's class, None if its ``loss`` is its own."""
    mro: tuple[type[Any], ...] = type(adapter).__mro__  # type[Any]: a class's `loss` is looked up by name
    for cls in mro:
        if cls in ROW_LOSSES:
            return ROW_LOSSES[cls] if type(adapter).loss is cls.loss else None
    return None
