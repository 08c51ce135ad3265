"""The in-context engine: put the stimulus in the prompt instead of the weights.

``EIF_ctx(s -> p) = f(p | s in context) - f(p)``. No weight changes, so no restore.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from eifbench.adapters.base import ModelAdapter, PreparedProbes
from eifbench.adapters.causal_lm import CONTEXT_SEPARATOR
from eifbench.errors import InputError
from eifbench.progress import Progress
from eifbench.stimuli import Example, Stimulus, links_of


def context_of(adapter: ModelAdapter, stimulus: Stimulus) -> str:
    """The stimulus text(s) as a prompt prefix; a chain's links are joined in order."""
    return CONTEXT_SEPARATOR.join(adapter.stimulus_text(link) for link in links_of(stimulus))


def run_in_context(
    adapter: ModelAdapter,
    stimuli: Sequence[Stimulus],
    probes: Sequence[Example],
    baseline: torch.Tensor,
    *,
    progress: Progress | None = None,
) -> torch.Tensor:
    """In-context EIF rows; shape (n_stimuli, n_probes), on the device."""
    if adapter.kind != "causal-lm":
        raise InputError(
            f"engine='in-context' puts the stimulus in the prompt, so it needs a causal LM; "
            f"{adapter.name} is a {adapter.kind}. Use engine='exact' or 'first-order'."
        )
    rows = []
    for index, stimulus in enumerate(stimuli):
        prepared: PreparedProbes = adapter.prepare_probes(probes, context=context_of(adapter, stimulus))
        rows.append(adapter.readout(prepared) - baseline)
        if progress is not None:
            progress(index + 1, len(stimuli))
    return torch.stack(rows)
