"""The in-context engine: put the stimulus in the prompt instead of the weights.

``EIF_ctx(s -> p) = f(p | s in context) - f(p | neutral context)``: the control is not an
empty prompt but a neutral passage of exactly the same token length, because any text in
front of a probe moves it (a longer prompt, a new topic, the probe's absolute position),
and that movement says nothing about what the stimulus states. No weights change, so nothing needs restoring.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

import numpy as np
import torch

from eifbench.adapters.base import LanguageModelAdapter, ModelAdapter, prepare_readout
from eifbench.adapters.tokens import CONTEXT_SEPARATOR
from eifbench.bank.lexicon import NEUTRAL_PASSAGE
from eifbench.errors import InputError
from eifbench.progress import Progress
from eifbench.stimuli import Example, Stimulus, links_of

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


def neutral_columns(lengths: Sequence[int], reads: np.ndarray | None, n_probes: int) -> dict[int, np.ndarray]:
    """Per context length, the probes any stimulus of that length reads in the whole run; -> {length: (k,)}."""
    union: dict[int, np.ndarray] = {}
    for index, length in enumerate(lengths):
        row = np.ones(n_probes, dtype=bool) if reads is None else reads[index]
        if row.any():
            union[length] = union.get(length, np.zeros(n_probes, dtype=bool)) | row
    return {length: np.flatnonzero(row) for length, row in union.items()}


def run_in_context(
    adapter: ModelAdapter,
    stimuli: Sequence[Stimulus],
    probes: Sequence[Example],
    reads: np.ndarray | None,
    computed: np.ndarray | None,
    *,
    progress: Progress | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """In-context EIF rows and the neutral read-outs they are measured against.

    f(p | neutral) depends on the stimulus only through its token length, so it is read
    once per length, on every probe a stimulus of that length reads in the whole run
    (``reads``), in one batch: 36 facts of five lengths read their neutral passages 590
    times instead of 1,656. The batch is planned over the whole run even where only some
    rows are computed (``computed``: a share of a run split across Ray workers), so a
    split run gives the serial run's numbers bit for bit.

    Args:
        adapter: a language-model adapter.
        stimuli: the run's n_s stimuli.
        probes: the run's n_p probes.
        reads: (n_s, n_p) bool, the cells the whole run reads; None for every cell.
        computed: (n_s, n_p) bool, the cells to compute here (a subset of ``reads``); None for every cell.
        progress: called as ``progress(done, total)`` after each stimulus.

    Returns:
        ``(matrix, reference)``, both (n_stimuli, n_probes) on the device: ``reference`` is
        f(p | neutral context); cells not computed are NaN in both.

    """
    if not hasattr(adapter, "count_tokens"):
        raise InputError(
            f"engine='in-context' puts the stimulus in the prompt, so it needs a language model; "
            f"{adapter.name} is a {adapter.kind}. Use engine='exact' or 'first-order'."
        )
    if computed is not None and reads is not None and (computed & ~reads).any():
        raise ValueError("run_in_context: computed cells must be cells the run reads (a subset of reads)")
    reader = cast(LanguageModelAdapter, adapter)  # the hasattr check above: this adapter counts tokens
    # a float64 model's read-outs stay float64 (float32 otherwise: MPS has no float64)
    wide = any(p.dtype == torch.float64 for p in adapter.module.parameters())
    dtype = torch.float64 if wide else torch.float32
    rows = torch.full((len(stimuli), len(probes)), float("nan"), dtype=dtype, device=adapter.device)
    reference = torch.full_like(rows, float("nan"))
    contexts = [context_of(adapter, stimulus) for stimulus in stimuli]
    lengths = [reader.count_tokens(context) for context in contexts]
    union = neutral_columns(lengths, reads, len(probes))
    neutral_reads: dict[int, torch.Tensor] = {}  # length -> f(p | neutral) of every probe (NaN where unread)
    for index, context in enumerate(contexts):
        columns = np.arange(len(probes)) if computed is None else np.flatnonzero(computed[index])
        if columns.size:
            length = lengths[index]
            if length not in neutral_reads:
                shared = union[length]
                read = adapter.readout(
                    prepare_readout(adapter, [probes[int(j)] for j in shared], neutral_context(reader, length))
                )
                neutral_reads[length] = torch.full((len(probes),), float("nan"), dtype=dtype, device=adapter.device)
                neutral_reads[length][torch.as_tensor(shared, device=adapter.device)] = read.to(dtype)
            at = torch.as_tensor(columns, device=adapter.device)
            control = neutral_reads[length][at]
            with_context = adapter.readout(prepare_readout(adapter, [probes[int(j)] for j in columns], context))
            rows[index, at] = with_context.to(dtype) - control
            reference[index, at] = control
        if progress is not None:
            progress(index + 1, len(stimuli))
    return rows, reference
