"""A deterministic stream of random choices that no library version can change.

The stimulus bank must give the same stimuli for the same (bank version, seed) on every
machine and under every version of numpy, torch or hypothesis. So the stream is built
from SHAKE-256 of a key and a counter (a standard, frozen algorithm), and every derived
draw (an index, a sample, a Gaussian) is computed here with integer arithmetic or plain
formulas, never through a library's sampler.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from typing import TypeVar

import numpy as np

T = TypeVar("T")


class Draws:
    """Seeded draws keyed by a tuple of labels, e.g. ``Draws("bank-1", seed, "distance")``.

    Two streams with different keys are independent; the same key always gives the same
    sequence. ``child`` derives a sub-stream for one purpose, so adding draws to one part
    of the bank never shifts what another part draws.
    """

    def __init__(self, *key: object) -> None:
        self._key = "\x1f".join(str(part) for part in key).encode()
        self._counter = 0

    def child(self, *more: object) -> Draws:
        """An independent stream for a sub-purpose."""
        return Draws(self._key.decode(), *more)

    def _block(self, n_bytes: int) -> bytes:
        counter = self._counter.to_bytes(8, "little")
        self._counter += 1
        return hashlib.shake_256(self._key + b"\x1e" + counter).digest(n_bytes)

    def bits64(self) -> int:
        """A uniform integer in [0, 2**64)."""
        return int.from_bytes(self._block(8), "little")

    def below(self, n: int) -> int:
        """A uniform integer in [0, n), without modulo bias (rejection sampling)."""
        if n <= 0:
            raise ValueError(f"below({n}): n must be positive")
        limit = (1 << 64) - (1 << 64) % n
        while True:
            value = self.bits64()
            if value < limit:
                return value % n

    def choice(self, items: Sequence[T]) -> T:
        """One item, uniformly."""
        return items[self.below(len(items))]

    def sample(self, items: Sequence[T], k: int) -> list[T]:
        """``k`` distinct positions of ``items``, in draw order (a partial Fisher-Yates shuffle)."""
        if k > len(items):
            raise ValueError(f"sample: asked for {k} of {len(items)} items")
        pool = list(items)
        for i in range(k):
            j = i + self.below(len(pool) - i)
            pool[i], pool[j] = pool[j], pool[i]
        return pool[:k]

    def shuffled(self, items: Sequence[T]) -> list[T]:
        """All items in a uniformly random order."""
        return self.sample(items, len(items))

    def uniform_array(self, count: int) -> np.ndarray:
        """``count`` floats uniform in (0, 1), float64: 53 random bits each, never 0 or 1."""
        raw = np.frombuffer(self._block(8 * count), dtype="<u8")
        return ((raw >> np.uint64(11)).astype(np.float64) + 0.5) * 2.0**-53

    def normal_array(self, count: int) -> np.ndarray:
        """``count`` standard-normal floats (Box-Muller on ``uniform_array``), float64."""
        pairs = (count + 1) // 2
        u1, u2 = self.uniform_array(pairs), self.uniform_array(pairs)
        radius = np.sqrt(-2.0 * np.log(u1))
        values = np.concatenate([radius * np.cos(2 * math.pi * u2), radius * np.sin(2 * math.pi * u2)])
        return values[:count]
