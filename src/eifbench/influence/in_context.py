"""The in-context engine: put the stimulus in the prompt instead of the weights.

``EIF_ctx(s -> p) = f(p | s in context) - f(p | neutral context)``: the control is not an
empty prompt but a neutral passage of exactly the same token length, because any text in
front of a probe moves it (a longer prompt, a new topic, the probe's absolute position),
and that movement says nothing about what the stimulus states. No weights change, so nothing needs restoring.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

import torch

from eifbench.adapters.base import LanguageModelAdapter, ModelAdapter, prepare_readout
from eifbench.adapters.causal_lm import CONTEXT_SEPARATOR
from eifbench.bank.lexicon import NEUTRAL_PASSAGE
from eifbench.errors import InputError
from eifbench.influence.groups import ProbeGroups
from eifbench.progress import Progress
from eifbench.stimuli import Stimulus, links_of

NEUTRAL_WORDS = tuple(NEUTRAL_PASSAGE.split())


def context_of(adapter: ModelAdapter, stimulus: Stimulus) -> str:
    """The stimulus text(s) as a prompt prefix; a chain's links are joined in order."""
    return CONTEXT_SEPARATOR.join(adapter.stimulus_text(link) for link in links_of(stimulus))


def neutral_context(adapter: LanguageModelAdapter, tokens: int) -> str:
    """A passage of the neutral text with exactly ``tokens`` tokens.

    Token counts do not add up word by word, so the passage is tried from each word of the
    neutral text in turn (it repeats when a stimulus is longer than it), growing until it
    has at least ``tokens`` tokens; the first with exactly that many is used. A tokenizer
    that never lands on the count gets the closest passage cut short character by character.

    Raises:
        InputError: no passage of exactly ``tokens`` tokens exists for this tokenizer.

    """
    closest, text, count = "", "", 0
    for offset in range(len(NEUTRAL_WORDS)):
        words: list[str] = []
        # a tokenizer that truncates stops counting: give up after far more words than tokens
        for _ in range(4 * tokens + len(NEUTRAL_WORDS)):
            words.append(NEUTRAL_WORDS[(offset + len(words)) % len(NEUTRAL_WORDS)])
            text = " ".join(words)
            count = adapter.count_tokens(text)
            if count >= tokens:
                break
        if count == tokens:
            return text
        closest = closest or text
    for end in range(len(closest) - 1, 0, -1):
        if adapter.count_tokens(closest[:end].rstrip()) == tokens:
            return closest[:end].rstrip()
    raise InputError(
        f"{adapter.name}'s tokenizer gives no neutral passage of exactly {tokens} tokens, so the in-context "
        "control cannot match the stimulus's length; run the finetune condition only (-m finetune)."
    )


def run_in_context(
    adapter: ModelAdapter,
    stimuli: Sequence[Stimulus],
    groups: ProbeGroups,
    n_probes: int,
    *,
    progress: Progress | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """In-context EIF rows and the neutral read-outs they are measured against.

    Returns:
        ``(matrix, reference)``, both (n_stimuli, n_probes) on the device: ``reference`` is
        f(p | neutral context); cells a stimulus does not read are NaN in both.

    """
    if not hasattr(adapter, "count_tokens"):
        raise InputError(
            f"engine='in-context' puts the stimulus in the prompt, so it needs a language model; "
            f"{adapter.name} is a {adapter.kind}. Use engine='exact' or 'first-order'."
        )
    nan = float("nan")
    # a float64 model's read-outs stay float64 (float32 otherwise: MPS has no float64)
    wide = any(p.dtype == torch.float64 for p in adapter.module.parameters())
    dtype = torch.float64 if wide else torch.float32
    rows = torch.full((len(stimuli), n_probes), nan, dtype=dtype, device=adapter.device)
    reference = torch.full((len(stimuli), n_probes), nan, dtype=dtype, device=adapter.device)
    neutral_of_length: dict[int, str] = {}
    # f(p | neutral) per (neutral text, probe group): stimuli of the same token length that
    # read the same probes share it. Keyed by the whole group, never by single probes, so a
    # read-out's batch is the same whichever stimuli came before it: a run split across
    # workers (Ray, xdist) gives the serial run's numbers bit for bit.
    neutral_reads: dict[tuple[str, int], torch.Tensor] = {}
    for index, stimulus in enumerate(stimuli):
        group = groups.of_stimulus[index]
        if group >= 0:
            context = context_of(adapter, stimulus)
            length = adapter.count_tokens(context)
            if length not in neutral_of_length:
                # the hasattr check above: this adapter counts tokens
                neutral_of_length[length] = neutral_context(cast(LanguageModelAdapter, adapter), length)
            neutral = neutral_of_length[length]
            columns = groups.columns[group]
            if (neutral, group) not in neutral_reads:
                probes = groups.selected[group]
                neutral_reads[(neutral, group)] = adapter.readout(prepare_readout(adapter, probes, neutral))
            control = neutral_reads[(neutral, group)]
            with_context = adapter.readout(prepare_readout(adapter, groups.selected[group], context))
            rows[index, columns] = with_context - control
            reference[index, columns] = control
        if progress is not None:
            progress(index + 1, len(stimuli))
    return rows, reference
