"""Noise: typos and template paraphrases of text; pixel noise and pure-noise images."""

from __future__ import annotations

import torch
from hypothesis import strategies as st

from eifbench.stimuli import Example
from eifbench.strategies.names import nonce_words


def apply_typo(text: str, word_index: int, kind: str, protected: frozenset[str] = frozenset()) -> str:
    """Swap, drop or double a letter in the ``word_index``-th editable word of ``text``.

    Words in ``protected`` (entity names) and words under three letters are left alone, so
    the noised text states the same fact.
    """
    words = text.split(" ")
    editable = [i for i, w in enumerate(words) if len(w) >= 3 and w.strip(".,") not in protected]
    if not editable:
        return text
    i = editable[word_index % len(editable)]
    w = words[i]
    if kind == "swap":
        w = w[0] + w[2] + w[1] + w[3:]
    elif kind == "drop":
        w = w[:1] + w[2:]
    else:
        w = w[:2] + w[1] + w[2:]
    words[i] = w
    return " ".join(words)


def typos(text: str, *, protected: frozenset[str] = frozenset(), max_typos: int = 2) -> st.SearchStrategy[str]:
    """``text`` with 1..max_typos letter-level typos outside protected words."""

    @st.composite
    def build(draw: st.DrawFn) -> str:
        noisy = text
        for _ in range(draw(st.integers(1, max_typos))):
            kind = draw(st.sampled_from(("swap", "drop", "double")))
            noisy = apply_typo(noisy, draw(st.integers(0, 20)), kind, protected)
        return noisy

    # two swaps of the same letters cancel out: a "noised" copy must differ
    return build().filter(lambda noisy: noisy != text)


def noised_examples(
    example: Example, paraphrased: list[Example], *, protected: frozenset[str] = frozenset()
) -> st.SearchStrategy[Example]:
    """A noised copy of a fact: a typo in its prompt, or one of its paraphrases."""
    typo = typos(example.x, protected=protected).map(lambda prompt: Example(prompt, example.y))
    return st.one_of(typo, st.sampled_from(paraphrased)) if paraphrased else typo


def gibberish(*, words: int = 4) -> st.SearchStrategy[Example]:
    """Pure-noise text: nonce words with no relation, as ``Example(prompt, completion)``."""
    return st.lists(nonce_words(), min_size=words + 1, max_size=words + 1).map(
        lambda w: Example(" ".join(w[:-1]).capitalize(), f" {w[-1]}")
    )


def pixel_noise(image: torch.Tensor, *, sigma: float = 0.1) -> st.SearchStrategy[torch.Tensor]:
    """``image`` plus Gaussian pixel noise of std ``sigma``, clipped to [0, 1] (seeded draw)."""
    return st.integers(0, 2**31 - 1).map(
        lambda seed: (image + sigma * torch.randn(image.shape, generator=torch.Generator().manual_seed(seed))).clamp(
            0, 1
        )
    )


def noise_images(shape: tuple[int, ...], *, classes: int = 10) -> st.SearchStrategy[Example]:
    """Uniform-noise images with a random label: a stimulus with nothing real to learn."""
    return st.tuples(st.integers(0, 2**31 - 1), st.integers(0, classes - 1)).map(
        lambda pair: Example(torch.rand(shape, generator=torch.Generator().manual_seed(pair[0])), pair[1])
    )
