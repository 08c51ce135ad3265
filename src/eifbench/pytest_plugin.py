"""The eifbench pytest plugin (skeleton; options and reports come with the suite)."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    """Register the markers."""
    for marker in ("slow: needs a real pretrained model", "gpu: needs CUDA", "lm: causal LM", "cnn: image classifier"):
        config.addinivalue_line("markers", marker)
