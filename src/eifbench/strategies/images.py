"""Hypothesis strategies for images: pixel noise and pure-noise images (falsification tests)."""

from __future__ import annotations

import torch
from hypothesis import strategies as st

from eifbench.bank.draws import Draws
from eifbench.stimuli import Example
from eifbench.tasks.images import NOISE_KINDS, noise_image, pixel_noise


def pixel_noised(
    image: torch.Tensor, *, sigmas: tuple[float, ...] = (0.05, 0.1, 0.15)
) -> st.SearchStrategy[torch.Tensor]:
    """``image`` plus Gaussian pixel noise of one of ``sigmas``, clipped to [0, 1]."""
    return st.tuples(st.sampled_from(sigmas), st.integers(0, 2**31 - 1)).map(
        lambda pair: pixel_noise(image, pair[0], Draws("hypothesis-pixel-noise", pair[1]))
    )


def noise_images(shape: tuple[int, ...], *, classes: int = 10) -> st.SearchStrategy[Example]:
    """Pure-noise images of several kinds with a random label."""
    return st.tuples(st.sampled_from(NOISE_KINDS), st.integers(0, 2**31 - 1), st.integers(0, classes - 1)).map(
        lambda t: Example(noise_image(t[0], shape, Draws("hypothesis-noise-image", t[1])), t[2])
    )
