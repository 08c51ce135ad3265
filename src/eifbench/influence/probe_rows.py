"""The probes of B fine-tuned copies as one prepared set, with each read-out row's copy.

Copy ``c`` reads the probes of its stimulus's group (``groups.selected``); all copies'
probes are prepared together, so the adapter buckets and batches them as usual (copies
reading the same probes share batches of equal-length rows), and every row of every batch
is tagged with the copy whose weights it runs on.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from eifbench.adapters.base import ModelAdapter, PreparedProbes
from eifbench.influence.groups import ProbeGroups


@dataclass(frozen=True)
class ProbeRows:
    """All copies' probes, prepared once per pattern of groups.

    Attributes:
        prepared: the adapter's prepared probes of every copy, in its batches.
        copy_of_rows: per batch, the copy of each of its rows; int64 (rows,) on the device.
        copy: the copy of each read-out value, in read-out order; shape (n,).
        column: the probe column of each read-out value; shape (n,).

    """

    prepared: PreparedProbes
    copy_of_rows: tuple[torch.Tensor, ...]
    copy: torch.Tensor
    column: torch.Tensor


def probe_rows(
    adapter: ModelAdapter, groups: ProbeGroups, group_of_copy: Sequence[int], batch_rows: Callable[[Any], int]
) -> ProbeRows:
    """Prepare the probes of copies whose stimuli read groups ``group_of_copy`` (one per copy).

    ``batch_rows`` gives the number of rows of one of the adapter's prepared batches.
    """
    items: list[Any] = []
    copies: list[int] = []
    for index, group in enumerate(group_of_copy):
        items.extend(groups.selected[group])
        copies.extend([index] * len(groups.selected[group]))
    prepared = adapter.prepare_probes(items)
    device = prepared.order.device
    # read-out position j holds item order[j]: its copy and its column in the matrix
    copy = torch.tensor(copies, device=device)[prepared.order]
    column = torch.cat([groups.columns[group] for group in group_of_copy])[prepared.order]
    sizes = [batch_rows(batch) for batch in prepared.batches]
    return ProbeRows(prepared, tuple(copy.split(sizes)), copy, column)
