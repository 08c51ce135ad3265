"""Content digests of stimuli and probes: the keys of the session-wide influence cache."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

import torch

from eifbench.stimuli import Chain, Example, Text


def _feed(hasher: Any, item: Any) -> None:
    if isinstance(item, torch.Tensor):
        tensor = item.detach().contiguous().cpu()
        hasher.update(f"T{tuple(tensor.shape)}{tensor.dtype}".encode())
        hasher.update(tensor.view(-1).view(torch.uint8).numpy().tobytes())
    elif isinstance(item, Chain):
        hasher.update(b"C[")
        for link in item.links:
            _feed(hasher, link)
        hasher.update(b"]")
    elif isinstance(item, Example):
        hasher.update(b"E(")
        _feed(hasher, item.x)
        _feed(hasher, item.y)
        hasher.update(b")")
    elif isinstance(item, Text):
        hasher.update(b"X" + item.text.encode())
    elif isinstance(item, tuple):
        _feed(hasher, Example(*item) if len(item) == 2 else repr(item))
    else:
        hasher.update(repr(item).encode())


def digest(items: Sequence[Any]) -> str:
    """A digest of a list of stimuli or probes, tensors included bit for bit."""
    hasher = hashlib.blake2b(digest_size=16)
    for item in items:
        _feed(hasher, item)
        hasher.update(b";")
    return hasher.hexdigest()
