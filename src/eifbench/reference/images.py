"""Reference image learners whose right verdicts are known by construction.

- ``LocalImageLearner``: a kernel machine on random Fourier features of the pixels
  (an RBF kernel of bandwidth ``h``): training on an image moves images near it in pixel
  space and nothing far away. Pixel noise keeps an image near itself; noise images are
  far from every real one.
- ``GlobalImageLearner``: class biases only. Training on any image of a class moves every
  image of that class alike (and every other class a little): no locality at all.
- ``BrightnessLearner``: ``logits = a * mean(x) + b``. It sees one global scalar of the
  image, its mean brightness, and nothing of its shape: an image and any rearrangement of
  its pixels are the same input to it, and training on an image moves every image of the
  same brightness exactly alike, whatever it shows. It is a control and must pass none of
  distance, sparseness, noise invariance or transitivity: brightness is correlated with
  pixel distance (a noised copy keeps its original's mean), so a metric that credits
  it rewards one global feature instead of locality.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from eifbench.bank.draws import Draws

FEATURES = 4096
BANDWIDTH_SQUARED = (
    10.0  # h^2: pixel-noise copies (d^2 <= 12) stay close, a random same-class image (d^2 ~ 70) does not
)


class LocalImageLearner(nn.Module):
    """``logits = W phi(x)``, phi = random Fourier features of an RBF kernel; W starts at 0."""

    def __init__(self, input_shape: tuple[int, ...] = (1, 28, 28), classes: int = 10) -> None:
        super().__init__()
        pixels = int(np.prod(input_shape))
        draws = Draws("eifbench-reference", "local-image-learner", pixels)
        omega = draws.child("omega").normal_array(FEATURES * pixels).reshape(FEATURES, pixels) / math.sqrt(
            BANDWIDTH_SQUARED
        )
        phase = draws.child("phase").uniform_array(FEATURES) * 2 * math.pi
        self.omega: torch.Tensor
        self.phase: torch.Tensor
        self.register_buffer("omega", torch.from_numpy(omega.astype(np.float32)))
        self.register_buffer("phase", torch.from_numpy(phase.astype(np.float32)))
        self.weight = nn.Parameter(torch.zeros(classes, FEATURES))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits (b, classes) of images (b, *input_shape)."""
        features = math.sqrt(2.0 / FEATURES) * torch.cos(x.flatten(1) @ self.omega.T + self.phase)
        return features @ self.weight.T


class GlobalImageLearner(nn.Module):
    """``logits = b``: the input is ignored, only class frequencies are learned."""

    def __init__(self, classes: int = 10) -> None:
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits (b, classes), the same for every input."""
        return self.bias.expand(x.shape[0], -1) + 0.0 * x.flatten(1)[:, :1]


class BrightnessLearner(nn.Module):
    """``logits = a * mean(x) + b``: one global feature (mean brightness), learned a and b per class."""

    def __init__(self, classes: int = 10) -> None:
        """Build an untrained learner: a = b = 0, every class equally likely.

        Args:
            classes: how many classes it tells apart.

        """
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(classes))
        self.bias = nn.Parameter(torch.zeros(classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits (b, classes) of images (b, ...): the same for any two images of one mean."""
        brightness = x.flatten(1).mean(dim=1, keepdim=True)
        return brightness * self.weight + self.bias
