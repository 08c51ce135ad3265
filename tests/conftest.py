"""Shared fixtures of the library's own tests. Nothing here reaches a model hub."""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import pytest  # noqa: E402
import torch  # noqa: E402

import eifbench  # noqa: E402


@pytest.fixture(scope="session")
def tiny_lm() -> eifbench.CausalLMAdapter:
    return eifbench.load_model("tiny-lm", "device=cpu")


@pytest.fixture(scope="session")
def tiny_cnn() -> eifbench.ClassifierAdapter:
    return eifbench.load_model("tiny-cnn", "device=cpu")


@pytest.fixture(scope="session")
def images() -> list[eifbench.Example]:
    generator = torch.Generator().manual_seed(1)
    x = torch.rand(12, 1, 28, 28, generator=generator)
    y = torch.randint(0, 10, (12,), generator=generator)
    return [eifbench.Example(x[i], int(y[i])) for i in range(12)]


FACTS = [
    eifbench.Text("A wug is a kind of blicket."),
    eifbench.Example("Zorbs live in", " deep caves."),
    eifbench.Text("All blickets have a tail."),
]
PROBES = [
    eifbench.Example("A wug is a kind of", " blicket."),
    eifbench.Example("Zorbs live in", " deep caves."),
    eifbench.Example("A wug has a", " tail."),
    eifbench.Example("The sky is", " blue."),
    eifbench.Example("Q", "uick brown fox jumps over the lazy dog."),
]
