"""Which probes each stimulus is read on: one prepared probe batch per distinct mask row.

Most desiderata need only a few probes per stimulus (its own fact, its paraphrases, a
matched control), so a task passes a boolean mask and each stimulus is read on its own
columns only. Rows with the same pattern share one prepared (tokenized, batched) subset.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from eifbench.adapters.base import ModelAdapter, PreparedProbes, prepare_readout
from eifbench.errors import InputError


@dataclass(frozen=True)
class ProbeGroups:
    """Probe subsets and which subset each stimulus reads.

    Attributes:
        columns: per group, the probe indices it reads; int64 tensors on the model's device.
        prepared: per group, the adapter's prepared probes for exactly those columns.
        of_stimulus: per stimulus, its group index, or -1 when it reads nothing (skipped).
        selected: per group, the probes themselves (the in-context engine re-prepares them).

    """

    columns: tuple[torch.Tensor, ...]
    prepared: tuple[PreparedProbes, ...]
    of_stimulus: tuple[int, ...]
    selected: tuple[tuple[Any, ...], ...]


def check_mask(mask: Any, n_stimuli: int, n_probes: int) -> np.ndarray | None:
    """Validate a user mask; returns a bool array (n_stimuli, n_probes) or None for 'all cells'."""
    if mask is None:
        return None
    array = np.asarray(mask.cpu() if isinstance(mask, torch.Tensor) else mask)
    if array.shape != (n_stimuli, n_probes):
        raise InputError(
            f"mask has shape {array.shape}, but there are {n_stimuli} stimuli and {n_probes} probes; "
            f"pass a boolean array of shape ({n_stimuli}, {n_probes})."
        )
    if array.dtype != np.bool_:
        raise InputError(f"mask must be boolean (True = compute this cell); got dtype {array.dtype}.")
    return array


def only_rows(mask: np.ndarray | None, rows: Iterable[int] | None, n_stimuli: int, n_probes: int) -> np.ndarray | None:
    """The mask (n_stimuli, n_probes) with every row outside ``rows`` cleared; None for every cell of every row."""
    if rows is None:
        return mask
    chosen = np.zeros(n_stimuli, dtype=bool)
    listed = list(rows) if isinstance(rows, Iterable) and not isinstance(rows, (str, bytes)) else None
    # a bool is an int to numpy: [True, False] would silently mean rows 1 and 0
    if listed is None or not all(
        isinstance(r, (int, np.integer)) and not isinstance(r, (bool, np.bool_)) for r in listed
    ):
        raise InputError(f"rows must be a list of stimulus indices (ints); got {rows!r}.")
    wanted = np.asarray(listed, dtype=np.int64)
    if wanted.size and (wanted.min() < 0 or wanted.max() >= n_stimuli):
        raise InputError(f"rows must be stimulus indices in [0, {n_stimuli}); got {sorted(set(wanted.tolist()))}.")
    chosen[wanted] = True
    every = np.ones((n_stimuli, n_probes), dtype=bool) if mask is None else mask
    return every & chosen[:, None]


def probe_groups(
    adapter: ModelAdapter,
    probes: Sequence[Any],
    mask: np.ndarray | None,
    n_stimuli: int,
    prepared_all: PreparedProbes,
    *,
    share_openings: bool = True,
) -> ProbeGroups:
    """Group stimuli by mask row and prepare each group's probes once.

    Each group's probes have their shared opening split off for ``readout`` unless
    ``share_openings`` is False (batched copies read whole rows), as ``prepared_all`` was.
    """
    device = adapter.device
    if mask is None:
        everything = torch.arange(len(probes), device=device)
        return ProbeGroups((everything,), (prepared_all,), (0,) * n_stimuli, (tuple(probes),))
    patterns: dict[bytes, int] = {}
    columns: list[torch.Tensor] = []
    prepared: list[PreparedProbes] = []
    selected: list[tuple[Any, ...]] = []
    of_stimulus: list[int] = []
    for row in mask:
        if not row.any():
            of_stimulus.append(-1)
            continue
        key = np.packbits(row).tobytes()
        if key not in patterns:
            index = np.flatnonzero(row)
            patterns[key] = len(columns)
            subset = tuple(probes[int(j)] for j in index)
            columns.append(torch.as_tensor(index, device=device))
            subset_list = list(subset)
            prepared.append(
                prepare_readout(adapter, subset_list) if share_openings else adapter.prepare_probes(subset_list)
            )
            selected.append(subset)
        of_stimulus.append(patterns[key])
    return ProbeGroups(tuple(columns), tuple(prepared), tuple(of_stimulus), tuple(selected))
