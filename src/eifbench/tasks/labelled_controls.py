"""What the bank's and a user's labelled tasks share: pure-noise sentences and same-label controls.

Kept apart from both builders so neither imports the other (``tasks.labelled`` picks the
bank or a user's file; ``tasks.labelled_file`` builds from the file).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from eifbench.bank import LABELLED_BANK_VERSION
from eifbench.bank.draws import Draws
from eifbench.bank.items import gibberish
from eifbench.stimuli import Example


def labelled_draws(seed: int, purpose: str) -> Draws:
    """The labelled tasks' stream of draws for one purpose (a pure function of bank version and seed)."""
    return Draws("eifbench-bank", LABELLED_BANK_VERSION, seed, "labelled", purpose)


def noise_sentences(count: int, seed: int, labels: Sequence[object]) -> list[Example]:
    """Pure-noise sentences of nonce words, each with a label drawn from ``labels``."""
    draws = labelled_draws(seed, "gibberish-labels")
    return [
        Example(g.x + g.y, labels[draws.child(i).below(len(labels))])
        for i, g in enumerate(gibberish(count, seed, LABELLED_BANK_VERSION))
    ]


def same_label_partner(labels: list[object]) -> np.ndarray:
    """For each item, the next item of its label (cyclically), else the next item: its shuffled control."""
    partner = (np.arange(len(labels)) + 1) % len(labels)
    for label in dict.fromkeys(labels):
        members = np.flatnonzero([x == label for x in labels])
        if len(members) > 1:
            partner[members] = np.roll(members, -1)
    return partner
