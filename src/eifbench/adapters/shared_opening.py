"""Probes that open alike, read with their common opening computed once.

A chat template opens every sequence with the same tokens (SmolLM2's default system
prompt is 35 of a probe's about 40), and in context every probe of a stimulus opens with
the stimulus too. A read-out of such probes spends most of its time on tokens every row
repeats. ``shared_length`` finds the tokens all the probes share (never past a row's last
prompt token, so every completion token stays in its row's own part), ``split_probes``
batches the rows' remaining tokens, ``open_once`` runs the opening once per read-out and
keeps its keys and values, and ``read_rest`` reads each batch on top of a copy of them.

The read-out equals the full forward's up to float rounding (``tests/test_shared_opening.py``
compares them, and an influence is always a difference of two read-outs taken this way).
Not every model can share one: a hybrid or recurrent cache (LFM2, Jamba, Falcon-H1,
RecurrentGemma) cannot be copied per row, and a prompt-learning adapter puts its virtual
tokens before every forward call. So an adapter reads a few of its probes both ways on
first use (``agrees``) and keeps whole rows for good when they differ or the split fails.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from eifbench.adapters.base import PreparedProbes, widened
from eifbench.adapters.tokens import length_buckets

MIN_SHARED = 8  # fewer shared tokens are not worth a second forward call and a cache copy


@dataclass(frozen=True)
class Opening:
    """The tokens every probe of a read-out starts with: ids of shape (1, P)."""

    input_ids: torch.Tensor

    @property
    def length(self) -> int:
        """P, the number of shared tokens."""
        return int(self.input_ids.shape[1])


@dataclass(frozen=True)
class RestBatch:
    """The rows' tokens after the opening, right-padded; tensors of shape (b, S).

    ``counted[i, t]`` is True when token t of row i's rest is a completion token. The
    first rest token is predicted by the opening's last position, token t > 0 by position
    t - 1; ``first`` is the earliest completion token of any row, so only the logits from
    position ``first - 1`` on are read.
    """

    input_ids: torch.Tensor
    attention_mask: torch.Tensor
    counted: torch.Tensor
    first: int


def shared_length(encoded: Sequence[tuple[list[int], int]]) -> int:
    """How many leading tokens every row shares, up to the shortest prompt (0 when under ``MIN_SHARED``).

    Args:
        encoded: per row, its token ids and the number of tokens before its completion.

    """
    first = encoded[0][0]
    limit = min(n_prompt for _, n_prompt in encoded)
    shared = 0
    while shared < limit and all(ids[shared] == first[shared] for ids, _ in encoded):
        shared += 1
    return shared if shared >= MIN_SHARED else 0


def rest_batch(rows: Sequence[tuple[list[int], int]], shared: int, pad_id: int, device: torch.device) -> RestBatch:
    """Each row's tokens after its first ``shared`` ones, right-padded, with its completion marked."""
    width = max(len(ids) - shared for ids, _ in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    counted = torch.zeros((len(rows), width), dtype=torch.bool)
    for r, (row_ids, n_prompt) in enumerate(rows):
        rest = row_ids[shared:]
        ids[r, : len(rest)] = torch.tensor(rest)
        mask[r, : len(rest)] = 1
        counted[r, n_prompt - shared : len(rest)] = True
    first = min(n_prompt for _, n_prompt in rows) - shared
    return RestBatch(ids.to(device), mask.to(device), counted.to(device), first)


def open_once(module: nn.Module, opening: Opening, trims_logits: bool) -> tuple[Any, torch.Tensor]:
    """The opening's keys and values (a transformers cache) and its last position's logits, shape (1, V).

    Only the last position's logits are read: a model that can (``trims_logits``) computes no other.
    """
    out = module(input_ids=opening.input_ids, use_cache=True, **({"logits_to_keep": 1} if trims_logits else {}))
    cache = out["cache"] if "cache" in out else out["past_key_values"]  # transformers 5 / earlier releases
    return cache, out.logits[:, -1]


def read_rest(
    module: nn.Module,
    opened: tuple[Any, torch.Tensor],
    opening: Opening,
    batch: RestBatch,
    cache_argument: str,
    trims_logits: bool,
) -> torch.Tensor:
    """Summed completion log-probability of each row of ``batch`` after the opening; shape (b,).

    ``cache_argument`` is the name the model's forward takes its cache by (``cache`` or
    ``past_key_values``, by transformers release). Only the logits that predict a
    completion token are computed (``trims_logits``: the model takes ``logits_to_keep``)
    or normalized.
    """
    cache, last = opened
    rows, width = batch.input_ids.shape
    past = copy.deepcopy(cache)  # the forward appends the rows' keys and values to the cache it is given
    past.batch_repeat_interleave(rows)
    shared = opening.length
    device = batch.input_ids.device
    mask = torch.cat(
        [torch.ones((rows, shared), dtype=batch.attention_mask.dtype, device=device), batch.attention_mask], 1
    )
    positions = torch.arange(shared, shared + width, device=device).expand(rows, width)
    arguments = {"input_ids": batch.input_ids, "attention_mask": mask, "position_ids": positions, cache_argument: past}
    # token t of the rest is predicted by position t - 1, token 0 by the opening's last position
    start = max(batch.first, 1)  # the first token a rest position predicts and some row counts
    keep = width - start + 1
    if trims_logits and keep < width:
        arguments["logits_to_keep"] = keep
    predicting = module(**arguments).logits[:, -keep:-1]  # positions start - 1 .. width - 2
    if batch.first == 0:
        start = 0
        predicting = torch.cat([last[:, None, :].expand(rows, 1, last.shape[-1]), predicting], dim=1)
    logp = F.log_softmax(widened(predicting), dim=-1)
    token_logp = logp.gather(2, batch.input_ids[:, start:, None])[..., 0]
    return (token_logp * batch.counted[:, start:]).sum(dim=1)


def split_probes(
    encoded: Sequence[tuple[list[int], int]], shared: int, pad_id: int, device: torch.device, budget: int
) -> PreparedProbes:
    """The rows, sorted by length, their rests packed into batches of at most ``budget`` tokens, and the opening.

    Args:
        encoded: per row, its token ids and the number of tokens before its completion.
        shared: how many leading tokens every row shares (``shared_length``).
        pad_id: the tokenizer's padding id.
        device: where the tensors go.
        budget: the most rest tokens (rows x padded width) one batch may hold.

    """
    order, buckets = length_buckets([len(ids) - shared for ids, _ in encoded], budget)
    batches = tuple(rest_batch([encoded[i] for i in bucket], shared, pad_id, device) for bucket in buckets)
    opening = Opening(torch.tensor([encoded[0][0][:shared]], device=device))
    return PreparedProbes(batches, torch.tensor(order, device=device), len(encoded), opening)


def agrees(whole: torch.Tensor, split: torch.Tensor, eps: float) -> bool:
    """Whether read-outs with a shared opening are the whole rows' to rounding, at precision ``eps``.

    Float32 rounding moves a read-out by about 1e-7 of its size, bfloat16 by a few of its
    ulps; a model that cannot share an opening is off by a good fraction of a nat.
    """
    tolerance = max(1e-4, 16 * eps)
    return bool(((whole - split).abs() <= tolerance * (1 + whole.abs())).all())
