"""Content digests of stimuli, probes, runs and tasks: cache keys, and what a record pins.

Every string is length-prefixed, so no two different lists share a digest
(``[Text('ab;Xcd')]`` and ``[Text('ab'), Text('cd')]`` differ).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from eifbench.stimuli import Chain, Example, Text

if TYPE_CHECKING:
    from eifbench.tasks.base import Run, Task


def _bytes(hasher: Any, tag: bytes, payload: bytes) -> None:
    hasher.update(tag + len(payload).to_bytes(8, "little") + payload)


def _feed(hasher: Any, item: Any) -> None:
    import torch

    if isinstance(item, torch.Tensor):
        tensor = item.detach().contiguous().cpu()
        _bytes(hasher, b"T", f"{tuple(tensor.shape)}{tensor.dtype}".encode())
        _bytes(hasher, b"D", tensor.reshape(-1).view(torch.uint8).numpy().tobytes())
    elif isinstance(item, np.ndarray):
        _bytes(hasher, b"A", f"{item.shape}{item.dtype}".encode() + np.ascontiguousarray(item).tobytes())
    elif isinstance(item, Chain):
        _bytes(hasher, b"C", str(len(item.links)).encode())
        for link in item.links:
            _feed(hasher, link)
    elif isinstance(item, Example):
        _bytes(hasher, b"E", b"")
        _feed(hasher, item.x)
        _feed(hasher, item.y)
    elif isinstance(item, Text):
        _bytes(hasher, b"X", item.text.encode("utf-8", "surrogatepass"))
    elif isinstance(item, str):
        _bytes(hasher, b"S", item.encode("utf-8", "surrogatepass"))
    elif isinstance(item, (list, tuple)):
        _bytes(hasher, b"L", str(len(item)).encode())
        for part in item:
            _feed(hasher, part)
    else:
        _bytes(hasher, b"R", repr(item).encode())


def digest(items: Sequence[Any]) -> str:
    """A digest of a list of stimuli or probes, tensors included bit for bit."""
    hasher = hashlib.blake2b(digest_size=16)
    _feed(hasher, list(items))
    return hasher.hexdigest()


def run_digest(run: Run) -> str:
    """A digest of a run: its stimuli, probes and mask."""
    hasher = hashlib.blake2b(digest_size=16)
    _feed(hasher, list(run.stimuli))
    _feed(hasher, list(run.probes))
    _feed(hasher, run.mask if run.mask is not None else "all cells")
    return hasher.hexdigest()


def task_digest(task: Task[Any]) -> str:
    """A digest of every run of a task, by name: the exact stimuli a record was measured on."""
    hasher = hashlib.blake2b(digest_size=12)
    for name in sorted(task.runs):
        _feed(hasher, name)
        _feed(hasher, run_digest(task.runs[name]))
    return hasher.hexdigest()
