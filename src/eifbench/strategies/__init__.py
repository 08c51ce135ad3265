"""Hypothesis strategies for stimuli: nonce entities, fact chains, negations, noise, images."""

from eifbench.strategies.facts import (
    FactChain,
    IsaFact,
    fact_chains,
    isa_facts,
)
from eifbench.strategies.names import distinct_nonce_words, nonce_words
from eifbench.strategies.noise import gibberish, noise_images, noised_examples, pixel_noise, typos
from eifbench.strategies.sampling import draw_batch

__all__ = [
    "FactChain",
    "IsaFact",
    "fact_chains",
    "isa_facts",
    "nonce_words",
    "distinct_nonce_words",
    "typos",
    "noised_examples",
    "gibberish",
    "pixel_noise",
    "noise_images",
    "draw_batch",
]
