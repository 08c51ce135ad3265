"""Hypothesis strategies for falsification tests (``@given``): facts, chains, typos, noise.

Only falsification uses them; the estimation run draws its stimuli from the versioned
bank (``eifbench.bank``), which no hypothesis version can change.
"""

from eifbench.strategies.images import noise_images, pixel_noised
from eifbench.strategies.language import (
    chain_items,
    distinct_nonce_words,
    entailment_items,
    exclusive_items,
    facts,
    noised_texts,
    nonce_words,
)

__all__ = [
    "nonce_words",
    "distinct_nonce_words",
    "facts",
    "noised_texts",
    "exclusive_items",
    "chain_items",
    "entailment_items",
    "pixel_noised",
    "noise_images",
]
